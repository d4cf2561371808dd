"""Clusters in the latent space as candidate tumor subtypes.

k-means is fitted on training latents only (k configured, or chosen on training latents by silhouette) and its
centroids assign held-out tumors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

# The silhouette costs O(n^2); beyond this many training tumors it is computed on a seeded subsample
# (sklearn's sample_size), which at pan-cancer scale turns minutes into seconds.
SILHOUETTE_SAMPLE = 2000


def _silhouette(data: np.ndarray, labels: np.ndarray, seed: int) -> float:
    sample = SILHOUETTE_SAMPLE if len(data) > SILHOUETTE_SAMPLE else None
    return float(silhouette_score(data, labels, sample_size=sample, random_state=seed))


@dataclass
class FittedClustering:
    model: KMeans
    k: int
    silhouette_by_k: dict[int, float]

    def assign(self, latent: np.ndarray) -> np.ndarray:
        return self.model.predict(np.asarray(latent, dtype=np.float64))


def _kmeans_by_k(data: np.ndarray, k_range: tuple[int, int], seed: int, n_init: int) -> Iterator[tuple[KMeans, float]]:
    """k-means and its silhouette for every k in ``k_range`` (inclusive, and below the number of tumors)."""
    for k in range(k_range[0], min(k_range[1], len(data) - 1) + 1):
        model = KMeans(k, n_init=n_init, random_state=seed).fit(data)
        yield model, _silhouette(data, model.labels_, seed)


def fit_kmeans(
    train_latent: np.ndarray, k: int | None, k_range: tuple[int, int], seed: int, n_init: int = 10
) -> FittedClustering:
    """k-means on training latents; with ``k=None`` pick k in ``k_range`` (inclusive) by silhouette (the smallest
    k of the best)."""
    data = np.asarray(train_latent, dtype=np.float64)
    if k is not None:
        return FittedClustering(model=KMeans(k, n_init=n_init, random_state=seed).fit(data), k=k, silhouette_by_k={})
    scores: dict[int, float] = {}
    best = None
    for model, score in _kmeans_by_k(data, k_range, seed, n_init):
        scores[model.n_clusters] = score
        if best is None or score > scores[best.n_clusters]:
            best = model
    return FittedClustering(model=best, k=best.n_clusters, silhouette_by_k=scores)


def centroid_rows(model: str, seed: int, fitted: FittedClustering) -> list[dict]:
    """The fitted centroids in long form (model, seed, cluster, dim, value), for ``encode --assign-clusters``."""
    return [
        {"model": model, "seed": seed, "cluster": cluster, "dim": dim, "value": float(value)}
        for cluster, center in enumerate(fitted.model.cluster_centers_)
        for dim, value in enumerate(center)
    ]


def read_centroids(path, model: str, seed: int) -> np.ndarray:
    """Centroids (clusters x dims) of one model and seed from a run's ``clusters/<group>.centroids.tsv``."""
    import pandas as pd

    table = pd.read_csv(path, sep="\t")
    rows = table[(table["model"] == model) & (table["seed"] == seed)]
    if rows.empty:
        raise ValueError(f"{path}: no centroids for model {model!r}, seed {seed}")
    return rows.pivot(index="cluster", columns="dim", values="value").sort_index().to_numpy(np.float64)


def assign_to_centroids(latent: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The nearest centroid of each tumor: what ``KMeans.predict`` computes, from saved centroids."""
    from sklearn.metrics import pairwise_distances_argmin

    return pairwise_distances_argmin(np.asarray(latent, dtype=np.float64), centroids)


def silhouette_curve(
    train_latent: np.ndarray, k_range: tuple[int, int], seed: int, n_init: int = 10
) -> dict[int, float]:
    """Silhouette of k-means on training latents for every k in ``k_range`` (inclusive): the curve that shows
    whether the configured k is supported by the data."""
    data = np.asarray(train_latent, dtype=np.float64)
    return {model.n_clusters: score for model, score in _kmeans_by_k(data, k_range, seed, n_init)}


def leiden_sweep(latent: np.ndarray, resolutions, seed: int, n_neighbors: int = 15) -> dict[float, np.ndarray]:
    """Leiden clusters of the scanpy neighbour graph of ``latent`` (tumors x dims), one labelling per resolution.

    Graph clustering is transductive: callers pass held-out latents only, so no training tumor shapes the graph.
    """
    import anndata as ad
    import scanpy as sc

    adata = ad.AnnData(np.zeros((len(latent), 0), dtype=np.float32))
    adata.obsm["X_latent"] = np.asarray(latent, dtype=np.float32)
    sc.pp.neighbors(adata, n_neighbors=min(n_neighbors, len(latent) - 1), use_rep="X_latent", random_state=seed)
    labelings = {}
    for resolution in resolutions:
        sc.tl.leiden(
            adata,
            resolution=resolution,
            random_state=seed,
            flavor="igraph",
            n_iterations=2,
            directed=False,
            key_added="leiden",
        )
        labelings[float(resolution)] = adata.obs["leiden"].astype(int).to_numpy()
    return labelings
