"""Report tables from the run's tidy result files (pure pandas; one row per model unless said otherwise)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncoae.report.comparison import floor_text, permutation_floors
from oncoae.report.format import count, metric_info, scientific, significant, values_mean_sd


def corner_label(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """``frame`` with its row labels named ``name`` in the header's corner (no extra header row for the index
    name, as pandas draws one for ``index.name``); the labels stay row headers, which never wrap mid-word."""
    frame = frame.copy()
    frame.index.name = None
    frame.columns.name = name
    return frame


def _n_seeds(frame: pd.DataFrame) -> int:
    return int(frame["seed"].nunique()) if "seed" in frame and len(frame) else 0


def per_seed_values(summary: pd.DataFrame, metric: str, label: str) -> pd.DataFrame:
    """Each seed's value of one metric (three significant figures): models x seeds, for the report's "every
    seed" table."""
    rows = summary[(summary["metric"] == metric) & (summary["label"].fillna("") == label)]
    table = rows.pivot_table(index="model", columns="seed", values="value", aggfunc="first")
    table.columns = [f"seed {c}" for c in table.columns]
    return table.map(significant)


def survival_table(summary: pd.DataFrame, time_label: str) -> pd.DataFrame:
    """Log-rank p (asymptotic and by permutation, median over seeds; a permutation p at its floor written as
    such) and the C-index with its bootstrap interval (means over seeds) per model."""
    rows = summary[summary["label"].fillna("") == time_label]
    wide = rows.pivot_table(index=["model", "seed"], columns="metric", values="value", aggfunc="first")
    out = pd.DataFrame(index=wide.index.get_level_values("model").unique())
    grouped = wide.groupby(level="model")
    seeds = _n_seeds(rows)
    median = f", median over {seeds} seeds" if seeds > 1 else ""
    mean = f", mean over {seeds} seeds" if seeds > 1 else ""
    if "logrank_p" in wide:
        out[f"log-rank p, asymptotic{median}"] = grouped["logrank_p"].median().map(scientific)
    if "logrank_p_permutation" in wide:
        column = f"log-rank p, permutation{median}"
        out[column] = grouped["logrank_p_permutation"].median().map(scientific)
        floors = permutation_floors(rows)
        if len(floors):
            floors = floors.xs(time_label, level="label")
            for model in floors.index[floors["saturated"].astype(bool)]:
                out.loc[model, column] = floor_text(floors.loc[model, "floor"])
        out["permutations run" + (" (most in a seed)" if seeds > 1 else "")] = (
            grouped["logrank_permutations"].max().map(count)
        )
    if "c_index" in wide:
        means = grouped[["c_index", "c_index_low", "c_index_high"]].mean()
        out[f"C-index [bootstrap interval]{mean}"] = [
            f"{significant(r.c_index)} [{significant(r.c_index_low)}, {significant(r.c_index_high)}]"
            for r in means.itertuples()
        ]
    if "c_index_head" in wide:
        out["C-index of the Cox head" + (f" ({'mean ± sd' if seeds > 1 else 'one seed'})")] = grouped[
            "c_index_head"
        ].apply(lambda v: "–" if v.isna().all() else values_mean_sd(v))
    out.index.name = "model"
    return out


def contribution_table(contributions: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of each metric's drop when a modality is masked: (model, modality) x metric."""
    if contributions.empty:
        return pd.DataFrame()
    frame = contributions.assign(
        column=lambda t: "drop in " + t["metric"].map(lambda m: metric_info(m).header) + ", " + t["label"]
    )
    table = frame.groupby(["model", "modality", "column"])["drop"].apply(values_mean_sd).unstack("column")
    table.columns.name = None
    tumors = frame.groupby(["model", "modality"])["n_tumors"].max()
    table["held-out tumors with it"] = tumors.map(count)
    return table


def largest_contributors(contributions: pd.DataFrame, metric: str = "ari") -> pd.Series:
    """Per model, the modality whose masking costs the most of ``metric`` on average over seeds and labels."""
    rows = contributions[contributions["metric"] == metric]
    if rows.empty:
        return pd.Series(dtype=object)
    means = rows.groupby(["model", "modality"])["drop"].mean()
    return means.groupby(level="model").idxmax().map(lambda pair: pair[1])


def leiden_table(leiden: pd.DataFrame) -> pd.DataFrame:
    """Clusters found and ARI per Leiden resolution (means over seeds): model x resolution."""
    if leiden.empty:
        return pd.DataFrame()
    stats = leiden.groupby(["model", "label", "resolution"]).agg(n=("n_clusters", "mean"), ari=("ari", "mean"))
    cells = stats.apply(
        lambda r: (
            f"{count(r['n'])} clusters, ARI {significant(r['ari'])}"
            if np.isfinite(r["ari"])
            else f"{count(r['n'])} clusters"
        ),
        axis=1,
    )
    table = cells.unstack("resolution")
    table.columns = [f"resolution {c:g}" for c in table.columns]
    return table


def enrichment_table(enrichment: pd.DataFrame) -> pd.DataFrame:
    """Per model and clinical column: median adjusted p over seeds and in how many seeds it was enriched."""
    if enrichment.empty:
        return pd.DataFrame()
    grouped = enrichment.groupby(["model", "column"])
    seeds = _n_seeds(enrichment)
    tests = {"chi2": "chi-square", "kruskal": "Kruskal-Wallis"}
    table = pd.DataFrame(
        {
            "test": grouped["test"].first().map(lambda t: tests.get(t, t)),
            "adjusted p" + (f" (median over {seeds} seeds)" if seeds > 1 else ""): grouped["p_adjusted"]
            .median()
            .map(scientific),
            "enriched in seeds": grouped["enriched"].apply(lambda v: f"{int(v.astype(bool).sum())}/{len(v)}"),
        }
    )
    return table


def characterization_table(characterization: pd.DataFrame, model: str, n_top: int = 5) -> pd.DataFrame:
    """The top ``n_top`` features of each cluster and modality of one model, as 'feature (effect)' lists."""
    rows = characterization[(characterization["model"] == model) & (characterization["rank"] <= n_top)]
    if rows.empty:
        return pd.DataFrame()
    is_significant = rows["p_adjusted"] < 0.05
    rows = rows.assign(
        text=rows["feature"].astype(str)
        + " ("
        + rows["mean_difference"].map(lambda v: significant(v, sign=True))
        + np.where(is_significant, "", ", n.s.")
        + ")"
    )
    table = rows.groupby(["cluster", "modality"])["text"].apply(", ".join).unstack("modality")
    table.index = [f"cluster {c}" for c in table.index]
    return table
