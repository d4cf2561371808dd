"""Clusters in the latent space as candidate tumor subtypes.

k-means is fitted on training latents only (k configured, or chosen on training latents by silhouette) and its
centroids assign held-out tumors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score


@dataclass
class FittedClustering:
    model: KMeans
    k: int
    silhouette_by_k: dict[int, float]

    def assign(self, latent: np.ndarray) -> np.ndarray:
        return self.model.predict(np.asarray(latent, dtype=np.float64))


def fit_kmeans(
    train_latent: np.ndarray, k: int | None, k_range: tuple[int, int], seed: int, n_init: int = 10
) -> FittedClustering:
    """k-means on training latents; with ``k=None`` pick k in ``k_range`` (inclusive) by silhouette."""
    data = np.asarray(train_latent, dtype=np.float64)
    scores: dict[int, float] = {}
    if k is None:
        best = None
        for candidate in range(k_range[0], min(k_range[1], len(data) - 1) + 1):
            model = KMeans(candidate, n_init=n_init, random_state=seed).fit(data)
            scores[candidate] = float(silhouette_score(data, model.labels_))
            if best is None or scores[candidate] > scores[best[0]]:
                best = (candidate, model)
        k, model = best
    else:
        model = KMeans(k, n_init=n_init, random_state=seed).fit(data)
    return FittedClustering(model=model, k=k, silhouette_by_k=scores)
