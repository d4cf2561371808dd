"""Latents of a group of models (every seed) -> k-means fitted on training tumors -> held-out metrics."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import pandas as pd

    from oncoae.atomic import write_table
    from oncoae.evaluation.assess import ClusteringSettings, cluster_latents, evaluate_model

    params = snakemake.params
    survival = params.survival
    settings = ClusteringSettings.from_config(params.clustering)
    paths = iter(snakemake.input.latents)
    assignments, k_curves, metrics = [], [], []
    for model in params.models:
        # Baselines are deterministic: one latent file serves every seed (the seed then varies k-means only).
        latents = {int(seed): ad.read_h5ad(next(paths)) for seed in params.seeds}
        model_assignments, model_k_curves = cluster_latents(latents, settings)
        metrics.append(
            evaluate_model(
                model,
                latents,
                model_assignments,
                params.labels,
                (survival["time"], survival["event"]) if survival else None,
                cox_penalizer=params.cox_penalizer,
            )
        )
        assignments.append(model_assignments.assign(model=model))
        k_curves.append(model_k_curves.assign(model=model))
        log.info("%s: clustered and scored %d seeds", model, len(latents))
    write_table(pd.concat(assignments, ignore_index=True), snakemake.output.clusters)
    write_table(pd.concat(k_curves, ignore_index=True), snakemake.output.k_selection)
    write_table(pd.concat(metrics, ignore_index=True), snakemake.output.metrics)
