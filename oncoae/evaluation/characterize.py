"""What distinguishes each cluster: top features per cluster and modality, with scanpy's rank_genes_groups.

Run on normalized held-out inputs (training statistics, so values are in training-sd units for z-scored
modalities); the effect size reported is the difference between the cluster's mean and the other tumors' mean.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd

from oncoae.data.modality import dense_rows

log = logging.getLogger(__name__)

COLUMNS = ["cluster", "rank", "feature", "score", "mean_difference", "p_value", "p_adjusted", "n_in_cluster"]


def rank_cluster_features(adata: ad.AnnData, clusters: pd.Series, n_top: int = 10) -> pd.DataFrame:
    """Top ``n_top`` features per cluster (Wilcoxon rank-sum vs the rest, Benjamini-Hochberg adjusted).

    ``adata``: normalized tumors x features; ``clusters``: cluster per tumor (indexed by sample). Tumors
    without a cluster are left out; clusters with fewer than 2 tumors here are skipped.
    """
    import scanpy as sc

    # scanpy warns that integer-looking data (0/1 mutations, copy-number calls) might be raw counts; here they are
    # the data as modelled, so only its errors are of interest.
    sc.settings.verbosity = 0
    shared = adata.obs_names[adata.obs_names.isin(clusters.index)]
    data = ad.AnnData(dense_rows(adata[shared].X), obs=pd.DataFrame(index=shared))
    data.var_names = adata.var_names
    data.obs["cluster"] = pd.Categorical(clusters.reindex(shared).astype(int).astype(str))
    sizes = data.obs["cluster"].value_counts()
    groups = [str(g) for g in sorted(sizes.index[sizes >= 2], key=int)]
    if len(groups) < 2 or len(sizes) < 2:
        return pd.DataFrame(columns=COLUMNS)
    sc.tl.rank_genes_groups(
        data,
        "cluster",
        groups=groups,
        reference="rest",
        method="wilcoxon",
        corr_method="benjamini-hochberg",
        n_genes=min(n_top, data.n_vars),
        use_raw=False,
    )
    values = np.asarray(data.X)
    in_cluster = {g: (data.obs["cluster"] == g).to_numpy() for g in groups}
    rows = []
    for group in groups:
        table = sc.get.rank_genes_groups_df(data, group=group).head(n_top)
        member = in_cluster[group]
        for rank, record in enumerate(table.itertuples(index=False), start=1):
            column = data.var_names.get_loc(record.names)
            rows.append(
                {
                    "cluster": int(group),
                    "rank": rank,
                    "feature": record.names,
                    "score": float(record.scores),
                    "mean_difference": float(values[member, column].mean() - values[~member, column].mean()),
                    "p_value": float(record.pvals),
                    "p_adjusted": float(record.pvals_adj),
                    "n_in_cluster": int(member.sum()),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def characterize_group(
    assignments: pd.DataFrame,
    normalized: Mapping[str, ad.AnnData],
    modalities_of: Mapping[str, Sequence[str]],
    n_top: int,
) -> pd.DataFrame:
    """The characterize step of a group of models: ``rank_cluster_features`` of each model's held-out clusters
    (first seed; ``assignments`` as in clusters/<group>.tsv) on each of its modalities (``modalities_of``), in
    one table (model, seed, modality and ``COLUMNS``)."""
    held_out = assignments[assignments["split"] == "test"]
    first_seed = int(held_out["seed"].min())
    tables = []
    for model, modalities in modalities_of.items():
        of_model = held_out[(held_out["model"] == model) & (held_out["seed"] == first_seed)]
        clusters = of_model.set_index("sample")["cluster"]
        for modality in modalities:
            table = rank_cluster_features(normalized[modality], clusters, n_top)
            tables.append(table.assign(model=model, seed=first_seed, modality=modality))
        log.info("%s: characterized %d held-out tumors' clusters", model, len(clusters))
    columns = ["model", "seed", "modality", *COLUMNS]
    result = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    return result[columns]
