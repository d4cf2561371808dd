"""Clinical table + modality files -> train/val/test assignment (split.tsv)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    import anndata as ad

    from oncoae.atomic import write_table
    from oncoae.data.modality import read_clinical
    from oncoae.data.split import split_tumors

    clinical = read_clinical(snakemake.input.clinical)
    measured = [ad.read_h5ad(path, backed="r").obs_names for path in snakemake.input.modalities]
    table = split_tumors(clinical, measured, snakemake.params.split, snakemake.params.n_clusters)
    write_table(table, snakemake.output[0])
