"""Normalized modalities + clusters of a group of models -> top features per cluster, modality and model (TSV)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import pandas as pd

    from oncoae.atomic import write_table
    from oncoae.evaluation.characterize import COLUMNS, rank_cluster_features

    params = snakemake.params
    assignments = pd.read_csv(snakemake.input.clusters, sep="\t", dtype={"sample": str})
    held_out = assignments[assignments["split"] == "test"]
    first_seed = int(held_out["seed"].min())
    normalized = {
        name: ad.read_h5ad(path) for name, path in zip(params.modalities, snakemake.input.normalized, strict=True)
    }
    tables = []
    for model in params.models:
        clusters = held_out[(held_out["model"] == model) & (held_out["seed"] == first_seed)].set_index("sample")[
            "cluster"
        ]
        for modality in params.modalities_of[model]:
            table = rank_cluster_features(normalized[modality], clusters, params.n_top)
            tables.append(table.assign(model=model, seed=first_seed, modality=modality))
        log.info("%s: characterized %d held-out tumors' clusters", model, len(clusters))
    columns = ["model", "seed", "modality", *COLUMNS]
    result = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    write_table(result[columns], snakemake.output[0])
