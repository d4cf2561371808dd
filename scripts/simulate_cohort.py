"""Simulated cohort -> raw per-modality AnnData and the clinical table (with ground truth)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.atomic import write_h5ad, write_table
    from oncoae.data.simulate import SimulationSettings, simulate_cohort

    cohort = simulate_cohort(SimulationSettings.from_config(snakemake.params.simulation))
    for name, path in zip(snakemake.params.modalities, snakemake.output.modalities, strict=True):
        write_h5ad(cohort.modalities.pop(name), path)  # and let it go before the next one is written
    write_table(cohort.clinical, snakemake.output.clinical, index=True)
