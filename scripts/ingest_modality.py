"""A local modality file -> raw AnnData with IDs harmonized to the clinical table."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.atomic import write_h5ad
    from oncoae.data.ingest import ingest_modality
    from oncoae.data.modality import read_clinical, table_to_anndata

    clinical = read_clinical(snakemake.input.clinical)
    table = ingest_modality(
        snakemake.input.table, snakemake.params.orientation, clinical.index, keep_normals=snakemake.params.keep_normals
    )
    write_h5ad(table_to_anndata(table), snakemake.output[0])
