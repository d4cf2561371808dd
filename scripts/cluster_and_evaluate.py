"""Latents of a group of models (every seed) -> k-means fitted on training tumors -> held-out evaluation tables."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import pandas as pd

    from oncoae.atomic import write_table
    from oncoae.evaluation.evaluate import ClusteringSettings, EvaluationSettings, cluster_latents, evaluate_model

    params = snakemake.params
    clustering = ClusteringSettings.from_config(params.clustering)
    evaluation = EvaluationSettings.from_config({"evaluation": params.evaluation, "clinical": params.clinical})
    paths = iter(snakemake.input.latents)
    tables = {
        name: []
        for name in ("clusters", "k_selection", "centroids", "metrics", "contributions", "leiden", "enrichment")
    }
    for model in params.models:
        # Baselines are deterministic: one latent file serves every seed (the seed then varies k-means only).
        latents = {int(seed): ad.read_h5ad(next(paths)) for seed in params.seeds}
        clusters = cluster_latents(model, latents, clustering)
        evaluated = evaluate_model(model, latents, clusters, evaluation)
        tables["clusters"].append(clusters.assignments.assign(model=model))
        tables["k_selection"].append(clusters.k_curves.assign(model=model))
        tables["centroids"].append(clusters.centroids)
        tables["metrics"].append(evaluated.metrics)
        tables["contributions"].append(evaluated.contributions)
        tables["leiden"].append(evaluated.leiden)
        tables["enrichment"].append(evaluated.enrichment)
        log.info("%s: clustered and scored %d seeds", model, len(latents))
    for name, frames in tables.items():
        write_table(pd.concat(frames, ignore_index=True), snakemake.output[name])
