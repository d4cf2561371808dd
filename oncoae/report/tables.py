"""Report tables from the run's tidy result files (pure pandas; one row per model unless said otherwise)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _mean_sd(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "n/a"
    if len(values) == 1:
        return f"{values.iloc[0]:.3g}"
    return f"{values.mean():.3g} ± {values.std():.2g}"


def per_seed_values(summary: pd.DataFrame, metric: str, label: str) -> pd.DataFrame:
    """Each seed's value of one metric: models x seeds, for the report's "every seed" table."""
    rows = summary[(summary["metric"] == metric) & (summary["label"].fillna("") == label)]
    table = rows.pivot_table(index="model", columns="seed", values="value", aggfunc="first")
    table.columns = [f"seed {c}" for c in table.columns]
    return table.round(3)


def survival_table(summary: pd.DataFrame, time_label: str) -> pd.DataFrame:
    """Log-rank p (asymptotic and by permutation, median over seeds) and the C-index with its bootstrap
    interval (means over seeds) per model."""
    rows = summary[summary["label"].fillna("") == time_label]
    wide = rows.pivot_table(index=["model", "seed"], columns="metric", values="value", aggfunc="first")
    out = pd.DataFrame(index=wide.index.get_level_values("model").unique())
    grouped = wide.groupby(level="model")
    if "logrank_p" in wide:
        out["log-rank p (asymptotic, median)"] = grouped["logrank_p"].median().map("{:.2g}".format)
    if "logrank_p_permutation" in wide:
        out["log-rank p (permutation, median)"] = grouped["logrank_p_permutation"].median().map("{:.2g}".format)
        out["permutations (max)"] = grouped["logrank_permutations"].max().astype(int)
    if "c_index" in wide:
        means = grouped[["c_index", "c_index_low", "c_index_high"]].mean()
        out["C-index [bootstrap CI], mean over seeds"] = [
            f"{r.c_index:.3f} [{r.c_index_low:.3f}, {r.c_index_high:.3f}]" for r in means.itertuples()
        ]
    if "c_index_head" in wide:
        out["C-index of the Cox head"] = grouped["c_index_head"].apply(_mean_sd)
    out.index.name = "model"
    return out


def contribution_table(contributions: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of each metric's drop when a modality is masked: (model, modality) x metric."""
    if contributions.empty:
        return pd.DataFrame()
    frame = contributions.assign(column=lambda t: "drop in " + t["metric"] + " (" + t["label"] + ")")
    table = frame.groupby(["model", "modality", "column"])["drop"].apply(_mean_sd).unstack("column")
    tumors = frame.groupby(["model", "modality"])["n_tumors"].max()
    table["held-out tumors with it"] = tumors
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
        lambda r: f"{r['n']:.1f} clusters, ARI {r['ari']:.2f}" if np.isfinite(r["ari"]) else f"{r['n']:.1f} clusters",
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
    table = pd.DataFrame(
        {
            "test": grouped["test"].first(),
            "adjusted p (median over seeds)": grouped["p_adjusted"].median().map("{:.2g}".format),
            "enriched in seeds": grouped["enriched"].apply(lambda v: f"{int(v.astype(bool).sum())}/{len(v)}"),
        }
    )
    return table


def characterization_table(characterization: pd.DataFrame, model: str, n_top: int = 5) -> pd.DataFrame:
    """The top ``n_top`` features of each cluster and modality of one model, as 'feature (effect)' lists."""
    rows = characterization[(characterization["model"] == model) & (characterization["rank"] <= n_top)]
    if rows.empty:
        return pd.DataFrame()
    significant = rows["p_adjusted"] < 0.05
    rows = rows.assign(
        text=rows["feature"].astype(str)
        + " ("
        + rows["mean_difference"].map("{:+.2f}".format)
        + np.where(significant, "", ", n.s.")
        + ")"
    )
    table = rows.groupby(["cluster", "modality"])["text"].apply(", ".join).unstack("modality")
    table.index = [f"cluster {c}" for c in table.index]
    return table
