"""Trained autoencoder (each seed) + fitted normalizers + raw modalities -> latents of every tumor."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    import torch

    from oncoae.atomic import write_h5ad
    from oncoae.data.modality import read_clinical
    from oncoae.data.split import read_split
    from oncoae.encoding import encode_seeds

    torch.set_num_threads(snakemake.threads)
    params, inputs = snakemake.params, snakemake.input
    split = read_split(inputs.split)
    latents = encode_seeds(
        snakemake.wildcards.autoencoder,
        params.seeds,
        inputs.models,
        dict(zip(params.modalities, inputs.normalizers, strict=True)),
        dict(zip(params.modalities, inputs.raw, strict=True)),
        read_clinical(inputs.clinical).join(split),
        split.index,
    )
    for adata, path in zip(latents, snakemake.output, strict=True):
        write_h5ad(adata, path)
