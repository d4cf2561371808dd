"""Raw modality -> normalizer fitted on training tumors -> normalized AnnData of every tumor (+ the normalizer)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    import anndata as ad

    from oncoae.atomic import atomic_path, write_h5ad
    from oncoae.data.modality import read_clinical
    from oncoae.data.normalize import ModalityNormalizer, NormalizationSettings
    from oncoae.data.split import read_split

    modality = snakemake.wildcards.modality
    # AnnData all the way (sparse mutation matrices stay sparse); views, not copies, of the raw matrix.
    raw = ad.read_h5ad(snakemake.input.raw)
    split = read_split(snakemake.input.split)
    raw = raw[raw.obs_names.isin(split.index)]
    train = raw[split.reindex(raw.obs_names).to_numpy() == "train"]
    normalizer = ModalityNormalizer(NormalizationSettings(**snakemake.params.normalization), modality)
    normalizer.fit(train)
    del train
    obs = read_clinical(snakemake.input.clinical).join(split)
    adata = normalizer.transform_anndata(raw, obs)
    adata.uns["filtering"] = normalizer.filtering_summary(n_features_in=raw.n_vars)
    write_h5ad(adata, snakemake.output.adata)
    with atomic_path(snakemake.output.normalizer) as path:
        normalizer.save(path)
