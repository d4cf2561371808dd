"""Latents of a group of models (every seed) -> k-means fitted on training tumors -> held-out evaluation tables."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.atomic import write_table
    from oncoae.evaluation.evaluate import ClusteringSettings, EvaluationSettings, evaluate_group

    params = snakemake.params
    # The rule's latents are model-major; a baseline's one latent file is listed for every seed (it is
    # deterministic: the seed then varies k-means only).
    paths = iter(snakemake.input.latents)
    latents = [(model, {int(seed): next(paths) for seed in params.seeds}) for model in params.models]
    tables = evaluate_group(
        latents,
        ClusteringSettings.from_config(params.clustering),
        EvaluationSettings.from_config({"evaluation": params.evaluation, "clinical": params.clinical}),
    )
    for name, table in tables.items():
        write_table(table, snakemake.output[name])
