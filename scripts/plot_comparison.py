"""Summary -> bar charts comparing every model on the headline held-out metrics."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from pathlib import Path

    import pandas as pd

    from oncoae.report.figures import comparison_figures

    summary = pd.read_csv(snakemake.input.summary, sep="\t")
    comparison_figures(summary, snakemake.params.labels, snakemake.params.survival, Path(snakemake.output[0]))
