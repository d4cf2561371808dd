"""Trained autoencoders + normalized modalities + held-out clusters -> feature attributions (TSV) and a figure."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    from pathlib import Path

    import anndata as ad
    import pandas as pd
    import torch

    from oncoae.data.split import read_split
    from oncoae.evaluation.attribution import AttributionSettings, attribute_autoencoder, write_attributions
    from oncoae.evaluation.clustering import read_centroids
    from oncoae.models.checkpoint import load_model
    from oncoae.report.attribution_figures import FIGURE_NAME, plot_top_features

    torch.set_num_threads(snakemake.threads)
    params, inputs = snakemake.params, snakemake.input
    split = read_split(inputs.split)
    clusters = pd.read_csv(inputs.clusters, sep="\t", dtype={"sample": str})
    normalized = {m: ad.read_h5ad(path) for m, path in zip(params.modalities, inputs.normalized, strict=True)}
    # The simulator's ground truth: var columns of the raw modalities (only var is read); none for real data.
    truth = None
    if params.validate:
        truth = {m: ad.read_h5ad(p, backed="r").var for m, p in zip(params.modalities, inputs.raw, strict=True)}
    settings = AttributionSettings.from_config(params.settings)
    # The rule's expands are model-major: each model's seeds, and each model's folder of outputs, in order.
    model_paths, folders = iter(inputs.models), list(dict.fromkeys(str(Path(p).parent) for p in snakemake.output))
    for model, folder in zip(params.models, folders, strict=True):
        networks = {seed: load_model(next(model_paths))[0] for seed in params.seeds}
        centroids = {seed: read_centroids(inputs.centroids, model, seed) for seed in params.seeds}
        own = clusters[clusters["model"] == model]
        tables = attribute_autoencoder(model, networks, normalized, split, own, centroids, settings, truth, log)
        write_attributions(tables, folder, params.validate)
        plot_top_features(tables.clusters, tables.heads, Path(folder) / FIGURE_NAME, model)
