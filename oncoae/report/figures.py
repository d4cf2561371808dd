"""Figures of one run: latent UMAPs, Kaplan-Meier curves per cluster, training curves."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import anndata as ad
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from oncoae.atomic import atomic_path  # noqa: E402

log = logging.getLogger(__name__)


def _save(figure, path: Path) -> None:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=90, bbox_inches="tight", format="png")
    plt.close(figure)


def umap_figure(
    adata: ad.AnnData, clusters: pd.Series, labels: Sequence[str], title: str, path: Path, seed: int = 0
) -> None:
    """UMAP (scanpy) of held-out latents, coloured by each label and by cluster."""
    import scanpy as sc

    held_out = adata[adata.obs["split"] == "test"].copy()
    held_out.obs["cluster"] = pd.Categorical(clusters.reindex(held_out.obs_names).astype(str))
    n_neighbors = max(2, min(15, held_out.n_obs - 1))
    # Gaussian-kernel connectivities instead of UMAP's fuzzy simplicial sets: the layout is as informative for a
    # figure, and it spares ~10 s of numba compilation in every figure job.
    sc.pp.neighbors(held_out, use_rep="X_latent", n_neighbors=n_neighbors, random_state=seed, method="gauss")
    sc.tl.umap(held_out, random_state=seed)
    colors = [label for label in labels if label in held_out.obs] + ["cluster"]
    for label in colors:
        held_out.obs[label] = held_out.obs[label].astype(str).astype("category")
    figure, axes = plt.subplots(1, len(colors), figsize=(4.2 * len(colors), 3.8), squeeze=False)
    for axis, color in zip(axes[0], colors, strict=True):
        sc.pl.umap(held_out, color=color, ax=axis, show=False, title=f"{title}: {color}", frameon=False)
    _save(figure, path)


def kaplan_meier_figure(
    obs: pd.DataFrame, clusters: pd.Series, time_column: str, event_column: str, title: str, path: Path
) -> None:
    """Kaplan-Meier curves per cluster on held-out tumors, with numbers at risk."""
    from lifelines import KaplanMeierFitter
    from lifelines.plotting import add_at_risk_counts

    held_out = obs[obs["split"] == "test"]
    groups = clusters.reindex(held_out.index)
    figure, axis = plt.subplots(figsize=(6, 4.5))
    fitters = []
    for cluster in sorted(groups.dropna().unique()):
        members = held_out[groups == cluster]
        usable = members[[time_column, event_column]].dropna()
        if len(usable) == 0:
            continue
        fitter = KaplanMeierFitter(label=f"cluster {cluster} (n={len(usable)})")
        fitter.fit(usable[time_column], usable[event_column])
        fitter.plot_survival_function(ax=axis, ci_show=False)
        fitters.append(fitter)
    if fitters:
        add_at_risk_counts(*fitters, ax=axis, rows_to_show=["At risk"])
    axis.set_title(title)
    axis.set_xlabel(time_column)
    axis.set_ylabel("survival probability")
    _save(figure, path)


def training_curves_figure(histories: Mapping[int, pd.DataFrame], title: str, path: Path) -> None:
    """Train and val loss per epoch, one line pair per seed."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for seed, history in histories.items():
        for column, style in (("train_loss", "-"), ("val_loss", "--")):
            if column in history:
                values = history[["epoch", column]].dropna()
                axis.plot(values["epoch"], values[column], style, label=f"seed {seed} {column.split('_')[0]}")
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss (reconstruction + KL and heads where used)")
    axis.set_title(title)
    axis.legend(fontsize=7)
    _save(figure, path)


def metric_bars_figure(summary: pd.DataFrame, metric: str, label: str, path: Path) -> None:
    """Mean ± sd over seeds of one metric, one bar per model."""
    rows = summary[(summary["metric"] == metric) & (summary["label"].fillna("") == label)]
    stats = rows.groupby("model")["value"].agg(["mean", "std"]).sort_values("mean")
    figure, axis = plt.subplots(figsize=(6, 0.3 * len(stats) + 1.2))
    axis.barh(stats.index, stats["mean"], xerr=np.nan_to_num(stats["std"]), color="#4c72b0")
    axis.set_xlabel(f"{metric} ({label})" if label else metric)
    axis.set_title("held-out tumors, mean ± sd over seeds")
    _save(figure, path)


def contingency_figure(clusters: pd.Series, labels: pd.Series, title: str, path: Path) -> None:
    """Heatmap of held-out tumors per cluster (rows) and known label (columns), with the counts written in."""
    known = labels.reindex(clusters.index).dropna()
    table = pd.crosstab(clusters.reindex(known.index), known.astype(str))
    figure, axis = plt.subplots(figsize=(1.0 + 0.7 * table.shape[1], 1.0 + 0.45 * table.shape[0]))
    axis.imshow(table.to_numpy(), cmap="Blues", aspect="auto")
    axis.set_xticks(range(table.shape[1]), table.columns, rotation=45, ha="right")
    axis.set_yticks(range(table.shape[0]), [f"cluster {c}" for c in table.index])
    peak = max(1, table.to_numpy().max())
    for (row, column), count in np.ndenumerate(table.to_numpy()):
        axis.text(column, row, str(count), ha="center", va="center", color="white" if count > peak / 2 else "black")
    axis.set_title(title, fontsize=9)
    _save(figure, path)


def k_curve_figure(k_selection: pd.DataFrame, title: str, path: Path) -> None:
    """Silhouette of k-means on training latents against k, mean over seeds, one line per model; the k used
    for clustering is marked."""
    figure, axis = plt.subplots(figsize=(6.5, 4))
    for model, rows in k_selection.groupby("model", sort=False):
        curve = rows.groupby("k")["silhouette"].mean()
        (line,) = axis.plot(curve.index, curve.to_numpy(), marker=".", label=model)
        chosen = rows.loc[rows["chosen"].astype(bool), "k"]
        if len(chosen):
            k = int(chosen.mode().iloc[0])
            axis.plot([k], [curve.get(k, np.nan)], "o", markersize=9, fillstyle="none", color=line.get_color())
    axis.set_xlabel("k (k-means on training latents)")
    axis.set_ylabel("silhouette (train)")
    axis.set_title(title)
    axis.legend(fontsize=6, ncol=2)
    _save(figure, path)


def contribution_figure(contributions: pd.DataFrame, metric: str, label: str, path: Path) -> None:
    """Drop of a held-out metric when each modality is masked, mean ± sd over seeds, per multi-modal model."""
    rows = contributions[(contributions["metric"] == metric) & (contributions["label"] == label)]
    stats = rows.groupby(["model", "modality"])["drop"].agg(["mean", "std"]).reset_index()
    models, modalities = list(dict.fromkeys(stats["model"])), list(dict.fromkeys(stats["modality"]))
    figure, axis = plt.subplots(figsize=(1.5 + 1.4 * len(models), 4))
    width = 0.8 / max(1, len(modalities))
    for index, modality in enumerate(modalities):
        part = stats[stats["modality"] == modality].set_index("model").reindex(models)
        positions = np.arange(len(models)) + index * width
        axis.bar(positions, part["mean"], width, yerr=np.nan_to_num(part["std"]), label=modality)
    axis.set_xticks(np.arange(len(models)) + width * (len(modalities) - 1) / 2, models, rotation=30, ha="right")
    axis.axhline(0, color="black", linewidth=0.6)
    axis.set_ylabel(f"drop in {metric} ({label}) without the modality")
    axis.set_title("modality contributions (leave-one-modality-out, held-out tumors)", fontsize=9)
    axis.legend(fontsize=7)
    _save(figure, path)
