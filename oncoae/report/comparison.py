"""The model comparison, split by question (subtypes, clusters, survival, reconstruction), and the summary's
best-model sentences. Cells are text: 'mean ± sd' over seeds, ★ the best per column, ≈ ties with it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from oncoae.evaluation.ranking import ModelChoice, Standing, choose_models, metric_statistics, tie_margin
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


def n_seeds(summary: pd.DataFrame) -> int:
    return int(summary["seed"].nunique()) if "seed" in summary and len(summary) else 0


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
            if abs(row["mean"] - means[best]) <= tie_margin(group.loc[best, "sd"], row["sd"]):
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


def _value_with_sd(standing: Standing, kind: str) -> str:
    text = mean_sd(standing.mean, standing.sd, standing.n, kind)
    if standing.n <= 1:
        return f"{text} (one seed)"
    if "±" not in text:
        return f"{text} (the same in all {standing.n} seeds)"
    return f"{text} (mean ± sd over {standing.n} seeds)"


def _descriptions(choice: ModelChoice) -> tuple[str, str]:
    """(the test figure's description, the validation figure's short name)."""
    if choice.metric == "ari":
        return f"held-out ARI vs {choice.label}", "validation ARI"
    return f"held-out C-index of a Cox model on its latents ({choice.label})", "validation C-index"


def best_model_sentence(choice: ModelChoice) -> str:
    """The summary's sentence for one question: the model chosen on validation tumors with its test figure, the
    models tied with it on validation, and the best model on test tumors as a reference."""
    kind = metric_info(choice.metric).kind
    description, validation_name = _descriptions(choice)
    test_best = f"{choice.test_best.model} ({description} = {_value_with_sd(choice.test_best, kind)})"
    if choice.chosen is None:
        return (
            "no validation tumors (split.fractions.val is 0), so no model is chosen; the best on test tumors, "
            f"a reference only since picking it would use held-out tumors: {test_best}"
        )
    sentence = (
        f"{choice.chosen}: {description} = {_value_with_sd(choice.test, kind)}; chosen on validation tumors "
        f"({validation_name} {mean_sd(choice.validation.mean, choice.validation.sd, choice.validation.n, kind)})"
    )
    if choice.tied:
        sentence += "; tied on validation within one seed sd: " + ", ".join(
            f"{s.model} ({FORMATTERS['score'](s.mean)})" for s in choice.tied
        )
    if choice.test_best.model == choice.chosen:
        return sentence + "; also the best on test tumors"
    return sentence + f"; the best on test tumors, a reference only: {test_best}"


def best_models(summary: pd.DataFrame, label: str | None, survival_label: str | None) -> list[tuple[str, str]]:
    """(question, sentence) pairs for the summary: the best model for subtypes and for survival, chosen on
    validation tumors (evaluation.ranking.choose_models)."""
    choices = choose_models(summary, {"subtypes": label, "survival": survival_label})
    return [(choice.question, best_model_sentence(choice)) for choice in choices]
