"""Cluster latents and score them on held-out tumors, for one model over its seeds.

Everything fitted (k-means centroids, the choice of k, Cox coefficients) sees training tumors only; every score
is computed on test tumors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from oncoae.evaluation.clustering import fit_kmeans
from oncoae.evaluation.metrics import cluster_silhouette, label_agreement
from oncoae.evaluation.survival import SurvivalData, cox_concordance, logrank_p

SUMMARY_COLUMNS = ["model", "seed", "metric", "label", "value"]


@dataclass
class ClusteringSettings:
    k: int | None = 4
    k_range: tuple[int, int] = (2, 8)
    n_init: int = 10

    @classmethod
    def from_config(cls, section: Mapping) -> ClusteringSettings:
        k = section.get("k", 4)
        return cls(
            k=None if k == "auto" else int(k),
            k_range=tuple(section.get("k_range", (2, 8))),
            n_init=int(section.get("n_init", 10)),
        )


def cluster_latents(
    latents: Mapping[int, ad.AnnData], settings: ClusteringSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """k-means per seed, fitted on training latents; returns (assignments, silhouette by k on train)."""
    assignments, k_curves = [], []
    for seed, adata in latents.items():
        latent = adata.obsm["X_latent"]
        is_train = (adata.obs["split"] == "train").to_numpy()
        fitted = fit_kmeans(latent[is_train], settings.k, settings.k_range, seed=seed, n_init=settings.n_init)
        assignments.append(
            pd.DataFrame(
                {
                    "sample": adata.obs_names,
                    "seed": seed,
                    "split": adata.obs["split"].to_numpy(),
                    "cluster": fitted.assign(latent),
                }
            )
        )
        k_curves += [{"seed": seed, "k": k, "silhouette": s} for k, s in fitted.silhouette_by_k.items()]
    return pd.concat(assignments, ignore_index=True), pd.DataFrame(k_curves, columns=["seed", "k", "silhouette"])


def evaluate_seed(
    adata: ad.AnnData,
    clusters: pd.Series,
    labels: Sequence[str],
    survival_columns: tuple[str, str] | None,
    cox_penalizer: float,
) -> list[dict]:
    """Metric rows (metric, label, value) on the held-out tumors of one seed."""
    obs = adata.obs
    latent = adata.obsm["X_latent"]
    is_test = (obs["split"] == "test").to_numpy()
    is_train = (obs["split"] == "train").to_numpy()
    test_clusters = clusters.reindex(obs.index[is_test]).to_numpy()
    rows: list[dict] = [
        {"metric": "n_test", "label": "", "value": float(is_test.sum())},
        {"metric": "n_clusters", "label": "", "value": float(len(np.unique(test_clusters)))},
        {"metric": "silhouette", "label": "", "value": cluster_silhouette(latent[is_test], test_clusters)},
    ]
    for label in labels:
        for metric, value in label_agreement(test_clusters, obs.loc[is_test, label]).items():
            rows.append({"metric": metric, "label": label, "value": value})
    if survival_columns is not None:
        time_column, event_column = survival_columns
        test_survival = SurvivalData.from_table(obs.loc[is_test], time_column, event_column)
        train_survival = SurvivalData.from_table(obs.loc[is_train], time_column, event_column)
        rows.append({"metric": "logrank_p", "label": time_column, "value": logrank_p(test_clusters, test_survival)})
        rows.append(
            {
                "metric": "c_index",
                "label": time_column,
                "value": cox_concordance(
                    latent[is_train], train_survival, latent[is_test], test_survival, cox_penalizer
                ),
            }
        )
    for column in obs.columns:
        if column.startswith("reconstruction_error_"):
            rows.append(
                {
                    "metric": "reconstruction_error",
                    "label": column.removeprefix("reconstruction_error_"),
                    "value": float(np.nanmean(obs.loc[is_test, column].to_numpy(float))),
                }
            )
    return rows


def evaluate_model(
    model: str,
    latents: Mapping[int, ad.AnnData],
    assignments: pd.DataFrame,
    labels: Sequence[str],
    survival_columns: tuple[str, str] | None,
    cox_penalizer: float = 0.1,
) -> pd.DataFrame:
    """Tidy table (model, seed, metric, label, value) over every seed."""
    rows = []
    for seed, adata in latents.items():
        seed_clusters = assignments[assignments["seed"] == seed].set_index("sample")["cluster"]
        for row in evaluate_seed(adata, seed_clusters, labels, survival_columns, cox_penalizer):
            rows.append({"model": model, "seed": seed, **row})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
