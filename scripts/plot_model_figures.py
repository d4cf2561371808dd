"""Latents, clusters, k curves, contributions and training histories of a group of models -> PNGs: UMAPs,
Kaplan-Meier curves, contingency heatmaps, the silhouette-by-k curve, modality contributions, training curves."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from pathlib import Path

    from oncoae.report.figures import group_figures

    params, inputs = snakemake.params, snakemake.input
    group_figures(
        snakemake.wildcards.group,
        dict(zip(params.models, inputs.latents, strict=True)),
        inputs.clusters,
        inputs.k_selection,
        inputs.contributions,
        params.histories,
        params.seeds,
        params.labels,
        params.survival,
        params.umap_seed,
        Path(snakemake.output[0]),
    )
