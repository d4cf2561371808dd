"""Tumor-type figures: a confusion matrix per model (held-out tumors) and a UMAP of held-out tumors coloured by
type, in the style of ``oncoae.report.figures`` (same palette, legend outside the axes, PNG at 90 dpi)."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from oncoae.report.figures import draw_categories, save_figure  # noqa: E402

# Legends longer than this many entries get another column (as in oncoae.report.figures).
_LEGEND_ROWS = 16

METHOD_TITLES = {
    "head": "classification head",
    "latent_lr": "logistic regression on the latent",
    "raw_lr": "logistic regression on the normalized features",
}


def confusion_figure(confusion: pd.DataFrame, title: str, path: Path) -> None:
    """Held-out confusion matrix of one model, seed and method (rows of ``CONFUSION_COLUMNS``): true types as
    rows in the table's order (held-out count, largest first), predicted as columns; colour is the share of the
    row (the recall on the diagonal), cells show counts."""
    rows = list(dict.fromkeys(confusion["true_type"]))
    columns = list(dict.fromkeys(confusion["predicted_type"]))
    table = confusion.pivot(index="true_type", columns="predicted_type", values="count").reindex(
        index=rows, columns=columns, fill_value=0
    )
    counts = table.to_numpy(int)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n_rows, n_columns = counts.shape
    side = float(np.clip(0.32 * max(n_rows, n_columns) + 2.0, 4.0, 14.0))
    figure, axis = plt.subplots(figsize=(side + 1.2, side), layout="constrained")
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    font = 8 if max(n_rows, n_columns) <= 20 else 6
    for i in range(n_rows):
        for j in range(n_columns):
            if counts[i, j]:
                axis.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=font,
                    color="white" if shares[i, j] > 0.6 else "black",
                )
    axis.set_xticks(range(n_columns), columns, rotation=90, fontsize=font + 1)
    axis.set_yticks(range(n_rows), [f"{name} (n={counts[i].sum()})" for i, name in enumerate(rows)], fontsize=font + 1)
    axis.set_xlabel("predicted type")
    axis.set_ylabel("true type (held-out tumors)")
    accuracy = np.trace(counts[:, : min(n_rows, n_columns)]) / max(counts.sum(), 1)
    recall = np.diag(shares[:, : min(n_rows, n_columns)])
    axis.set_title(
        f"{title}\n{counts.sum()} held-out tumors: accuracy {accuracy:.3f}, balanced accuracy {recall.mean():.3f}",
        fontsize=10,
    )
    figure.colorbar(image, ax=axis, shrink=0.6, label="share of the true type")
    save_figure(figure, path)


def type_umap_figure(adata: ad.AnnData, label: str, title: str, path: Path, seed: int = 0) -> None:
    """UMAP (scanpy, as the model figures) of the held-out tumors' latents coloured by ``label``; the legend
    (type and count) sits outside the axes."""
    import scanpy as sc

    held_out = adata[(adata.obs["split"] == "test").to_numpy() & np.isfinite(adata.obsm["X_latent"]).all(axis=1)]
    held_out = held_out.copy()
    n_neighbors = max(2, min(15, held_out.n_obs - 1))
    # UMAP's own neighbour weights: tumors with identical mutation calls share a latent, and the Gaussian kernel of
    # the model figures then breaks the layout into a few far-apart points.
    sc.pp.neighbors(held_out, use_rep="X_latent", n_neighbors=n_neighbors, random_state=seed, method="umap")
    sc.tl.umap(held_out, random_state=seed)
    save_figure(type_scatter(np.asarray(held_out.obsm["X_umap"]), held_out.obs[label], label, title), path)


def type_scatter(coordinates: np.ndarray, types: pd.Series, label: str, title: str):
    """2-D coordinates coloured by type (largest type first in the legend, 'n/a' grey and last); the legend with
    each type's count sits outside the axes to the right. Returns the figure."""
    text = types.astype(object).where(types.notna(), "n/a").astype(str).reset_index(drop=True)
    counts = text[text != "n/a"].value_counts()
    order = sorted(counts.index, key=lambda name: (-counts[name], name))
    figure, axis = plt.subplots(figsize=(7.0, 5.2), layout="constrained")
    categories = [*order, *(["n/a"] if (text == "n/a").any() else [])]
    draw_categories(axis, coordinates, text, categories, f"{title}: held-out tumors by {label}", label, min_size=4.0)
    return figure
