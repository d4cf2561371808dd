"""The report's "Which features drive the latent" section, from attribution/<model>/ (rules/attribute.smk): per
attributed autoencoder its figure, the top features of each cluster and of each supervised head, and for the
simulator the check against its ground truth (validation.tsv)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from oncoae.report.format import count, seeds_phrase, significant, values_mean_sd

# validation.tsv methods, in the order the report shows them.
VALIDATION_METHODS = {
    "integrated_gradients": "integrated gradients",
    "gradient_x_input": "gradient × input",
    "pca_loadings": "PCA loadings",
    # Zero-width spaces: the header may break after an underscore.
    "rank_genes_groups": "rank_\u200bgenes_\u200bgroups",
}
VALIDATION_TARGETS = {"subtype_signal": "subtype signal (clusters)", "risk_program": "risk program (Cox head)"}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t") if path.exists() else pd.DataFrame()


def _first_seed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["seed"] == frame["seed"].min()] if len(frame) else frame


def _top_lists(rows: pd.DataFrame, group: str, effect: str, n_top: int) -> pd.DataFrame:
    """``group`` x modality cells of 'feature (effect)' for the ``n_top`` best-ranked features of each."""
    rows = rows.sort_values([group, "modality", "rank"], kind="stable")
    rows = rows.groupby([group, "modality"], sort=False).head(n_top)
    rows = rows.assign(
        text=rows["feature"].astype(str) + " (" + rows[effect].map(lambda v: significant(v, sign=True)) + ")"
    )
    table = rows.groupby([group, "modality"], sort=False)["text"].apply(", ".join).unstack("modality")
    table.columns.name = None
    return table.fillna("–")


def cluster_features_table(clusters: pd.DataFrame, n_top: int = 5) -> pd.DataFrame:
    """First seed: each cluster's ``n_top`` features per modality, by attribution along its centroid, with the
    mean difference (cluster minus rest, normalized units) in brackets."""
    rows = _first_seed(clusters)
    if rows.empty:
        return pd.DataFrame()
    sizes = rows.groupby("cluster")["n_in_cluster"].first()
    table = _top_lists(rows[rows["n_in_cluster"] > 0], "cluster", "mean_difference", n_top)
    # A cluster no held-out tumor falls in has nothing to attribute (its scores are all 0).
    table = table.reindex(sizes.index).astype(object)
    table.loc[sizes.index[sizes <= 0]] = "no held-out tumors"
    table.index = [f"cluster {c} (n={count(sizes[c])})" for c in table.index]
    return table.fillna("–")


def _head_name(head: str) -> str:
    if head == "risk":
        return "Cox risk score"
    return f"class {head.removeprefix('class:')}" if head.startswith("class:") else head


def head_features_table(heads: pd.DataFrame, n_top: int = 5) -> pd.DataFrame:
    """First seed: each head's ``n_top`` features per modality by mean |attribution|, with the signed mean in
    brackets (positive: raises the head's score on average)."""
    rows = _first_seed(heads)
    if rows.empty:
        return pd.DataFrame()
    table = _top_lists(rows, "head", "mean_signed", n_top)
    table.index = [_head_name(h) for h in table.index]
    return table


def validation_table(validation: pd.DataFrame) -> pd.DataFrame:
    """Ground truth: precision@k and AUROC (mean ± sd over seeds) per target and feature scope (all, then each
    modality) for the attributions and the two comparators."""
    if validation.empty:
        return pd.DataFrame()
    frame = validation.copy()
    scopes = list(dict.fromkeys(frame["modality"]))
    frame["scope"] = [
        f"{'all' if m == 'all' else m} ({count(t)} of {count(n)} true)"
        for m, t, n in zip(frame["modality"], frame["n_true"], frame["n_features"], strict=True)
    ]
    k = count(frame["k"].max())
    pieces = {}
    for metric, header in (("precision_at_k", f"precision@{k}"), ("auroc", "AUROC")):
        cells = frame.groupby(["target", "modality", "scope", "method"], sort=False)[metric].apply(values_mean_sd)
        wide = cells.unstack("method")
        methods = [m for m in VALIDATION_METHODS if m in wide.columns] + [
            m for m in wide.columns if m not in VALIDATION_METHODS
        ]
        pieces[header] = wide[methods].rename(columns=VALIDATION_METHODS)
    table = pd.concat(pieces, axis=1)
    targets = [t for t in VALIDATION_TARGETS if t in frame["target"].unique()] + [
        t for t in frame["target"].unique() if t not in VALIDATION_TARGETS
    ]
    order = sorted(
        table.index, key=lambda key: (targets.index(key[0]), scopes.index(key[1]) if key[1] in scopes else 99)
    )
    table = table.reindex(order).droplevel("modality")
    table.index = table.index.set_levels([VALIDATION_TARGETS.get(t, t) for t in table.index.levels[0]], level=0)
    # No index or column names: pandas would give each its own header row.
    table.index.names = [None, None]
    table.columns.names = [None, None]
    return table


def attribution_items(
    models: Sequence[str],
    folder: str | Path,
    seeds: Sequence[int],
    method: str = "integrated_gradients",
    n_top: int = 5,
) -> list:
    """Per attributed model: figure, cluster table, head table, and validation table where there is one."""
    from oncoae.report.html import Figure, Table

    folder = Path(folder)
    first = f"seed {min(seeds)}" + (f", the first of {len(seeds)}" if len(seeds) > 1 else "")
    how = VALIDATION_METHODS.get(method, method)
    items: list = []
    for model in models:
        own = folder / model
        heads_frame = _read(own / "heads.tsv")
        figure = own / "top_features.png"
        if figure.exists():
            items.append(
                Figure(
                    f"{model} top features",
                    figure,
                    f"{model}: {how} on held-out tumors ({first}) from the training-mean baseline: each cluster's "
                    "score (attribution along its centroid direction, cluster minus rest)"
                    + (
                        "; right, the Cox risk score's features." if "risk" in set(heads_frame.get("head", [])) else "."
                    ),
                )
            )
        clusters = cluster_features_table(_read(own / "clusters.tsv"), n_top)
        if not clusters.empty:
            items.append(
                Table(
                    f"{model}: features driving each cluster",
                    clusters,
                    f"Top {n_top} per cluster and modality by attribution along the cluster's centroid direction "
                    f"({first}); in brackets the feature's mean in the cluster minus the rest (normalized units). "
                    f"Every feature: attribution/{model}/clusters.tsv.",
                    text=True,
                )
            )
        heads = head_features_table(heads_frame, n_top)
        if not heads.empty:
            items.append(
                Table(
                    f"{model}: features driving the supervised heads",
                    heads,
                    f"Top {n_top} per head and modality by mean |attribution| over held-out tumors ({first}); in "
                    "brackets the signed mean (positive: the feature raises the head's output on average). "
                    f"attribution/{model}/heads.tsv.",
                    text=True,
                )
            )
        validation = _read(own / "validation.tsv")
        table = validation_table(validation) if not validation.empty else pd.DataFrame()
        if not table.empty:
            n_seeds = int(validation["seed"].nunique())
            items.append(
                Table(
                    f"{model}: attributions against the simulator's ground truth",
                    table,
                    "How well each ranking of the features finds the simulator's true features, "
                    f"{seeds_phrase(n_seeds)}: precision among the top k and AUROC over every feature of the scope. "
                    "Subtype-signal features "
                    "are ranked by the largest |cluster score|, risk-program features by the Cox head's mean "
                    "|attribution|; the comparators are the loadings of a PCA on the training tumors and scanpy's "
                    f"rank_genes_groups on the held-out tumors. The workflow's attributions use {how}. n/a: a "
                    "scope without true features.",
                    nowrap=True,
                )
            )
    return items
