"""Per-model metric tables -> one tidy summary (model, seed, metric, label, value)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    import pandas as pd

    from oncoae.atomic import write_table

    tables = [pd.read_csv(path, sep="\t") for path in snakemake.input]
    write_table(pd.concat(tables, ignore_index=True), snakemake.output[0])
