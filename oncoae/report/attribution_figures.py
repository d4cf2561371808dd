"""The attribution figure of one autoencoder: the features that drive each cluster (and the risk head).

Drawn from the attribute_features step's tables (``attribution/<model>/clusters.tsv``, ``heads.tsv``) to the
stable name ``attribution/<model>/top_features.png``: a heatmap of cluster scores (rows: the union of each
cluster's top features, first seed; columns: clusters), and beside it, for a model with a Cox head, a bar chart
of the risk score's top features by mean |attribution|.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from oncoae.atomic import atomic_path  # noqa: E402

FIGURE_NAME = "top_features.png"


def _label(row) -> str:
    return f"{row.feature} ({row.modality})"


def cluster_heatmap_data(clusters: pd.DataFrame, n_top: int = 5) -> pd.DataFrame:
    """Features x clusters scores of the first seed: each cluster's ``n_top`` features (by rank), in cluster
    order; a feature outside a cluster's kept top list shows as NaN there."""
    if clusters.empty:
        return pd.DataFrame()
    first = clusters[clusters["seed"] == clusters["seed"].min()].copy()
    if "n_in_cluster" in first:
        # A cluster without held-out tumors has all-zero scores: its "top" features would be alphabetical noise.
        first = first[first["n_in_cluster"] > 0]
    if first.empty:
        return pd.DataFrame()
    first["label"] = [_label(row) for row in first.itertuples()]
    chosen = list(dict.fromkeys(first.loc[first["rank"] <= n_top].sort_values(["cluster", "rank"])["label"]))
    wide = first.pivot_table(index="label", columns="cluster", values="score", aggfunc="first")
    return wide.reindex(index=chosen, columns=sorted(first["cluster"].unique()))


def plot_top_features(
    clusters: pd.DataFrame, heads: pd.DataFrame, path: str | Path, model: str, n_top: int = 5
) -> None:
    """Write the figure of one model to ``path`` (PNG)."""
    data = cluster_heatmap_data(clusters, n_top)
    risk = heads[(heads["head"] == "risk") & (heads["seed"] == heads["seed"].min())] if not heads.empty else heads
    risk = risk.sort_values("rank").head(2 * n_top) if not risk.empty else risk
    n_panels = 1 + (not risk.empty)
    height = max(3.0, 0.22 * max(len(data), len(risk)) + 1.2)
    figure, axes = plt.subplots(1, n_panels, figsize=(6.0 * n_panels, height), squeeze=False, layout="constrained")
    axis = axes[0, 0]
    if data.empty:
        axis.text(0.5, 0.5, "no held-out clusters", ha="center", va="center")
        axis.set_axis_off()
    else:
        values = data.to_numpy(float)
        limit = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 1.0
        image = axis.imshow(np.ma.masked_invalid(values), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        axis.set_yticks(range(len(data)), data.index, fontsize=7)
        axis.set_xticks(range(data.shape[1]), [str(c) for c in data.columns])
        axis.set_xlabel("cluster")
        axis.set_title(f"{model}: features driving each cluster", fontsize=9)
        figure.colorbar(image, ax=axis, shrink=0.7, label="cluster − rest, along centroid")
    if not risk.empty:
        axis = axes[0, 1]
        labels = [_label(row) for row in risk.itertuples()]
        axis.barh(range(len(risk)), risk["score"], color=np.where(risk["mean_signed"] >= 0, "#b2182b", "#2166ac"))
        axis.set_yticks(range(len(risk)), labels, fontsize=7)
        axis.invert_yaxis()
        axis.set_xlabel("mean |attribution| to risk (red: raises it on average)")
        axis.set_title("features driving the Cox risk score", fontsize=9)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=90, bbox_inches="tight", format="png")
    plt.close(figure)
