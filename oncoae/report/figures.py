"""Figures of one run: latent UMAPs, Kaplan-Meier curves per cluster, training curves, the model comparison's
bars; file names from ``figure_files``."""

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
from oncoae.report import figure_files  # noqa: E402
from oncoae.report.format import metric_info, seeds_phrase  # noqa: E402

log = logging.getLogger(__name__)


def subplots(*args, **kwargs):
    """``pyplot.subplots`` on the headless Agg backend (this module selects it): (figure, axes)."""
    return plt.subplots(*args, **kwargs)


def save_figure(figure, path: Path) -> None:
    """Write ``figure`` as PNG atomically, then close it (matplotlib keeps every open figure in memory)."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=90, bbox_inches="tight", format="png")
    plt.close(figure)


def _categories(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """``values`` as text with missing ones as 'n/a', and their categories in reading order: numbers
    numerically, text alphabetically, 'n/a' last."""
    if pd.api.types.is_float_dtype(values) and bool((values.dropna() % 1 == 0).all()):
        values = values.astype("Int64")  # cluster numbers that became floats beside missing ones
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    text = text.replace({"nan": MISSING, "None": MISSING, "<NA>": MISSING})
    present = [c for c in pd.unique(text) if c != MISSING]

    def key(category: str):
        try:
            return (0, float(category), "")
        except ValueError:
            return (1, 0.0, category)

    ordered = sorted(present, key=key)
    return text, ordered + ([MISSING] if (text == MISSING).any() else [])


def category_palette(n: int) -> list:
    """``n`` colours that can be told apart side by side (tab10, tab20, then tab20 + tab20b: 29 cancer types)."""
    if n <= 10:
        return list(plt.get_cmap("tab10").colors[:n])
    if n <= 20:
        return list(plt.get_cmap("tab20").colors[:n])
    colours = list(plt.get_cmap("tab20").colors) + list(plt.get_cmap("tab20b").colors)
    return [colours[i] if i < len(colours) else plt.get_cmap("gist_ncar")(i / n) for i in range(n)]


MISSING = "n/a"
# Legends longer than this many entries get another column.
_LEGEND_ROWS = 16


def scatter_panels(coordinates: np.ndarray, colorings: Mapping[str, pd.Series], title: str):
    """One scatter per colouring of the same 2-D coordinates, side by side; each panel's legend (full category
    names and their counts) sits outside it to the right, and constrained layout keeps it clear of the next
    panel. Returns the matplotlib figure."""
    figure = plt.figure(figsize=(5.4 * len(colorings), 4.2), layout="constrained")
    axes = figure.subplots(1, len(colorings), squeeze=False)[0]
    for axis, (name, values) in zip(axes, colorings.items(), strict=True):
        text, categories = _categories(pd.Series(values).reset_index(drop=True))
        draw_categories(axis, coordinates, text, categories, f"{title}: {name}", name)
    return figure


def draw_categories(
    axis, coordinates: np.ndarray, text: pd.Series, categories: list[str], title: str, legend: str, min_size=6.0
) -> None:
    """2-D points coloured by category (``text`` per point; 'n/a' grey), the legend with each category's count
    outside the axes to the right, in more columns when long, so no panel paints over it."""
    size = float(np.clip(3000.0 / max(len(coordinates), 1), min_size, 40.0))
    colours = category_palette(len([c for c in categories if c != MISSING]))
    for category, colour in zip(categories, [*colours, (0.75, 0.75, 0.75)], strict=False):
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
    axis.set_title(title, fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_xlabel("UMAP 1", fontsize=8)
    axis.set_ylabel("UMAP 2", fontsize=8)
    for spine in axis.spines.values():
        spine.set_color("#bbbbbb")
    axis.legend(
        title=legend,
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


def neighbour_method(latent: np.ndarray) -> str:
    """scanpy's neighbour weights for a latent UMAP: the Gaussian kernel ("gauss"), unless tumors share a latent.

    The Gaussian kernel is as informative for a figure as UMAP's fuzzy simplicial sets and spares ~10 s of numba
    compilation in every figure job. But its width for a tumor is the median distance to its neighbours: where
    tumors share a latent (identical mutation calls in a mutation-only model) that width is 0, the weights are
    NaN, and the layout collapses to a few points. UMAP's own weights ("umap") handle distance 0, so latents
    with identical rows use them (as the tumor-type UMAPs do); continuous latents have none and keep "gauss".
    """
    latent = np.asarray(latent)
    if len(latent) < 2:
        return "gauss"
    return "umap" if len(np.unique(latent, axis=0)) < len(latent) else "gauss"


def umap_figure(
    adata: ad.AnnData, clusters: pd.Series, labels: Sequence[str], title: str, path: Path, seed: int = 0
) -> None:
    """UMAP (scanpy) of held-out latents, coloured by each label and by cluster."""
    import scanpy as sc

    from oncoae.warnings_filters import silence_scanpy_noise

    held_out = adata[adata.obs["split"] == "test"].copy()
    n_neighbors = max(2, min(15, held_out.n_obs - 1))
    method = neighbour_method(np.asarray(held_out.obsm["X_latent"]))
    sc.pp.neighbors(held_out, use_rep="X_latent", n_neighbors=n_neighbors, random_state=seed, method=method)
    silence_scanpy_noise()
    sc.tl.umap(held_out, random_state=seed)
    colorings = {label: held_out.obs[label] for label in labels if label in held_out.obs}
    colorings["cluster"] = clusters.reindex(held_out.obs_names)
    save_figure(scatter_panels(np.asarray(held_out.obsm["X_umap"]), colorings, title), path)


def kaplan_meier_figure(
    obs: pd.DataFrame, clusters: pd.Series, time_column: str, event_column: str, title: str, path: Path
) -> None:
    """``kaplan_meier_plot`` saved as a PNG."""
    save_figure(kaplan_meier_plot(obs, clusters, time_column, event_column, title), path)


def kaplan_meier_plot(obs: pd.DataFrame, clusters: pd.Series, time_column: str, event_column: str, title: str):
    """Kaplan-Meier curves per cluster on held-out tumors, with numbers at risk; the y-axis spans 0 to 1. The
    legend gives each cluster's held-out tumors, how many of them lack survival data (the curves and numbers at
    risk leave those out) and how many have time 0 (counted out of the numbers at risk from the first tick)."""
    from lifelines import KaplanMeierFitter
    from lifelines.plotting import add_at_risk_counts

    held_out = obs[obs["split"] == "test"]
    groups = clusters.reindex(held_out.index)
    figure, axis = plt.subplots(figsize=(4.6, 4.0))
    fitters, handles, names = [], [], []
    cluster_text, order = _categories(groups)
    cluster_text.index = held_out.index
    for cluster in order:
        if cluster == MISSING:
            continue
        members = held_out[cluster_text == cluster]
        usable = members[[time_column, event_column]].dropna()
        if len(usable) == 0:
            continue
        fitter = KaplanMeierFitter(label=f"cluster {cluster}")
        fitter.fit(usable[time_column], usable[event_column])
        fitter.plot_survival_function(ax=axis, ci_show=False)
        fitters.append(fitter)
        handles.append(axis.get_lines()[-1])
        notes = []
        if len(members) > len(usable):
            notes.append(f"{len(members) - len(usable)} without survival data")
        at_zero = int((usable[time_column] <= 0).sum())
        if at_zero:
            notes.append(f"{at_zero} at time 0")
        names.append(f"cluster {cluster} (n={len(members)}" + "".join(f",\n{note}" for note in notes) + ")")
    # Survival probability on its whole range, 0 to 1; curves start at 1, so the top edge must not clip them.
    axis.set_ylim(0.0, 1.0)
    for line in axis.get_lines():
        line.set_clip_on(False)
    if fitters:
        axis.legend(handles, names, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)
        add_at_risk_counts(*fitters, ax=axis, rows_to_show=["At risk"])
    elif axis.get_legend() is not None:
        axis.get_legend().remove()
    axis.set_title(title)
    axis.set_xlabel(f"days ({time_column})")
    axis.set_ylabel("survival probability")
    return figure


# One colour and line style per seed, so that seeds stay apart where their curves cross.
_SEED_STYLES = ("-", "--", ":", "-.")


def training_curves_figure(histories: Mapping[int, pd.DataFrame], title: str, path: Path) -> None:
    """``training_curves_plot`` saved as a PNG."""
    save_figure(training_curves_plot(histories, title), path)


def training_curves_plot(histories: Mapping[int, pd.DataFrame], title: str):
    """Train loss and val loss per epoch side by side (same y scale), one colour and line style per seed."""
    figure, axes = plt.subplots(1, 2, figsize=(6.2, 3.2), sharey=True, layout="constrained")
    colours = category_palette(max(len(histories), 1))
    for index, (seed, history) in enumerate(histories.items()):
        for axis, column in zip(axes, ("train_loss", "val_loss"), strict=True):
            if column in history:
                values = history[["epoch", column]].dropna()
                axis.plot(
                    values["epoch"],
                    values[column],
                    _SEED_STYLES[index % len(_SEED_STYLES)],
                    color=colours[index % len(colours)],
                    linewidth=1.4,
                    label=f"seed {seed}",
                )
    for axis, name in zip(axes, ("training tumors", "validation tumors"), strict=True):
        axis.set_title(name, fontsize=10)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("loss: reconstruction, plus KL and heads where used", fontsize=8)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)
    figure.suptitle(title)
    return figure


def metric_bars_figure(summary: pd.DataFrame, metric: str, label: str, path: Path) -> None:
    """Mean ± sd over seeds of one metric, one bar per model (the value itself for one seed)."""
    rows = summary[(summary["metric"] == metric) & (summary["label"].fillna("") == label)]
    stats = rows.groupby("model")["value"].agg(["mean", "std"]).sort_values("mean")
    seeds = int(rows["seed"].nunique()) if "seed" in rows else 1
    figure, axis = plt.subplots(figsize=(6, 0.3 * len(stats) + 1.2))
    error = np.nan_to_num(stats["std"]) if seeds > 1 else None
    axis.barh(stats.index, stats["mean"], xerr=error, color="#4c72b0")
    name = metric_info(metric).header
    axis.set_xlabel(f"{name}, {label}" if label else name)
    axis.set_title(f"held-out tumors, {seeds_phrase(seeds)}")
    save_figure(figure, path)


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
    save_figure(figure, path)


def k_curve_figure(k_selection: pd.DataFrame, title: str, path: Path) -> None:
    """Silhouette of k-means on training latents against k, mean over seeds, one line per model; the k used
    for clustering is marked."""
    figure, axis = plt.subplots(figsize=(7.5, 4), layout="constrained")
    seeds = int(k_selection["seed"].nunique()) if "seed" in k_selection else 1
    for model, rows in k_selection.groupby("model", sort=False):
        curve = rows.groupby("k")["silhouette"].mean()
        (line,) = axis.plot(curve.index, curve.to_numpy(), marker=".", label=model)
        chosen = rows.loc[rows["chosen"].astype(bool), "k"]
        if len(chosen):
            k = int(chosen.mode().iloc[0])
            axis.plot([k], [curve.get(k, np.nan)], "o", markersize=9, fillstyle="none", color=line.get_color())
    axis.set_xlabel("k (k-means on training latents)")
    axis.set_ylabel("silhouette, training tumors" + (f" (mean over {seeds} seeds)" if seeds > 1 else ""))
    axis.set_title(title)
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    save_figure(figure, path)


def contribution_figure(contributions: pd.DataFrame, metric: str, label: str, path: Path) -> None:
    """Drop of a held-out metric when each modality is masked, mean ± sd over seeds, per multi-modal model."""
    rows = contributions[(contributions["metric"] == metric) & (contributions["label"] == label)]
    seeds = int(rows["seed"].nunique()) if "seed" in rows else 1
    stats = rows.groupby(["model", "modality"])["drop"].agg(["mean", "std"]).reset_index()
    models, modalities = list(dict.fromkeys(stats["model"])), list(dict.fromkeys(stats["modality"]))
    figure, axis = plt.subplots(figsize=(2.5 + 1.4 * len(models), 4), layout="constrained")
    width = 0.8 / max(1, len(modalities))
    for index, modality in enumerate(modalities):
        part = stats[stats["modality"] == modality].set_index("model").reindex(models)
        positions = np.arange(len(models)) + index * width
        error = np.nan_to_num(part["std"]) if seeds > 1 else None
        axis.bar(positions, part["mean"], width, yerr=error, label=modality)
    axis.set_xticks(np.arange(len(models)) + width * (len(modalities) - 1) / 2, models, rotation=30, ha="right")
    axis.axhline(0, color="black", linewidth=0.6)
    axis.set_ylabel(f"drop in {metric_info(metric).header}, {label},\nwithout the modality", fontsize=9)
    axis.set_title(f"leave-one-modality-out, held-out tumors, {seeds_phrase(seeds)}", fontsize=9)
    axis.legend(fontsize=7, title="masked", title_fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    save_figure(figure, path)


def comparison_figures(summary: pd.DataFrame, labels: Sequence[str], survival: Mapping | None, out: Path) -> None:
    """figures/comparison/: held-out ARI per known label and the latent Cox C-index, one bar per model."""
    out.mkdir(parents=True, exist_ok=True)
    for label in labels:
        metric_bars_figure(summary, "ari", label, figure_files.figure_file(out, figure_files.ARI_BARS, label))
    if survival:
        time = survival["time"]
        metric_bars_figure(summary, "c_index", time, figure_files.figure_file(out, figure_files.C_INDEX_BARS, time))


def group_figures(
    group: str,
    latents: Mapping[str, str | Path],
    clusters_path: str | Path,
    k_selection_path: str | Path,
    contributions_path: str | Path,
    histories: Mapping[str, Sequence[str | Path]],
    seeds: Sequence[int],
    labels: Sequence[str],
    survival: Mapping | None,
    umap_seed: int,
    out: Path,
) -> None:
    """figures/<group>/ of one group of models: per model (``latents``: its first seed's latent file) a UMAP,
    contingency heatmaps and Kaplan-Meier curves of held-out tumors; training curves of every seed (``histories``:
    history files by model, in the order of ``seeds``); the group's silhouette-by-k curve and modality
    contributions."""
    out.mkdir(parents=True, exist_ok=True)
    all_assignments = pd.read_csv(clusters_path, sep="\t", dtype={"sample": str})
    for model, latent_path in latents.items():
        adata = ad.read_h5ad(latent_path)
        assignments = all_assignments[all_assignments["model"] == model]
        first_seed = assignments["seed"].min()
        clusters = assignments[assignments["seed"] == first_seed].set_index("sample")["cluster"]
        n_held_out = int((adata.obs["split"] == "test").sum())
        if n_held_out < 5:
            # e.g. a protein-only model when held-out tumors have no protein data: nothing to draw.
            log.warning(
                "%s: only %d held-out tumors have its modalities; no UMAP or Kaplan-Meier figure", model, n_held_out
            )
            continue
        umap_path = figure_files.figure_file(out, figure_files.UMAP, model)
        umap_figure(adata, clusters, labels, model, umap_path, seed=umap_seed)
        held_out_clusters = clusters.reindex(adata.obs_names[adata.obs["split"] == "test"])
        for label in labels:
            contingency_figure(
                held_out_clusters,
                adata.obs[label],
                f"{model}: held-out clusters x {label}",
                figure_files.figure_file(out, figure_files.CONTINGENCY, model, label),
            )
        if survival:
            kaplan_meier_figure(
                adata.obs,
                clusters,
                survival["time"],
                survival["event"],
                f"{model}: held-out tumors by cluster",
                figure_files.figure_file(out, figure_files.KAPLAN_MEIER, model),
            )
        log.info("figures for %s", model)
    for model, paths in histories.items():
        curves = {seed: pd.read_csv(path, sep="\t") for seed, path in zip(seeds, paths, strict=True)}
        path = figure_files.figure_file(out, figure_files.TRAINING_CURVES, model)
        training_curves_figure(curves, f"{model}: training curves", path)
    k_selection = pd.read_csv(k_selection_path, sep="\t")
    if not k_selection.empty:
        k_curve_figure(k_selection, f"{group}: choice of k", figure_files.figure_file(out, figure_files.K_CURVE))
    contributions = pd.read_csv(contributions_path, sep="\t")
    for (metric, label), _rows in contributions.groupby(["metric", "label"]):
        path = figure_files.figure_file(out, figure_files.CONTRIBUTION, metric, label)
        contribution_figure(contributions, metric, label, path)
