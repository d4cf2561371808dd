"""Latents of every model (every seed) and the normalized modalities -> held-out tumor-type tables: the
classification head, logistic regression on training latents, the same on each normalized modality (the
supervised reference), k-means with k = number of types, and subtypes within the configured types."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from itertools import product

    from oncoae.atomic import write_table
    from oncoae.evaluation.tumor_type import WithinTypeSettings, tumor_type_tables

    params, inputs, output = snakemake.params, snakemake.input, snakemake.output
    survival, k = params.survival, params.within_type_k
    within = None
    if params.within_type and survival:
        within = WithinTypeSettings(
            params.within_type,
            (survival["time"], survival["event"]),
            None if k == "auto" else int(k),
            tuple(params.k_range),
            params.permutations,
            params.max_permutations,
        )
    # The rule's latents are model-major: each model's seeds in order.
    runs = [(model, int(seed)) for model, seed in product(params.models, params.seeds)]
    tables = tumor_type_tables(
        params.label,
        [(model, seed, path) for (model, seed), path in zip(runs, inputs.latents, strict=True)],
        dict(zip(params.modalities, inputs.normalized, strict=True)),
        params.kinds,
        set(params.head_models),
        int(params.seeds[0]),
        within,
        params.n_init,
    )
    for table, path in zip(tables, (output.metrics, output.recall, output.confusion, output.within_type), strict=True):
        write_table(table, path)
