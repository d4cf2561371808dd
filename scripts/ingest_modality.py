"""A modality file (local, or from the download cache) -> raw AnnData with IDs harmonized to the clinical table."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    from pathlib import Path

    from oncoae.atomic import write_h5ad, write_table
    from oncoae.data.ingest import ingest_modality, ingest_mutation_calls, ingest_summary
    from oncoae.data.modality import read_clinical, table_to_anndata
    from oncoae.data.readers import InputError
    from oncoae.data.sources import cbioportal_sequenced_samples

    params = snakemake.params
    path = Path(snakemake.input.table)
    sequenced = None
    if params.file_in_study:
        # A cBioPortal study folder: find the named data file inside it.
        study = path
        matches = sorted(study.rglob(params.file_in_study))
        if not matches:
            raise InputError(f"{study}: the study has no file {params.file_in_study!r}")
        path = matches[0]
        sequenced = cbioportal_sequenced_samples(study)
    clinical = read_clinical(snakemake.input.clinical)
    if params.file_format == "maf":
        # Sparse from the file on; tumors without a clinical row are dropped and counted.
        adata, counts = ingest_mutation_calls(
            path, clinical.index, keep_normals=params.keep_normals, sequenced_samples=sequenced
        )
    else:
        counts = {}
        table = ingest_modality(
            path,
            params.orientation,
            clinical.index,
            keep_normals=params.keep_normals,
            file_format=params.file_format,
            sequenced_samples=sequenced,
            counts=counts,
        )
        adata = table_to_anndata(table, sparse=params.kind == "binary")
    log.info(
        "%s: %d tumors kept, %d without a clinical row dropped",
        snakemake.wildcards.modality,
        counts["n_tumors"],
        counts["n_without_clinical"],
    )
    write_h5ad(adata, snakemake.output[0])
    write_table(ingest_summary(snakemake.wildcards.modality, counts), snakemake.output.summary)
