"""The run's report: one self-contained HTML file (images inline, no scripts, no network)."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

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
HEADLINE_METRICS = (
    "ari",
    "nmi",
    "ami",
    "silhouette",
    "logrank_p",
    "logrank_p_permutation",
    "c_index",
    "n_enriched",
    "reconstruction_error",
)


@dataclass
class Figure:
    title: str
    path: Path
    caption: str = ""


@dataclass
class Table:
    title: str
    frame: pd.DataFrame
    caption: str = ""
    index: bool = True


@dataclass
class ReportContent:
    """Everything the report shows. ``sections`` are drawn in order, between Data and Provenance; ``headlines``
    are extra summary sentences."""

    dataset: str
    summary: pd.DataFrame
    sections: dict[str, list[Figure | Table]] = field(default_factory=dict)
    headlines: Sequence[str] = ()
    data_overview: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    config_text: str = ""
    versions: Mapping[str, str] = field(default_factory=dict)
    checksums: pd.DataFrame | None = None
    rule_times: pd.DataFrame | None = None
    notes: Sequence[str] = ()


def _seed_sd(*sds: float) -> float:
    """The seed-to-seed sd that decides a tie: the larger of the two models' (a deterministic baseline has 0)."""
    finite = [sd for sd in sds if not np.isnan(sd)]
    return max(finite) if finite else 0.0


def metric_statistics(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and number of seeds per (model, metric, label)."""
    frame = summary.copy()
    frame["label"] = frame["label"].fillna("")
    return frame.groupby(["model", "metric", "label"])["value"].agg(mean="mean", sd="std", n="count").reset_index()


def comparison_table(summary: pd.DataFrame, metrics: Sequence[str] = HEADLINE_METRICS) -> pd.DataFrame:
    """Models x metric columns of 'mean ± sd'; the best per column gets ★, values within its seed sd get ≈."""
    stats = metric_statistics(summary)
    stats = stats[stats["metric"].isin(metrics)]
    columns: dict[str, pd.Series] = {}
    for (metric, label), group in stats.groupby(["metric", "label"], sort=False):
        group = group.set_index("model")
        higher = HIGHER_IS_BETTER.get(metric)
        means = group["mean"]
        best = None
        if higher is not None and means.notna().any():
            best = means.idxmax() if higher else means.idxmin()
        cells = {}
        for model, row in group.iterrows():
            text = "n/a" if np.isnan(row["mean"]) else f"{row['mean']:.3g}"
            if not np.isnan(row["sd"]) and row["n"] > 1:
                text += f" ± {row['sd']:.2g}"
            if best is not None and model == best:
                text = "★ " + text
            elif best is not None and not np.isnan(row["mean"]):
                if abs(row["mean"] - means[best]) <= _seed_sd(group.loc[best, "sd"], row["sd"]):
                    text = "≈ " + text
            cells[model] = text
        columns[f"{metric} ({label})" if label else metric] = pd.Series(cells)
    table = pd.DataFrame(columns)
    table.index.name = "model"
    return table


def best_models(summary: pd.DataFrame, label: str | None, survival_label: str | None) -> list[tuple[str, str]]:
    """(question, sentence) pairs naming the best model for subtypes and for survival, with its sd over seeds
    and the models tied with it (difference within the larger of the two seed sds)."""
    stats = metric_statistics(summary)
    findings = []
    questions = [("subtypes", "ari", label), ("survival", "c_index", survival_label)]
    for question, metric, metric_label in questions:
        if metric_label is None:
            continue
        rows = stats[(stats["metric"] == metric) & (stats["label"] == metric_label)].dropna(subset=["mean"])
        if rows.empty:
            continue
        rows = rows.sort_values("mean", ascending=False)
        best = rows.iloc[0]
        sd = "" if np.isnan(best["sd"]) else f" ± {best['sd']:.3f} (sd over {int(best['n'])} seeds)"
        sentence = f"{best['model']}: held-out {metric} vs {metric_label} = {best['mean']:.3f}{sd}"
        others = rows.iloc[1:]
        tied = others[[best["mean"] - r.mean <= _seed_sd(best["sd"], r.sd) for r in others.itertuples()]]
        if len(tied):
            sentence += "; tied within one seed sd: " + ", ".join(
                f"{r.model} ({r.mean:.3f})" for r in tied.itertuples()
            )
        findings.append((question, sentence))
    return findings


def _image(figure: Figure) -> str:
    encoded = base64.b64encode(figure.path.read_bytes()).decode("ascii")
    caption = f"<figcaption>{html.escape(figure.caption or figure.title)}</figcaption>"
    return f'<figure><img alt="{html.escape(figure.title)}" src="data:image/png;base64,{encoded}">{caption}</figure>'


def _table(frame: pd.DataFrame, index: bool = True) -> str:
    return frame.to_html(index=index, escape=True, border=0, classes="table", na_rep="")


def _item(item: Figure | Table) -> str:
    if isinstance(item, Figure):
        return _image(item)
    caption = f"<p class='note'>{html.escape(item.caption)}</p>" if item.caption else ""
    return f"<h3>{html.escape(item.title)}</h3>{caption}{_table(item.frame, item.index)}"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table.table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.table td,table.table th{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right}
table.table th:first-child,table.table td:first-child{text-align:left}
figure{display:inline-block;margin:.5em;vertical-align:top}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.8em;color:#555}pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:.8em}
nav a{margin-right:1em}.note{color:#555;font-size:.9em}
"""


def render_report(content: ReportContent, label: str | None, survival_label: str | None) -> str:
    """The whole HTML document as a string."""
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>oncoae report: "
        f"{html.escape(content.dataset)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>oncoae report: {html.escape(content.dataset)}</h1>",
    ]
    section_names = ["Summary", "Data", *content.sections.keys(), "Provenance"]
    parts.append(
        "<nav>"
        + "".join(f"<a href='#{html.escape(n.lower().replace(' ', '-'))}'>{html.escape(n)}</a>" for n in section_names)
        + "</nav>"
    )

    parts.append("<h2 id='summary'>Summary</h2><ul>")
    for question, sentence in best_models(content.summary, label, survival_label):
        parts.append(f"<li><b>Best for {html.escape(question)}</b>: {html.escape(sentence)}</li>")
    for headline in content.headlines:
        parts.append(f"<li>{html.escape(headline)}</li>")
    parts.append(
        "</ul><p class='note'>All figures are on held-out (test) tumors that no normalizer, model, "
        "centroid or Cox model was fitted on. ★ marks the best value per column; ≈ marks values within "
        "one seed sd of the best (a tie; the larger of the two models' sds).</p>"
    )
    parts.append(_table(comparison_table(content.summary)))
    for note in content.notes:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")

    parts.append("<h2 id='data'>Data</h2>")
    for title, table in content.data_overview.items():
        parts.append(f"<h3>{html.escape(title)}</h3>" + _table(table))

    for name, items in content.sections.items():
        parts.append(f"<h2 id='{html.escape(name.lower().replace(' ', '-'))}'>{html.escape(name)}</h2>")
        parts.extend(_item(item) for item in items)

    parts.append("<h2 id='provenance'>Provenance</h2>")
    if content.checksums is not None:
        parts.append("<h3>Inputs</h3>" + _table(content.checksums, index=False))
    if content.versions:
        versions = pd.DataFrame(sorted(content.versions.items()), columns=["package", "version"])
        parts.append("<h3>Software</h3>" + _table(versions, index=False))
    if content.rule_times is not None and not content.rule_times.empty:
        parts.append("<h3>Run time per rule</h3>" + _table(content.rule_times, index=False))
    parts.append(f"<h3>Config</h3><pre>{html.escape(content.config_text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)
