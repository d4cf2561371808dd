"""Normalized modalities -> PCA or kernel PCA fitted on training tumors -> latents of every tumor (+ the model)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import pandas as pd

    from oncoae.atomic import write_h5ad
    from oncoae.baselines import BaselineExtractor, BaselineSettings
    from oncoae.data.modality import assemble_modalities, latent_anndata, samples_in_split

    params = snakemake.params
    adatas = {name: ad.read_h5ad(path) for name, path in zip(params.modalities, snakemake.input.adatas, strict=True)}
    train = assemble_modalities(adatas, samples_in_split(adatas, "train"))
    everyone = assemble_modalities(adatas, sorted({s for a in adatas.values() for s in a.obs_names}))
    modality_names = list(adatas)
    obs = pd.concat([a.obs for a in adatas.values()])
    obs = obs[~obs.index.duplicated()]
    del adatas  # the assembled matrices hold what is needed
    extractor = BaselineExtractor(params.family, BaselineSettings(**params.settings)).fit(train)
    del train
    latent = extractor.transform(everyone)
    adata = latent_anndata(
        everyone.samples,
        latent,
        obs,
        everyone.presence,
        modality_names,
        uns={"model": snakemake.wildcards.baseline, "n_fit_samples": extractor.n_fit_samples_},
    )
    log.info("%s fitted on %d training tumors; %d components", params.family, extractor.n_fit_samples_, latent.shape[1])
    write_h5ad(adata, snakemake.output.latent)
    extractor.save(snakemake.output.model)  # applied to new tumors by `python -m oncoae encode`
