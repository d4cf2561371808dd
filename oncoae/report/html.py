"""The run's report: one self-contained HTML file (images inline, no scripts, no network)."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from oncoae.report.comparison import ComparisonTable, best_models, comparison_tables

__all__ = [
    "Details",
    "Figure",
    "ReportContent",
    "Table",
    "best_models",
    "comparison_tables",
    "plain_yaml",
    "render_report",
]


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
    # Leading columns of text (names, labels) aligned left like the row labels; numbers stay right-aligned.
    text_columns: int = 0
    # Every cell is text (lists of features): all aligned left.
    text: bool = False
    # Cells of numbers ('0.912 ± 0.0493') kept on one line.
    nowrap: bool = False


@dataclass
class Details:
    """Collapsed content (``<details>``): ``summary`` is what shows; opening it shows ``groups`` (heading ->
    values, as comma-separated lists), then ``items`` (figures, tables)."""

    summary: str
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    items: Sequence[Figure | Table] = ()


@dataclass
class ReportContent:
    """Everything the report shows. ``sections`` are drawn in order, between Data and Provenance; ``headlines``
    are extra summary sentences."""

    dataset: str
    summary: pd.DataFrame
    sections: dict[str, list[Figure | Table]] = field(default_factory=dict)
    headlines: Sequence[str] = ()
    data_overview: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    data_items: Sequence[Figure | Table | Details] = ()
    config_text: str = ""
    versions: Mapping[str, str] = field(default_factory=dict)
    checksums: pd.DataFrame | None = None
    rule_times: pd.DataFrame | None = None
    notes: Sequence[str] = ()


def _image(figure: Figure) -> str:
    encoded = base64.b64encode(figure.path.read_bytes()).decode("ascii")
    caption = f"<figcaption>{html.escape(figure.caption or figure.title)}</figcaption>"
    return f'<figure><img alt="{html.escape(figure.title)}" src="data:image/png;base64,{encoded}">{caption}</figure>'


def _table(
    frame: pd.DataFrame, index: bool = True, text_columns: int = 0, text: bool = False, nowrap: bool = False
) -> str:
    # In its own box: should a table ever be wider than the page, it scrolls there and the page does not.
    classes = ["table", *([f"text-{min(text_columns, 3)}"] if text_columns > 1 else [])]
    classes += [name for name, on in (("text", text), ("nowrap", nowrap)) if on]
    table = frame.to_html(index=index, escape=True, border=0, classes=classes, na_rep="")
    return f"<div class='table-box'>{table}</div>"


def _comparison(table: ComparisonTable) -> str:
    """One question's comparison: human headers with summary.tsv's exact names as tooltips, notes below."""
    head = "".join(
        f"<th title='{html.escape(column.tooltip, quote=True)}'>{html.escape(column.header)}</th>"
        for column in table.columns
    )
    rows = []
    for model, cells in table.frame.iterrows():
        values = "".join(
            f"<td>{html.escape(str(cells[c.key])) if isinstance(cells[c.key], str) else '–'}</td>"
            for c in table.columns
        )
        rows.append(f"<tr><th>{html.escape(str(model))}</th>{values}</tr>")
    notes = "".join(f"<p class='note'>{html.escape(note)}</p>" for note in table.notes)
    return (
        f"<div class='comparison'><h3>{html.escape(table.title)}</h3><div class='table-box'>"
        f"<table class='table metrics'><thead><tr><th>model</th>{head}</tr></thead><tbody>{''.join(rows)}"
        f"</tbody></table></div>{notes}</div>"
    )


# Snakemake benchmark names -> readable headers.
_RULE_TIME_HEADERS = {"total_s": "total time (s)", "max_rss_mb": "peak memory (MB)"}


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases (``&id001`` / ``*id001``): every repeated value written out."""

    def ignore_aliases(self, data) -> bool:
        return True


def plain_yaml(text: str) -> str:
    """``text`` (YAML) dumped again without anchors and aliases, in the same key order."""
    if not text.strip():
        return text
    return yaml.dump(yaml.safe_load(text), Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)


def _details(item: Details) -> str:
    groups = "".join(
        f"<p><b>{html.escape(name)}</b> ({len(values)}): {html.escape(', '.join(map(str, values)))}</p>"
        for name, values in item.groups.items()
    )
    inner = "".join(_item(part) for part in item.items)
    return f"<details><summary>{html.escape(item.summary)}</summary>{groups}{inner}</details>"


def _item(item: Figure | Table | Details) -> str:
    if isinstance(item, Figure):
        return _image(item)
    if isinstance(item, Details):
        return _details(item)
    caption = f"<p class='note'>{html.escape(item.caption)}</p>" if item.caption else ""
    table = _table(item.frame, item.index, item.text_columns, item.text, item.nowrap)
    return f"<h3>{html.escape(item.title)}</h3>{caption}{table}"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{margin:1.2em 0 .3em}
.table-box{max-width:100%;overflow-x:auto}
table.table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.table td,table.table th{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right;vertical-align:top}
table.table th:first-child,table.table td:first-child,table.table tbody th{text-align:left}
table.text-2 :is(th,td):nth-child(-n+2),table.text-3 :is(th,td):nth-child(-n+3),table.text :is(th,td){text-align:left}
table.table td{overflow-wrap:anywhere}
table.table thead th[colspan]{text-align:center;border-bottom:1px solid #ccc}table.nowrap td{white-space:nowrap}
table.metrics td{white-space:nowrap;font-variant-numeric:tabular-nums}
table.metrics thead th{vertical-align:bottom;border-bottom:1px solid #999;min-width:8em}
table.metrics th[title]{cursor:help;text-decoration:underline dotted #999}
.comparisons{display:flex;flex-wrap:wrap;gap:0 3em;align-items:flex-start}
.comparison{width:min-content;min-width:18em;max-width:100%}.comparison .note{font-size:.8em;margin:.3em 0}
figure{display:inline-table;margin:.5em;vertical-align:top;max-width:100%}
figure img{max-width:100%;border:1px solid #eee}
figcaption{display:table-caption;caption-side:bottom;font-size:.8em;color:#555;padding:.2em 0 .5em}
pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:.8em}
nav a{margin-right:1em;white-space:nowrap;display:inline-block}.note{color:#555;font-size:.9em}
details{font-size:.85em;margin:.3em 0 1em}details summary{cursor:pointer;color:#333}
details p{overflow-wrap:anywhere;margin:.3em 0 .3em 1em}details[open]>summary{margin-bottom:.5em}
"""


def _anchor(name: str) -> str:
    """A section's id: lower case, runs of anything but letters and digits as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def render_report(content: ReportContent, label: str | None, survival_label: str | None) -> str:
    """The whole HTML document as a string."""
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>oncoae report: "
        f"{html.escape(content.dataset)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>oncoae report: {html.escape(content.dataset)}</h1>",
    ]
    section_names = ["Summary", "Data", *content.sections.keys(), "Provenance"]
    parts.append("<nav>" + "".join(f"<a href='#{_anchor(n)}'>{html.escape(n)}</a>" for n in section_names) + "</nav>")

    parts.append("<h2 id='summary'>Summary</h2><ul>")
    for question, sentence in best_models(content.summary, label, survival_label):
        parts.append(f"<li><b>Best for {html.escape(question)}</b>: {html.escape(sentence)}</li>")
    for headline in content.headlines:
        parts.append(f"<li>{html.escape(headline)}</li>")
    parts.append(
        "</ul><p class='note'>All figures are on held-out (test) tumors that no normalizer, model, "
        "centroid or Cox model was fitted on. The best model for each question is chosen on validation tumors "
        "(carved from the training side; they stop the autoencoders' training early and score hyperparameter "
        "trials, and are in no other fit), with the same fitted centroids and Cox model, and quoted with its test "
        "figure. ★ marks the best test value per column, a reference only (↑: higher is better, ↓: lower is "
        "better); ≈ marks values within one seed sd of the best (a tie; the larger of the two models' sds). "
        "Hover a column header for the metric's exact name in summary.tsv.</p>"
    )
    parts.append(
        "<div class='comparisons'>" + "".join(_comparison(t) for t in comparison_tables(content.summary)) + "</div>"
    )
    for note in content.notes:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")

    parts.append("<h2 id='data'>Data</h2>")
    for title, table in content.data_overview.items():
        parts.append(f"<h3>{html.escape(title)}</h3>" + _table(table))
    parts.extend(_item(item) for item in content.data_items)

    for name, items in content.sections.items():
        parts.append(f"<h2 id='{_anchor(name)}'>{html.escape(name)}</h2>")
        parts.extend(_item(item) for item in items)

    parts.append("<h2 id='provenance'>Provenance</h2>")
    if content.checksums is not None:
        parts.append("<h3>Inputs</h3>" + _table(content.checksums, index=False))
    if content.versions:
        versions = pd.DataFrame(sorted(content.versions.items()), columns=["package", "version"])
        parts.append("<h3>Software</h3>" + _table(versions, index=False))
    if content.rule_times is not None and not content.rule_times.empty:
        times = content.rule_times.rename(columns=_RULE_TIME_HEADERS)
        parts.append("<h3>Run time per rule</h3>" + _table(times, index=False))
    parts.append(f"<h3>Config</h3><pre>{html.escape(plain_yaml(content.config_text))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)
