"""Latents of every model (every seed) and the normalized modalities -> held-out tumor-type tables: the
classification head, logistic regression on training latents, the same on each normalized modality (the
supervised reference), k-means with k = number of types, and subtypes within the configured types."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import numpy as np
    import pandas as pd

    from oncoae.atomic import write_table
    from oncoae.data.modality import dense_rows
    from oncoae.evaluation.tumor_type import (
        WITHIN_TYPE_COLUMNS,
        TypeScores,
        score_latent,
        score_matrix,
        within_type_survival,
    )

    params = snakemake.params
    label = params.label
    survival = params.survival
    k = params.within_type_k
    scores, within = TypeScores(), []
    paths = iter(snakemake.input.latents)
    for model in params.models:
        for seed in params.seeds:
            adata = ad.read_h5ad(next(paths))
            seed_scores = score_latent(
                model, int(seed), adata, label, n_init=params.n_init, use_head=model in params.head_models
            )
            scores.extend(seed_scores)
            if params.within_type and survival:
                within += within_type_survival(
                    model,
                    int(seed),
                    adata,
                    label,
                    params.within_type,
                    (survival["time"], survival["event"]),
                    None if k == "auto" else int(k),
                    tuple(params.k_range),
                    n_init=params.n_init,
                    permutations=params.permutations,
                    max_permutations=params.max_permutations,
                )
            found = {row["method"]: row["value"] for row in seed_scores.metrics if row["metric"] == "balanced_accuracy"}
            log.info("%s seed %s: balanced accuracy %s", model, seed, found)
    for modality, path in zip(params.modalities, snakemake.input.normalized, strict=True):
        adata = ad.read_h5ad(path)
        values = dense_rows(adata.X).astype(np.float64)
        # 0/1 calls are left unstandardized (see score_matrix); other modalities are standardized on training.
        standardize = params.kinds[modality] != "binary"
        raw = score_matrix(
            f"raw_{modality}", values, adata.obs, label, seed=int(params.seeds[0]), standardize=standardize
        )
        scores.extend(raw)
        log.info(
            "raw_%s (%d features): balanced accuracy %.3f",
            modality,
            adata.n_vars,
            next(r["value"] for r in raw.metrics if r["metric"] == "balanced_accuracy"),
        )
    metrics, recall, confusion = scores.frames()
    write_table(metrics, snakemake.output.metrics)
    write_table(recall, snakemake.output.recall)
    write_table(confusion, snakemake.output.confusion)
    write_table(pd.DataFrame(within, columns=WITHIN_TYPE_COLUMNS), snakemake.output.within_type)
