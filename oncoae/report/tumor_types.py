"""The report's "Tumor types (held-out)" section, from evaluation/tumor_types/*.tsv and figures/tumor_types/
(rules/evaluate.smk; on only when evaluation.tumor_type is set). Tables are text cells, as the rest of the report:
mean ± sd over seeds in three significant figures, p-values in scientific notation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from oncoae.report.format import count, scientific, seeds_phrase, values_mean_sd
from oncoae.report.tables import corner_label

# How the report names the classification read-outs (method column of metrics.tsv, recall.tsv).
METHOD_LABELS = {
    "head": "classification head",
    "latent_lr": "logistic regression on the latent",
    "raw_lr": "logistic regression on the normalized features (reference)",
}
# The same, short, for column headers of the per-type recall table.
METHOD_SHORT = {"head": "head", "latent_lr": "LR on latent", "raw_lr": "LR on features"}
METHOD_ORDER = list(METHOD_LABELS)
CLASSIFICATION_METRICS = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "macro_f1": "macro-F1"}
KMEANS_METRICS = {"ari": "ARI", "nmi": "NMI", "ami": "AMI"}


def _seeds(frame: pd.DataFrame) -> int:
    return int(frame["seed"].nunique()) if "seed" in frame and len(frame) else 0


def _method_rank(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)


def classification_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Accuracy, balanced accuracy and macro-F1 (mean ± sd over seeds) per model and read-out, best balanced
    accuracy first."""
    rows = metrics[metrics["method"].isin(METHOD_LABELS) & metrics["metric"].isin(CLASSIFICATION_METRICS)]
    if rows.empty:
        return pd.DataFrame()
    grouped = rows.groupby(["model", "method", "metric"], sort=False)["value"]
    text = grouped.apply(values_mean_sd).unstack("metric")
    order = grouped.mean().unstack("metric")["balanced_accuracy"].sort_values(ascending=False, kind="stable")
    table = text.reindex(index=order.index, columns=list(CLASSIFICATION_METRICS)).rename(columns=CLASSIFICATION_METRICS)
    table = table.reset_index()
    table.columns.name = None
    table["method"] = table["method"].map(METHOD_LABELS)
    return table.rename(columns={"method": "read-out"})


def classification_counts(metrics: pd.DataFrame) -> tuple[str, str]:
    """The held-out tumors and types scored (n_test, n_types; a range should read-outs differ)."""

    def spread(metric: str) -> str:
        values = metrics.loc[metrics["metric"] == metric, "value"].dropna()
        if values.empty:
            return "n/a"
        low, high = values.min(), values.max()
        return f"{int(low):,}" if low == high else f"{int(low):,}–{int(high):,}"

    return spread("n_test"), spread("n_types")


def kmeans_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """k-means with k = the number of training types against the type: k, ARI, NMI, AMI per model (mean ± sd
    over seeds), best ARI first."""
    rows = metrics[metrics["method"] == "kmeans"]
    if rows.empty:
        return pd.DataFrame()
    grouped = rows.groupby(["model", "metric"], sort=False)["value"]
    text = grouped.apply(values_mean_sd).unstack("metric")
    if "k" in text:
        text["k"] = grouped.mean().unstack("metric")["k"].map(count)
    order = grouped.mean().unstack("metric").get("ari", pd.Series(0.0, index=text.index))
    columns = [c for c in ("k", *KMEANS_METRICS) if c in text]
    table = text.reindex(index=order.sort_values(ascending=False, kind="stable").index, columns=columns)
    return corner_label(table.rename(columns=KMEANS_METRICS), "model")


def recall_table(recall: pd.DataFrame) -> pd.DataFrame:
    """Per-type recall (mean ± sd over seeds): types in the file's order (largest held-out type first) x (model,
    read-out), with each type's held-out count."""
    if recall.empty:
        return pd.DataFrame()
    types = list(dict.fromkeys(recall["type"]))
    # Each model's read-outs side by side (its head before its latent), the reference on the features last.
    pairs = list(dict.fromkeys(zip(recall["model"], recall["method"], strict=True)))
    models = list(dict.fromkeys(recall["model"]))
    pairs.sort(key=lambda pair: (pair[1] == "raw_lr", models.index(pair[0]), _method_rank(pair[1])))
    table = recall.groupby(["type", "model", "method"], sort=False)["recall"].apply(values_mean_sd)
    out = pd.DataFrame(index=pd.Index(types, name="type"))
    out["held-out tumors"] = recall.groupby("type", sort=False)["n_test"].max().reindex(types).map(count)
    for model, method in pairs:
        column = f"{model} ({METHOD_SHORT.get(method, method)})"
        out[column] = [table.get((name, model, method), "–") for name in types]
    return corner_label(out, "type")


WITHIN_TYPE_HEADERS = {
    "type": "type",
    "model": "model",
    "seed": "seed",
    "k": "k",
    "n_train": "training tumors",
    "n_test": "held-out tumors",
    "cluster_sizes": "held-out tumors per cluster",
    "n_test_evaluable": "held-out with survival",
    "n_events": "events",
    "logrank_p": "log-rank p (asymptotic)",
    "logrank_p_permutation": "log-rank p (permutation)",
}


def within_type_table(within: pd.DataFrame) -> pd.DataFrame:
    """Subtypes within a type, one row per type and model (and seed, with more than one): k, tumors, events and
    the log-rank p across the held-out clusters."""
    if within.empty:
        return pd.DataFrame()
    columns = [c for c in WITHIN_TYPE_HEADERS if c in within and (c != "seed" or _seeds(within) > 1)]
    table = within[columns].copy()
    for column in ("k", "n_train", "n_test", "n_test_evaluable", "n_events"):
        if column in table:
            table[column] = table[column].map(count)
    for column in ("logrank_p", "logrank_p_permutation"):
        if column in table:
            table[column] = table[column].map(scientific)
    if "cluster_sizes" in table:  # empty (read back as NaN) where the type had too few tumors to cluster
        table["cluster_sizes"] = table["cluster_sizes"].map(
            lambda sizes: sizes if isinstance(sizes, str) and sizes else "n/a"
        )
    return table.rename(columns=WITHIN_TYPE_HEADERS)


def confusion_order(plan: Mapping[str, Sequence[str]]) -> list[str]:
    """Confusion figure names in reading order: classification heads first, then the latents' logistic
    regressions, then the reference on the normalized features (the plan's order within each)."""
    names = list(plan)
    return sorted(names, key=lambda name: (_method_rank(plan[name][1]), names.index(name)))


def tumor_type_items(
    label: str,
    tables: Mapping[str, str | Path],
    confusion_plan: Mapping[str, Sequence[str]],
    figure_dir: str | Path,
    models: Sequence[str],
    seeds: Sequence[int],
) -> list:
    """The section's tables and figures, in order: classification, k-means, per-type recall, confusion matrices
    (heads first), UMAPs by type, subtypes within a type."""
    from oncoae.report.html import Details, Figure, Table

    def read(name: str) -> pd.DataFrame:
        path = tables.get(name)
        return pd.read_csv(path, sep="\t") if path and Path(path).exists() else pd.DataFrame()

    metrics, recall, within = read("metrics"), read("recall"), read("within_type")
    over = seeds_phrase(_seeds(metrics) or len(seeds))
    first_seed = f"seed {min(seeds)}" + (f", the first of {len(seeds)}" if len(seeds) > 1 else "")
    n_test, n_types = classification_counts(metrics)
    items: list = []
    classification = classification_table(metrics) if not metrics.empty else pd.DataFrame()
    if not classification.empty:
        items.append(
            Table(
                f"Classification of {label}",
                classification,
                f"{n_test} held-out tumors with a known {label}, {n_types} types; {over}. Logistic regressions "
                "are fitted on training tumors only; balanced accuracy is the mean recall over the types, macro-F1 "
                "the mean F1. Best balanced accuracy first.",
                index=False,
                text_columns=2,
            )
        )
    kmeans = kmeans_table(metrics) if not metrics.empty else pd.DataFrame()
    if not kmeans.empty:
        items.append(
            Table(
                "k-means with k = number of types",
                kmeans,
                f"k-means fitted on training latents with k = the number of {label} values among training tumors, "
                f"held-out tumors assigned to its centroids and compared with {label}; {over}.",
            )
        )
    recalls = recall_table(recall)
    if not recalls.empty:
        items.append(
            Table(
                f"Recall per {label}",
                recalls,
                f"Share of each type's held-out tumors predicted as that type; {over}. Largest type first. LR: "
                "logistic regression; head: the autoencoder's classification head.",
            )
        )
    figure_dir = Path(figure_dir)
    confusions = []
    for name in confusion_order(confusion_plan):
        model, method = confusion_plan[name]
        path = figure_dir / f"confusion_{name}.png"
        if path.exists():
            confusions.append(
                Figure(
                    f"confusion {name}",
                    path,
                    f"{model}, {METHOD_LABELS.get(method, method)}: held-out tumors by true (rows) and predicted "
                    f"{label} (columns), {first_seed}; colour is the share of the true type.",
                )
            )
    # The first (a classification head where there is one) open, the others one click away: each is page-wide.
    items += confusions[:1]
    if len(confusions) > 1:
        items.append(Details(f"{len(confusions) - 1} more confusion matrices", items=confusions[1:]))
    for model in models:
        path = figure_dir / f"umap_{model}.png"
        if path.exists():
            items.append(Figure(f"umap {model}", path, f"{model}: UMAP of held-out latents by {label} ({first_seed})."))
    subtypes = within_type_table(within)
    if not subtypes.empty:
        items.append(
            Table(
                "Subtypes within a type",
                subtypes,
                "k-means on one type's training latents (k configured, or by silhouette), its held-out tumors "
                "assigned to the centroids; log-rank test across those clusters on the held-out tumors with usable "
                "survival, asymptotic and by label permutation.",
                index=False,
                text_columns=2,
            )
        )
    return items
