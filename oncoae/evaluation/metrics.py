"""Agreement of clusters with known labels, and cluster separation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    adjusted_mutual_info_score,
    adjusted_rand_score,
    normalized_mutual_info_score,
    silhouette_score,
)


def label_agreement(clusters: np.ndarray, labels: pd.Series) -> dict[str, float]:
    """ARI, NMI and AMI between clusters and a label, over tumors whose label is known."""
    known = labels.notna().to_numpy()
    truth = labels[known].astype(str).to_numpy()
    predicted = np.asarray(clusters)[known]
    if len(truth) < 2:
        return {"ari": float("nan"), "nmi": float("nan"), "ami": float("nan")}
    return {
        "ari": float(adjusted_rand_score(truth, predicted)),
        "nmi": float(normalized_mutual_info_score(truth, predicted)),
        "ami": float(adjusted_mutual_info_score(truth, predicted)),
    }


def cluster_silhouette(latent: np.ndarray, clusters: np.ndarray) -> float:
    n_clusters = len(np.unique(clusters))
    if n_clusters < 2 or n_clusters >= len(clusters):
        return float("nan")
    return float(silhouette_score(latent, clusters))
