"""Benchmark results on disk: ``<name>.json`` (everything), ``<name>.md`` (tables) and a ``README.md`` index.

A result is a JSON-ready dict::

    {"name", "title", "quick", "started", "finished", "duration_s", "command", "machine": {...},
     "parameters": {...}, "targets": [{"name", "target", "value", "unit", "met", "note"}],
     "tables": [{"title", "columns", "rows", "note"}], "notes": [...], "data": {...}}

``met`` is True, False, or None where the value could not be measured (or the row is informational).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path


def fmt(value, digits: int = 3) -> str:
    """A table cell: floats with ``digits`` significant digits (whole numbers from 1,000 up), None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(item, digits) for item in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(fmt(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _met(met) -> str:
    return {True: "✅ met", False: "❌ missed", None: "–"}[met]


def targets_table(targets: Sequence[dict]) -> str:
    rows = [
        [t["name"], t.get("target", ""), t.get("value"), t.get("unit", ""), _met(t.get("met")), t.get("note", "")]
        for t in targets
    ]
    return markdown_table(["measure", "target", "value", "unit", "status", "note"], rows)


def to_markdown(result: dict) -> str:
    parts = [f"# {result['title']}", ""]
    mode = "quick smoke run (tiny sizes: not a measurement)" if result.get("quick") else "full run"
    parts += [
        f"{mode}; started {result['started']}, took {fmt(result.get('duration_s'))} s; `{result.get('command', '')}`",
        "",
    ]
    if result.get("error"):
        parts += ["**The benchmark failed:**", "", "```", result["error"].rstrip(), "```", ""]
    if result.get("targets"):
        parts += ["## Targets", "", targets_table(result["targets"]), ""]
    for table in result.get("tables", []):
        parts += [f"## {table['title']}", ""]
        if table.get("note"):
            parts += [table["note"], ""]
        parts += [markdown_table(table["columns"], table["rows"]), ""]
    if result.get("parameters"):
        parts += ["## Parameters", "", "```json", json.dumps(result["parameters"], indent=2, default=str), "```", ""]
    if result.get("notes"):
        parts += ["## Notes", ""] + [f"- {note}" for note in result["notes"]] + [""]
    machine = result.get("machine", {})
    if machine:
        parts += ["## Machine", "", markdown_table(["property", "value"], list(machine.items())), ""]
    return "\n".join(parts)


def _plain(value):
    """JSON-safe: NaN and infinities become null (strict JSON has neither), tuples become lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return _plain(value.item())
    return value


def write_result(result: dict, results_dir: Path) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` into ``results_dir`` and refresh its README.md index."""
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / f"{result['name']}.json"
    md_path = results_dir / f"{result['name']}.md"
    json_path.write_text(json.dumps(_plain(result), indent=2, default=str, allow_nan=False) + "\n")
    md_path.write_text(to_markdown(result))
    write_index(results_dir)
    return json_path, md_path


def write_index(results_dir: Path) -> Path:
    """``README.md``: one row per result JSON in the folder, with its targets met and the machine."""
    rows = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            result = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        targets = [t for t in result.get("targets", []) if t.get("met") is not None]
        met = sum(bool(t["met"]) for t in targets)
        machine = result.get("machine", {})
        rows.append(
            [
                f"[{result.get('name', path.stem)}]({path.stem}.md)",
                result.get("title", ""),
                "quick" if result.get("quick") else "full",
                "failed" if result.get("error") else f"{met}/{len(targets)}",
                str(result.get("started", ""))[:19],
                f"{machine.get('cpu_model', '?')}, {machine.get('cpu_cores_usable', '?')} cores, "
                f"{machine.get('ram_total_gb', '?')} GB, torch threads {machine.get('torch_threads', '?')}",
                machine.get("oncoae_commit", ""),
            ]
        )
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            "Written by `make bench` (`python -m benchmarks.run`); see each file for tables, parameters and the "
            "machine. Targets: measured targets met / measured targets.",
            "",
            markdown_table(["benchmark", "what", "mode", "targets met", "started", "machine", "commit"], rows),
            "",
        ]
    )
    index = results_dir / "README.md"
    index.write_text(text)
    return index
