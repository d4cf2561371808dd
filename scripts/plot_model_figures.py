"""Latents, clusters, k curves, contributions and training histories of a group of models -> PNGs: UMAPs,
Kaplan-Meier curves, contingency heatmaps, the silhouette-by-k curve, modality contributions, training curves."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    from pathlib import Path

    import anndata as ad
    import pandas as pd

    from oncoae.report.figures import (
        contingency_figure,
        contribution_figure,
        k_curve_figure,
        kaplan_meier_figure,
        training_curves_figure,
        umap_figure,
    )

    params = snakemake.params
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    survival = params.survival
    all_assignments = pd.read_csv(snakemake.input.clusters, sep="\t", dtype={"sample": str})
    for model, latent_path in zip(params.models, snakemake.input.latents, strict=True):
        adata = ad.read_h5ad(latent_path)
        assignments = all_assignments[all_assignments["model"] == model]
        first_seed = assignments["seed"].min()
        clusters = assignments[assignments["seed"] == first_seed].set_index("sample")["cluster"]
        n_held_out = int((adata.obs["split"] == "test").sum())
        if n_held_out < 5:
            # e.g. a protein-only model when held-out tumors have no protein data: nothing to draw.
            log.warning(
                "%s: only %d held-out tumors have its modalities; no UMAP or Kaplan-Meier figure", model, n_held_out
            )
            continue
        umap_figure(adata, clusters, params.labels, model, out / f"umap_{model}.png", seed=params.umap_seed)
        held_out_clusters = clusters.reindex(adata.obs_names[adata.obs["split"] == "test"])
        for label in params.labels:
            contingency_figure(
                held_out_clusters,
                adata.obs[label],
                f"{model}: held-out clusters x {label}",
                out / f"contingency_{model}_{label}.png",
            )
        if survival:
            kaplan_meier_figure(
                adata.obs,
                clusters,
                survival["time"],
                survival["event"],
                f"{model}: held-out tumors by cluster",
                out / f"km_{model}.png",
            )
        log.info("figures for %s", model)
    for model, paths in params.histories.items():
        histories = {seed: pd.read_csv(path, sep="\t") for seed, path in zip(params.seeds, paths, strict=True)}
        training_curves_figure(histories, f"{model}: training curves", out / f"training_{model}.png")
    k_selection = pd.read_csv(snakemake.input.k_selection, sep="\t")
    if not k_selection.empty:
        k_curve_figure(k_selection, f"{snakemake.wildcards.group}: choice of k", out / "kcurve.png")
    contributions = pd.read_csv(snakemake.input.contributions, sep="\t")
    for (metric, label), _rows in contributions.groupby(["metric", "label"]):
        contribution_figure(contributions, metric, label, out / f"contribution_{metric}_{label}.png")
