"""Simulated cohort -> raw per-modality AnnData and the clinical table (with ground truth)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.atomic import write_h5ad, write_table
    from oncoae.data.modality import table_to_anndata
    from oncoae.data.simulate import SimulationSettings, simulate_cohort

    cohort = simulate_cohort(SimulationSettings.from_config(snakemake.params.simulation))
    for name, path in zip(snakemake.params.modalities, snakemake.output.modalities, strict=True):
        write_h5ad(table_to_anndata(cohort.modalities[name]), path)
    write_table(cohort.clinical, snakemake.output.clinical, index=True)
