"""Tumor-type tables and latents -> a held-out confusion matrix per model (and method) and a UMAP of held-out
tumors coloured by type per model (first seed)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    from pathlib import Path

    import anndata as ad
    import pandas as pd

    from oncoae.report.tumor_type_figures import METHOD_TITLES, confusion_figure, type_umap_figure

    params = snakemake.params
    confusion = pd.read_csv(snakemake.input.confusion, sep="\t", keep_default_na=False)
    seed = int(params.seeds[0])
    for name, path in zip(params.confusion_names, snakemake.output.confusion, strict=True):
        model, method = params.confusion_plan[name]
        rows = confusion[(confusion["model"] == model) & (confusion["seed"] == seed) & (confusion["method"] == method)]
        confusion_figure(rows, f"{model}, seed {seed}: {METHOD_TITLES[method]}", Path(path))
    for model, latent, path in zip(params.models, snakemake.input.latents, snakemake.output.umap, strict=True):
        type_umap_figure(ad.read_h5ad(latent), params.label, model, Path(path), seed=params.umap_seed)
        log.info("%s: UMAP of held-out tumors by %s", model, params.label)
