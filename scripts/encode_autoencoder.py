"""Trained autoencoder (each seed) + fitted normalizers + raw modalities -> latents of every tumor."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import pandas as pd
    import torch

    from oncoae.atomic import write_h5ad
    from oncoae.data.modality import read_clinical
    from oncoae.encoding import HeldOutEncoder

    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    split = pd.read_csv(snakemake.input.split, sep="\t", dtype={"sample": str}).set_index("sample")["split"]
    clinical = read_clinical(snakemake.input.clinical).join(split)
    # Raw modalities opened backed: each is read (its split's tumors only) when its normalizer's turn comes, and
    # the normalization is done once for the models of every seed.
    raw = {}
    for name, path in zip(params.modalities, snakemake.input.raw, strict=True):
        backed = ad.read_h5ad(path, backed="r")
        raw[name] = backed[backed.obs_names.isin(split.index)]
    normalizers = dict(zip(params.modalities, snakemake.input.normalizers, strict=True))
    normalized = None
    for seed, model_path, out_path in zip(params.seeds, snakemake.input.models, snakemake.output, strict=True):
        encoder = HeldOutEncoder.from_files(model_path, normalizers)
        if normalized is None:
            normalized = encoder.normalize(raw)
        adata = encoder.encode_to_anndata(
            None, clinical, uns={"model": snakemake.wildcards.autoencoder, "seed": int(seed)}, normalized=normalized
        )
        log.info(
            "seed %s: encoded %d tumors (%d held-out) into %d dimensions",
            seed,
            adata.n_obs,
            int((adata.obs["split"] == "test").sum()),
            adata.obsm["X_latent"].shape[1],
        )
        write_h5ad(adata, out_path)
