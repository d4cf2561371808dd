"""A clinical table (local file, Xena survival + subtype tables, or a cBioPortal patient table) -> the
workflow's clinical table (IDs as index, survival in days, events 0/1)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import tempfile
    from pathlib import Path

    from oncoae.atomic import write_table
    from oncoae.data.readers import InputError, read_clinical_file
    from oncoae.data.sources import xena_clinical

    params = snakemake.params
    path = Path(snakemake.input.table)
    with tempfile.TemporaryDirectory() as folder:
        if params.source == "xena":
            # Xena: survival (TCGA-CDR) joined with a subtype table, restricted to the configured cancer types.
            merged = xena_clinical(path, snakemake.input.get("subtypes"), params.cancer_types)
            path = Path(folder) / "clinical.tsv"
            merged.to_csv(path, sep="\t")
        elif params.source == "cbioportal":
            matches = sorted(path.rglob("data_clinical_patient.txt"))
            if not matches:
                raise InputError(f"{path}: the study has no data_clinical_patient.txt")
            path = matches[0]
        clinical = read_clinical_file(
            path,
            params.id_column,
            params.labels,
            params.survival,
            split_column=params.split_column,
            stratify=params.stratify,
        )
    import pandas as pd

    from oncoae.data.readers import SURVIVAL_EXCLUDED_COLUMNS

    excluded = pd.DataFrame(clinical.attrs.pop("survival_excluded", []), columns=SURVIVAL_EXCLUDED_COLUMNS)
    log.info("%d tumors in the clinical table, %d without usable survival", len(clinical), len(excluded))
    write_table(clinical, snakemake.output[0], index=True)
    write_table(excluded, snakemake.output.survival_excluded)
