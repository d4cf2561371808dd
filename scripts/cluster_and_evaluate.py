"""Latents of one model (every seed) -> k-means fitted on training tumors -> held-out metrics (tidy TSV)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    import anndata as ad

    from oncoae.atomic import write_table
    from oncoae.evaluation.assess import ClusteringSettings, cluster_latents, evaluate_model

    params = snakemake.params
    # Baselines are deterministic: one latent file serves every seed (the seed then varies k-means only).
    latents = {int(seed): ad.read_h5ad(path) for seed, path in zip(params.seeds, snakemake.input.latents, strict=True)}
    assignments, k_curves = cluster_latents(latents, ClusteringSettings.from_config(params.clustering))
    survival = params.survival
    metrics = evaluate_model(
        snakemake.wildcards.model,
        latents,
        assignments,
        params.labels,
        (survival["time"], survival["event"]) if survival else None,
        cox_penalizer=params.cox_penalizer,
    )
    write_table(assignments, snakemake.output.clusters)
    write_table(k_curves, snakemake.output.k_selection)
    write_table(metrics, snakemake.output.metrics)
