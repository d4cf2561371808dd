"""Raw modality -> normalizer fitted on training tumors -> normalized AnnData of every tumor (+ the normalizer)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    import anndata as ad
    import pandas as pd

    from oncoae.atomic import atomic_path, write_h5ad
    from oncoae.data.modality import anndata_to_table, read_clinical, table_to_anndata
    from oncoae.data.normalize import ModalityNormalizer, NormalizationSettings

    modality = snakemake.wildcards.modality
    raw = anndata_to_table(ad.read_h5ad(snakemake.input.raw))
    split = pd.read_csv(snakemake.input.split, sep="\t", dtype={"sample": str}).set_index("sample")["split"]
    raw = raw.loc[raw.index.isin(split.index)]
    train = raw.loc[split.reindex(raw.index).to_numpy() == "train"]
    normalizer = ModalityNormalizer(NormalizationSettings(**snakemake.params.normalization), modality)
    normalizer.fit(train)
    obs = read_clinical(snakemake.input.clinical).join(split)
    adata = table_to_anndata(normalizer.transform(raw), obs)
    adata.uns["filtering"] = normalizer.filtering_summary(n_features_in=raw.shape[1])
    write_h5ad(adata, snakemake.output.adata)
    with atomic_path(snakemake.output.normalizer) as path:
        normalizer.save(path)
