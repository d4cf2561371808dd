"""Summary -> bar charts comparing every model on the headline held-out metrics."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from pathlib import Path

    import pandas as pd

    from oncoae.report.figures import metric_bars_figure

    params = snakemake.params
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    summary = pd.read_csv(snakemake.input.summary, sep="\t")
    for label in params.labels:
        metric_bars_figure(summary, "ari", label, out / f"ari_{label}.png")
    if params.survival:
        metric_bars_figure(summary, "c_index", params.survival["time"], out / f"c_index_{params.survival['time']}.png")
