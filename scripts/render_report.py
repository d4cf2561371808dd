"""Summary, evaluation tables, figures and provenance -> one self-contained HTML report."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from pathlib import Path

    import pandas as pd

    from oncoae.atomic import atomic_path
    from oncoae.evaluation.ranking import choose_models
    from oncoae.provenance import data_overview, file_checksums, package_versions, rule_run_times, workflow_commit
    from oncoae.report.attributions import attribution_items
    from oncoae.report.data_notes import data_items
    from oncoae.report.format import metric_info, seeds_phrase
    from oncoae.report.html import Figure, ReportContent, Table, render_report
    from oncoae.report.tables import (
        characterization_table,
        contribution_table,
        enrichment_table,
        largest_contributors,
        leiden_table,
        per_seed_values,
        survival_table,
    )
    from oncoae.report.tumor_types import tumor_type_items
    from oncoae.report.tuning import tuning_headline, tuning_items

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
        """Every figure named ``prefix*.png``; ``caption`` may name the rest of the file name as {name}."""
        paths = sorted(p for d in figure_dirs for p in d.glob(f"{prefix}*.png"))
        return [Figure(p.stem.removeprefix(prefix), p, caption.format(name=p.stem.removeprefix(prefix))) for p in paths]

    label = params.labels[0] if params.labels else None
    survival = params.survival
    time_label = survival["time"] if survival else None
    seeds = list(params.seeds)
    over_seeds = seeds_phrase(len(seeds))
    # Figures of one run of each model (UMAPs, Kaplan-Meier, contingency) show the first seed's.
    one_seed = f"seed {min(seeds)}" + (f", the first of {len(seeds)}" if len(seeds) > 1 else "")
    headlines = []
    sections: dict[str, list] = {
        "Model comparison": pictures("ari_", "ARI of held-out clusters vs {name}, " + over_seeds + ".")
        + pictures(
            "c_index_",
            "C-index of a Cox model fitted on training latents, held-out tumors (survival: {name}), "
            + over_seeds
            + ".",
        ),
        "Tumor types (held-out)": (
            tumor_type_items(
                params.tumor_type,
                params.tumor_type_tables,
                params.tumor_type_confusion,
                params.tumor_type_figures,
                params.tumor_type_models,
                seeds,
            )
            if params.tumor_type
            else []
        ),
        "Models and training curves": pictures(
            "training_",
            "{name}: loss per epoch on training (left) and validation (right) tumors, "
            + ("one colour and line style per seed." if len(seeds) > 1 else f"seed {seeds[0]}."),
        ),
        "Hyperparameter search": [],
        "Latent UMAPs": pictures(
            "umap_", "{name}: UMAP of held-out latents (" + one_seed + "), by known label and by k-means cluster."
        ),
        "Clusters": pictures(
            "kcurve",
            "Silhouette of k-means on training latents by k"
            + (f" (mean over {len(seeds)} seeds)" if len(seeds) > 1 else "")
            + "; circle: the k used.",
        )
        + [
            Figure(figure.title, figure.path, f"{model}: held-out tumors per k-means cluster and {known} ({one_seed}).")
            for figure in pictures("contingency_", "")
            for known in [next((k for k in params.labels if figure.title.endswith(f"_{k}")), "known label")]
            for model in [figure.title.removesuffix(f"_{known}")]
        ],
        "Survival": [],
        "Modality contributions": [],
        "Characterization": [],
        "Which features drive the latent": attribution_items(
            params.attributed, params.attribution_dir, seeds, params.attribution_method
        ),
    }
    if label and len(seeds) > 1:
        sections["Model comparison"].insert(
            0,
            Table(
                f"ARI vs {label}, every seed",
                per_seed_values(summary, "ari", label),
                "Held-out tumors, one column per seed.",
            ),
        )
    if not leiden.empty:
        sections["Clusters"].append(
            Table(
                "Leiden resolution sweep",
                leiden_table(leiden),
                "Leiden on the held-out tumors' scanpy neighbour graph (15 neighbours)"
                + (f", means over {len(seeds)} seeds." if len(seeds) > 1 else ", one seed."),
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
        sections["Survival"] += pictures(
            "km_",
            "{name}: Kaplan-Meier curves of held-out tumors per k-means cluster (" + one_seed + "). Legend n: the "
            "cluster's held-out tumors; those without survival data are left out of the curves and the numbers at "
            "risk, which also start without those at time 0.",
        )
    if not contributions.empty:
        sections["Modality contributions"].append(
            Table(
                "Drop of each metric without the modality",
                contribution_table(contributions),
                "Held-out tumors that have the modality and another one, re-encoded with the modality masked "
                "through the presence mask (not zeros); the same train-fitted centroids and Cox model score both.",
            )
        )
        for figure in pictures("contribution_", ""):
            metric = next((m for m in contributions["metric"].unique() if figure.title.startswith(f"{m}_")), "")
            what = (
                f"{metric_info(metric).header}, {figure.title.removeprefix(f'{metric}_')}" if metric else figure.title
            )
            figure.caption = (
                f"Drop of the held-out {what} when each modality is masked, per multi-modal model, {over_seeds}."
            )
            sections["Modality contributions"].append(figure)
        for model, modality in largest_contributors(contributions).items():
            headlines.append(f"{model}: the largest contributor to held-out subtype agreement is {modality}.")
    for model, files in params.tuning.items():
        sections["Hyperparameter search"] += tuning_items(model, files, params.seeds)
        headlines.append(tuning_headline(model, files))
    if not characterization.empty:
        chosen = [
            c.chosen for c in choose_models(summary, {"subtypes": label}) if c.chosen in set(characterization["model"])
        ]
        best = chosen[0] if chosen else characterization["model"].iloc[0]
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
        data_items=data_items(
            inputs.survival_excluded or None, dict(zip(params.modalities, inputs.ingest, strict=False))
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
