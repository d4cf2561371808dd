"""A modality file (local, or from the download cache) -> raw AnnData with IDs harmonized to the clinical table."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.atomic import write_h5ad, write_table
    from oncoae.data.ingest import ingest_modality_anndata
    from oncoae.data.modality import read_clinical

    params = snakemake.params
    adata, summary = ingest_modality_anndata(
        snakemake.wildcards.modality,
        snakemake.input.table,
        read_clinical(snakemake.input.clinical).index,
        params.kind,
        file_format=params.file_format,
        orientation=params.orientation,
        keep_normals=params.keep_normals,
        file_in_study=params.file_in_study,
    )
    write_h5ad(adata, snakemake.output[0])
    write_table(summary, snakemake.output.summary)
