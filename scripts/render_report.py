"""Summary + figures + provenance -> one self-contained HTML report."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from pathlib import Path

    import pandas as pd

    from oncoae.atomic import atomic_path
    from oncoae.provenance import data_overview, file_checksums, package_versions, rule_run_times, workflow_commit
    from oncoae.report.html import Figure, ReportContent, render_report

    params = snakemake.params
    figure_dirs = [Path(d) for d in snakemake.input.figures]
    summary = pd.read_csv(snakemake.input.summary, sep="\t")

    def pictures(prefix: str, caption: str) -> list[Figure]:
        paths = sorted(p for d in figure_dirs for p in d.glob(f"{prefix}*.png"))
        return [
            Figure(p.stem.removeprefix(prefix), p, caption.format(model=p.stem.removeprefix(prefix))) for p in paths
        ]

    sections = {
        "Model comparison": pictures("ari_", "held-out ARI vs {model}, mean ± sd over seeds")
        + pictures("c_index_", "held-out Cox C-index ({model}), mean ± sd over seeds"),
        "Training curves": pictures("training_", "{model}: train (solid) and val (dashed) loss per epoch"),
        "Latent UMAPs": pictures("umap_", "{model}: UMAP of held-out latents (first seed)"),
        "Survival": pictures("km_", "{model}: Kaplan-Meier per cluster, held-out tumors (first seed)"),
    }
    content = ReportContent(
        dataset=params.dataset,
        summary=summary,
        sections={name: figs for name, figs in sections.items() if figs},
        data_overview=data_overview(
            dict(zip(params.modalities, snakemake.input.modalities, strict=True)),
            snakemake.input.split,
            dict(zip(params.modalities, snakemake.input.normalized, strict=True)),
        ),
        config_text=params.config_text,
        versions={**package_versions(), "oncoae workflow commit": workflow_commit(params.workflow_dir)},
        checksums=file_checksums(params.input_files),
        rule_times=rule_run_times(params.benchmark_dir),
        notes=params.notes,
    )
    survival = params.survival
    document = render_report(
        content, params.labels[0] if params.labels else None, survival["time"] if survival else None
    )
    with atomic_path(snakemake.output[0]) as path:
        path.write_text(document, encoding="utf-8")
