"""Normalized modalities + clusters of a group of models -> top features per cluster, modality and model (TSV)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    import anndata as ad
    import pandas as pd

    from oncoae.atomic import write_table
    from oncoae.evaluation.characterize import characterize_group

    params = snakemake.params
    table = characterize_group(
        pd.read_csv(snakemake.input.clusters, sep="\t", dtype={"sample": str}),
        {name: ad.read_h5ad(path) for name, path in zip(params.modalities, snakemake.input.normalized, strict=True)},
        {model: params.modalities_of[model] for model in params.models},
        params.n_top,
    )
    write_table(table, snakemake.output[0])
