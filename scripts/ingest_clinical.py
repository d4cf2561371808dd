"""A local clinical table -> the workflow's clinical table (IDs as index, survival in days, events 0/1)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    from oncoae.atomic import write_table
    from oncoae.data.readers import read_clinical_file

    params = snakemake.params
    clinical = read_clinical_file(
        snakemake.input[0],
        params.id_column,
        params.labels,
        params.survival,
        split_column=params.split_column,
        stratify=params.stratify,
    )
    log.info("%d tumors in the clinical table", len(clinical))
    write_table(clinical, snakemake.output[0], index=True)
