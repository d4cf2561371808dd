"""Latents + k-means clusters + clinical table -> annotated/<model>/seed<k>.h5ad (cluster, split, clinical in obs)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    from oncoae.export import annotate_run

    annotate_run(
        snakemake.params.pairs,
        snakemake.input.latents,
        snakemake.input.clusters,
        snakemake.input.centroids,
        snakemake.input.clinical,
        snakemake.output,
    )
    log.info("annotated %d latents with their k-means clusters", len(snakemake.output))
