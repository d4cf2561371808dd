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

from oncoae.atomic import atomic_path  # noqa: E402

# Legends longer than this many entries get another column (as in oncoae.report.figures).
_LEGEND_ROWS = 16

METHOD_TITLES = {
    "head": "classification head",
    "latent_lr": "logistic regression on the latent",
    "raw_lr": "logistic regression on the normalized features",
}


def _save(figure, path: Path) -> None:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=90, bbox_inches="tight", format="png")
    plt.close(figure)


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
    _save(figure, path)


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
    _save(type_scatter(np.asarray(held_out.obsm["X_umap"]), held_out.obs[label], label, title), path)


def _palette(n: int) -> list:
    if n <= 10:
        return list(plt.get_cmap("tab10").colors[:n])
    if n <= 20:
        return list(plt.get_cmap("tab20").colors[:n])
    # More types than tab20 has colours: tab20 then tab20b, distinguishable side by side.
    colours = list(plt.get_cmap("tab20").colors) + list(plt.get_cmap("tab20b").colors)
    return [colours[i] if i < len(colours) else plt.get_cmap("gist_ncar")(i / n) for i in range(n)]


def type_scatter(coordinates: np.ndarray, types: pd.Series, label: str, title: str):
    """2-D coordinates coloured by type (largest type first in the legend, 'n/a' grey and last); the legend with
    each type's count sits outside the axes to the right. Returns the figure."""
    text = types.astype(object).where(types.notna(), "n/a").astype(str).reset_index(drop=True)
    counts = text[text != "n/a"].value_counts()
    order = sorted(counts.index, key=lambda name: (-counts[name], name))
    size = float(np.clip(3000.0 / max(len(coordinates), 1), 4.0, 40.0))
    figure, axis = plt.subplots(figsize=(7.0, 5.2), layout="constrained")
    categories = [*order, *(["n/a"] if (text == "n/a").any() else [])]
    colours = [*_palette(len(order)), (0.75, 0.75, 0.75)]
    for category, colour in zip(categories, colours, strict=False):
        members = (text == category).to_numpy()
        axis.scatter(
            coordinates[members, 0],
            coordinates[members, 1],
            s=size,
            color=colour,
            label=f"{category} (n={int(members.sum())})",
            edgecolors="none",
            alpha=0.85,
        )
    axis.set_title(f"{title}: held-out tumors by {label}", fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_xlabel("UMAP 1", fontsize=8)
    axis.set_ylabel("UMAP 2", fontsize=8)
    for spine in axis.spines.values():
        spine.set_color("#bbbbbb")
    axis.legend(
        title=label,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        fontsize=8,
        title_fontsize=8,
        markerscale=max(1.0, 30.0 / size) ** 0.5,
        ncol=int(np.ceil(len(categories) / _LEGEND_ROWS)),
        handletextpad=0.3,
    )
    return figure
