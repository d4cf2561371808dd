"""Normalized modalities -> PCA or kernel PCA fitted on training tumors -> latents of every tumor (+ the model)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.atomic import write_h5ad
    from oncoae.baselines import BaselineSettings, fit_baseline

    params = snakemake.params
    adata, extractor = fit_baseline(
        snakemake.wildcards.baseline,
        params.family,
        BaselineSettings(**params.settings),
        dict(zip(params.modalities, snakemake.input.adatas, strict=True)),
    )
    write_h5ad(adata, snakemake.output.latent)
    extractor.save(snakemake.output.model)  # applied to new tumors by `python -m oncoae encode`
