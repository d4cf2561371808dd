"""The model comparison, split by question (subtypes, clusters, survival, reconstruction), and the summary's
best-model sentences. Cells are text: 'mean ± sd' over seeds, ★ the best per column, ≈ ties with it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from oncoae.report.format import FORMATTERS, exact_name, mean_sd, metric_info, seeds_phrase

# Direction of "better" for each metric; metrics not listed are shown but never ranked.
HIGHER_IS_BETTER = {
    "ari": True,
    "nmi": True,
    "ami": True,
    "silhouette": True,
    "c_index": True,
    "c_index_head": True,
    "logrank_p": False,
    "logrank_p_permutation": False,
    "n_enriched": True,
    "reconstruction_error": False,
}
SUBTYPE_METRICS = ("ari", "nmi", "ami")
CLUSTER_METRICS = ("silhouette", "n_enriched")
SURVIVAL_METRICS = ("logrank_p", "logrank_p_permutation", "c_index", "c_index_head")
# A permutation p within this relative distance of 1/(permutations + 1) is at the floor.
_FLOOR_TOLERANCE = 1e-9


@dataclass
class MetricColumn:
    """One column: summary.tsv's (metric, label), the header a reader sees and its tooltip."""

    metric: str
    label: str
    name: str
    tooltip: str
    arrow: str = ""  # ↑ higher is better, ↓ lower is better

    @property
    def header(self) -> str:
        return f"{self.name}\u00a0{self.arrow}" if self.arrow else self.name

    @property
    def key(self) -> str:
        return exact_name(self.metric, self.label)


@dataclass
class ComparisonTable:
    """One question's table: models x columns of cell text (``frame``'s columns are the columns' keys)."""

    title: str
    columns: list[MetricColumn]
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def metric_statistics(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and number of seeds per (model, metric, label)."""
    frame = summary.copy()
    frame["label"] = frame["label"].fillna("")
    return frame.groupby(["model", "metric", "label"])["value"].agg(mean="mean", sd="std", n="count").reset_index()


def n_seeds(summary: pd.DataFrame) -> int:
    return int(summary["seed"].nunique()) if "seed" in summary and len(summary) else 0


def _seed_sd(*sds: float) -> float:
    """The seed-to-seed sd that decides a tie: the larger of the two models' (a deterministic baseline has 0)."""
    finite = [sd for sd in sds if not np.isnan(sd)]
    return max(finite) if finite else 0.0


def permutation_floors(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (model, label): the permutation log-rank floor 1/(permutations + 1) (the most permutations any seed
    ran) and whether every seed's permutation p sits at its floor (``saturated``): no permutation reached the
    observed statistic, so the p only bounds the true one from above."""
    frame = summary.assign(label=summary["label"].fillna(""))
    wide = frame[frame["metric"].isin(["logrank_p_permutation", "logrank_permutations"])].pivot_table(
        index=["model", "label", "seed"], columns="metric", values="value", aggfunc="first"
    )
    if wide.empty or not {"logrank_p_permutation", "logrank_permutations"} <= set(wide.columns):
        return pd.DataFrame(
            columns=["floor", "saturated"], index=pd.MultiIndex.from_tuples([], names=["model", "label"])
        )
    wide = wide.dropna(subset=["logrank_p_permutation", "logrank_permutations"])
    seed_floor = 1.0 / (wide["logrank_permutations"] + 1.0)
    at_floor = wide["logrank_p_permutation"] <= seed_floor * (1 + _FLOOR_TOLERANCE)
    grouped = pd.DataFrame({"floor": seed_floor, "at_floor": at_floor}).groupby(level=["model", "label"])
    return pd.DataFrame({"floor": grouped["floor"].min(), "saturated": grouped["at_floor"].all()})


def floor_text(floor: float) -> str:
    return f"≤ {FORMATTERS['p'](floor)} (floor)"


def _column_cells(
    group: pd.DataFrame, metric: str, saturated: pd.Series | None, floors: pd.Series | None
) -> tuple[dict[str, str], bool]:
    """Cell text per model for one (metric, label), and whether the best is withheld (saturated p)."""
    group = group.set_index("model")
    kind = metric_info(metric).kind
    higher = HIGHER_IS_BETTER.get(metric)
    means = group["mean"]
    best = None
    # A best needs a comparison: at least two models with a value.
    if higher is not None and means.notna().sum() > 1:
        best = means.idxmax() if higher else means.idxmin()
    withheld = best is not None and saturated is not None and bool(saturated.get(best, False))
    if withheld:
        best = None
    cells = {}
    for model, row in group.iterrows():
        if saturated is not None and bool(saturated.get(model, False)):
            cells[model] = floor_text(floors[model])
            continue
        text = mean_sd(row["mean"], row["sd"], int(row["n"]), kind)
        if best is not None and model == best:
            text = "★ " + text
        elif best is not None and not np.isnan(row["mean"]):
            if abs(row["mean"] - means[best]) <= _seed_sd(group.loc[best, "sd"], row["sd"]):
                text = "≈ " + text
        cells[model] = text
    return cells, withheld


def _column(metric: str, label: str, header: str | None = None) -> MetricColumn:
    info = metric_info(metric)
    higher = HIGHER_IS_BETTER.get(metric)
    arrow = "" if higher is None else ("↑" if higher else "↓")
    direction = "" if higher is None else ("; higher is better" if higher else "; lower is better")
    return MetricColumn(
        metric, label, header or info.header, f"{exact_name(metric, label)}: {info.description}{direction}", arrow
    )


def _labels_of(stats: pd.DataFrame, metrics) -> list[str]:
    return list(dict.fromkeys(stats.loc[stats["metric"].isin(metrics), "label"]))


def comparison_tables(summary: pd.DataFrame) -> list[ComparisonTable]:
    """The comparison as one table per question: subtypes (one per label), clusters, survival (one per survival
    label) and reconstruction (models that reconstruct); each a few columns wide."""
    stats = metric_statistics(summary)
    floors = permutation_floors(summary)
    seeds = n_seeds(summary)
    present = set(zip(stats["metric"], stats["label"], strict=True))
    layouts: list[tuple[str, list[MetricColumn], list[str]]] = []
    for label in _labels_of(stats, SUBTYPE_METRICS):
        layouts.append(
            (
                f"Subtypes: held-out clusters vs {label}",
                [_column(m, label) for m in SUBTYPE_METRICS if (m, label) in present],
                [
                    "Agreement of k-means clusters of held-out tumors (centroids fitted on training tumors) with the "
                    "known label."
                ],
            )
        )
    cluster_columns = [_column(m, "") for m in CLUSTER_METRICS if (m, "") in present]
    if cluster_columns:
        layouts.append(("Clusters", cluster_columns, []))
    for label in _labels_of(stats, SURVIVAL_METRICS):
        layouts.append(
            (
                f"Survival ({label})",
                [_column(m, label) for m in SURVIVAL_METRICS if (m, label) in present],
                ["Log-rank tests across held-out clusters; C-indices on held-out tumors."],
            )
        )
    modalities = _labels_of(stats, ["reconstruction_error"])
    if modalities:
        layouts.append(
            (
                "Reconstruction of held-out tumors",
                [_column("reconstruction_error", m, m) for m in modalities],
                [
                    "Per-tumor loss of each modality's likelihood (mean squared error, cross-entropy or negative "
                    "log-density), mean over held-out tumors that have the modality; autoencoders only, and only "
                    "comparable within a column."
                ],
            )
        )
    tables = []
    for title, columns, notes in layouts:
        data: dict[str, dict[str, str]] = {}
        notes = list(notes)
        for column in columns:
            group = stats[(stats["metric"] == column.metric) & (stats["label"] == column.label)]
            saturated = floor = None
            if column.metric == "logrank_p_permutation" and column.label in floors.index.get_level_values("label"):
                part = floors.xs(column.label, level="label")
                saturated, floor = part["saturated"].astype(bool), part["floor"]
            cells, withheld = _column_cells(group, column.metric, saturated, floor)
            data[column.key] = cells
            if saturated is not None and saturated.any():
                smallest = FORMATTERS["p"](float(floor[saturated].min()))
                notes.append(
                    "Permutation p at the floor: no permutation of the cluster labels reached the observed log-rank "
                    f"statistic, so p is the smallest the permutations can give, 1/(permutations + 1) (here "
                    f"{smallest}), and only bounds the true p from above"
                    + ("; models at the floor cannot be ranked, so none is marked best." if withheld else ".")
                )
        frame = pd.DataFrame(data, columns=[c.key for c in columns])
        frame = frame.dropna(how="all")
        frame.index.name = "model"
        notes.append(
            ("Held-out tumors, " + seeds_phrase(seeds) + "; a value without ± is the same in every seed. ")
            if seeds > 1
            else "Held-out tumors, one seed. "
        )
        notes[-1] += "summary.tsv names: " + ", ".join(f"{c.name} = {c.key}" for c in columns) + "."
        tables.append(ComparisonTable(title, columns, frame, notes))
    return tables


def _value_with_sd(row, n: int) -> str:
    text = mean_sd(row["mean"], row["sd"], n, metric_info(row["metric"]).kind)
    if n <= 1:
        return f"{text} (one seed)"
    if "±" not in text:
        return f"{text} (the same in all {n} seeds)"
    return f"{text} (mean ± sd over {n} seeds)"


def best_models(summary: pd.DataFrame, label: str | None, survival_label: str | None) -> list[tuple[str, str]]:
    """(question, sentence) pairs naming the best model for subtypes and for survival, with its sd over seeds
    and the models tied with it (difference within the larger of the two seed sds)."""
    stats = metric_statistics(summary)
    findings = []
    questions = [
        ("subtypes", "ari", label, f"held-out ARI vs {label}"),
        ("survival", "c_index", survival_label, f"held-out C-index of a Cox model on its latents ({survival_label})"),
    ]
    for question, metric, metric_label, description in questions:
        if metric_label is None:
            continue
        rows = stats[(stats["metric"] == metric) & (stats["label"] == metric_label)].dropna(subset=["mean"])
        if rows.empty:
            continue
        rows = rows.sort_values("mean", ascending=False)
        best = rows.iloc[0]
        sentence = f"{best['model']}: {description} = {_value_with_sd(best, int(best['n']))}"
        others = rows.iloc[1:]
        tied = others[[best["mean"] - r.mean <= _seed_sd(best["sd"], r.sd) for r in others.itertuples()]]
        if len(tied):
            sentence += "; tied within one seed sd: " + ", ".join(
                f"{r.model} ({FORMATTERS['score'](r.mean)})" for r in tied.itertuples()
            )
        findings.append((question, sentence))
    return findings
