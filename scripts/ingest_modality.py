"""A modality file (local, or from the download cache) -> raw AnnData with IDs harmonized to the clinical table."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from pathlib import Path

    from oncoae.atomic import write_h5ad
    from oncoae.data.ingest import ingest_modality
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
    table = ingest_modality(
        path,
        params.orientation,
        clinical.index,
        keep_normals=params.keep_normals,
        file_format=params.file_format,
        sequenced_samples=sequenced,
    )
    write_h5ad(table_to_anndata(table, sparse=params.kind == "binary"), snakemake.output[0])
