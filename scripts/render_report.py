"""Summary, evaluation tables, figures and provenance -> one self-contained HTML report."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from pathlib import Path

    import pandas as pd

    from oncoae.atomic import atomic_path
    from oncoae.provenance import data_overview, file_checksums, package_versions, rule_run_times, workflow_commit
    from oncoae.report.html import Figure, ReportContent, Table, best_models, render_report
    from oncoae.report.tables import (
        characterization_table,
        contribution_table,
        enrichment_table,
        largest_contributors,
        leiden_table,
        per_seed_values,
        survival_table,
    )
    from oncoae.tuning.report import tuning_headline, tuning_items

    params = snakemake.params
    inputs = snakemake.input
    figure_dirs = [Path(d) for d in inputs.figures]
    summary = pd.read_csv(inputs.summary, sep="\t")

    def read_all(paths) -> pd.DataFrame:
        frames = [pd.read_csv(path, sep="\t") for path in paths]
        frames = [frame for frame in frames if not frame.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    contributions, leiden = read_all(inputs.contributions), read_all(inputs.leiden)
    enrichment, characterization = read_all(inputs.enrichment), read_all(inputs.characterization)

    def pictures(prefix: str, caption: str) -> list[Figure]:
        paths = sorted(p for d in figure_dirs for p in d.glob(f"{prefix}*.png"))
        return [
            Figure(p.stem.removeprefix(prefix), p, caption.format(model=p.stem.removeprefix(prefix))) for p in paths
        ]

    label = params.labels[0] if params.labels else None
    survival = params.survival
    time_label = survival["time"] if survival else None
    headlines = []
    sections: dict[str, list] = {
        "Model comparison": pictures("ari_", "held-out ARI vs {model}, mean ± sd over seeds")
        + pictures("c_index_", "held-out Cox C-index ({model}), mean ± sd over seeds"),
        "Models and training curves": pictures(
            "training_", "{model}: train (solid) and val (dashed) loss per epoch, every seed"
        ),
        "Hyperparameter search": [],
        "Latent UMAPs": pictures("umap_", "{model}: UMAP of held-out latents (first seed)"),
        "Clusters": pictures("kcurve", "silhouette of k-means on training latents by k (circle: the k used)")
        + pictures("contingency_", "{model}: held-out tumors per cluster and label (first seed)"),
        "Survival": [],
        "Modality contributions": [],
        "Characterization": [],
    }
    if label:
        sections["Model comparison"].insert(
            0, Table(f"ARI vs {label}, every seed", per_seed_values(summary, "ari", label), "held-out tumors")
        )
    if not leiden.empty:
        sections["Clusters"].append(
            Table(
                "Leiden resolution sweep",
                leiden_table(leiden),
                "Leiden on the held-out tumors' scanpy neighbour graph (15 neighbours), means over seeds.",
            )
        )
    if not enrichment.empty:
        sections["Clusters"].append(
            Table(
                "Clinical enrichment across held-out clusters",
                enrichment_table(enrichment),
                f"chi-square (categorical) or Kruskal-Wallis (numeric), Benjamini-Hochberg over columns; "
                f"enriched at adjusted p < {params.alpha}.",
            )
        )
    if time_label:
        sections["Survival"].append(
            Table(
                "Survival across clusters and from latents",
                survival_table(summary, time_label),
                "Log-rank across held-out clusters: asymptotic chi-square and by label permutation (escalating "
                "while p is small). C-index of a ridge Cox model fitted on training latents, scored on held-out "
                "tumors, with a percentile bootstrap interval over held-out tumors.",
            )
        )
        sections["Survival"] += pictures("km_", "{model}: Kaplan-Meier per cluster, held-out tumors (first seed)")
    if not contributions.empty:
        sections["Modality contributions"].append(
            Table(
                "Drop of each metric without the modality",
                contribution_table(contributions),
                "Held-out tumors that have the modality and another one, re-encoded with the modality masked "
                "through the presence mask (not zeros); the same train-fitted centroids and Cox model score both.",
            )
        )
        sections["Modality contributions"] += pictures("contribution_", "mean ± sd over seeds")
        for model, modality in largest_contributors(contributions).items():
            headlines.append(f"{model}: the largest contributor to held-out subtype agreement is {modality}.")
    for model, files in params.tuning.items():
        sections["Hyperparameter search"] += tuning_items(model, files, params.seeds)
        headlines.append(tuning_headline(model, files))
    findings = dict(best_models(summary, label, time_label))
    if not characterization.empty:
        best = findings.get("subtypes", "").split(":")[0] or characterization["model"].iloc[0]
        sections["Characterization"].append(
            Table(
                f"Top features per cluster: {best}",
                characterization_table(characterization, best),
                "Wilcoxon rank-sum of each cluster vs the rest on normalized held-out inputs (scanpy "
                "rank_genes_groups), top 5 by score; in brackets the mean difference in training-sd units "
                "(n.s.: adjusted p ≥ 0.05). Every model's table: characterization/<group>.tsv.",
            )
        )
    content = ReportContent(
        dataset=params.dataset,
        summary=summary,
        sections={name: items for name, items in sections.items() if items},
        headlines=headlines,
        data_overview=data_overview(
            dict(zip(params.modalities, inputs.modalities, strict=True)),
            inputs.split,
            dict(zip(params.modalities, inputs.normalized, strict=True)),
        ),
        config_text=params.config_text,
        versions={**package_versions(), "oncoae workflow commit": workflow_commit(params.workflow_dir)},
        checksums=file_checksums(params.input_files),
        rule_times=rule_run_times(params.benchmark_dir),
        notes=params.notes,
    )
    document = render_report(content, label, time_label)
    with atomic_path(snakemake.output[0]) as path:
        path.write_text(document, encoding="utf-8")
