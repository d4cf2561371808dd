"""A clinical table (local file, Xena survival + subtype tables, or a cBioPortal patient table) -> the
workflow's clinical table (IDs as index, survival in days, events 0/1)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.atomic import write_table
    from oncoae.data.ingest import ingest_clinical

    params = snakemake.params
    clinical, excluded = ingest_clinical(
        snakemake.input.table,
        params.source,
        params.id_column,
        params.labels,
        params.survival,
        split_column=params.split_column,
        stratify=params.stratify,
        subtypes=snakemake.input.get("subtypes"),
        cancer_types=params.cancer_types,
    )
    write_table(clinical, snakemake.output[0], index=True)
    write_table(excluded, snakemake.output.survival_excluded)
