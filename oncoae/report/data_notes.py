"""The report's Data section beyond the AnnData counts (oncoae.provenance.data_overview): what ingestion left
out, from data/survival_excluded.tsv and data/<modality>.ingest.tsv (written for every source but the simulator)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from oncoae.report.format import significant
from oncoae.report.tables import corner_label

# ingest.tsv metric -> the row the report shows, in this order (metrics not listed follow, named as they are).
INGEST_ROWS = {
    "n_tumors_in_file": "tumors in the file",
    "n_without_clinical": "tumors without a clinical row (dropped)",
    "n_tumors": "tumors kept",
    "n_genes": "features (genes) kept at ingestion",
    "n_variants": "variants (MAF rows)",
    "n_nonsilent_variants": "non-silent variants",
    "n_genes_with_nonsilent": "genes with a non-silent variant",
    "n_tumors_without_nonsilent": "tumors without a non-silent variant",
    "median_nonsilent_per_tumor": "non-silent variants per tumor, median",
    "max_nonsilent_per_tumor": "non-silent variants per tumor, max",
}
# Text metrics: shown under the table, not in a cell.
INGEST_TEXT = {"excluded_classes": "Variant_Classification values left out as silent"}


def grouped(value) -> str:
    """A count with thousands separators (1,498,172); other numbers in three significant figures."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{int(number):,}" if number.is_integer() else significant(number)


def ingest_table(summaries: Mapping[str, str | Path]) -> tuple[pd.DataFrame, list[str]]:
    """Ingestion counts: readable metric x modality, and one note per text metric (e.g. the MAF's excluded
    Variant_Classification values)."""
    frames = [pd.read_csv(path, sep="\t", dtype={"value": str}) for path in summaries.values() if Path(path).exists()]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(), []
    long = pd.concat(frames, ignore_index=True)
    text = long[long["metric"].isin(INGEST_TEXT)]
    numbers = long[~long["metric"].isin(INGEST_TEXT)]
    notes = [f"{row.modality}: {INGEST_TEXT[row.metric]}: {row.value}." for row in text.itertuples() if row.value]
    table = numbers.pivot_table(index="metric", columns="modality", values="value", aggfunc="first", sort=False)
    order = [m for m in INGEST_ROWS if m in table.index] + [m for m in table.index if m not in INGEST_ROWS]
    table = table.reindex(index=order, columns=list(dict.fromkeys(numbers["modality"])))
    table = table.map(lambda v: "–" if pd.isna(v) else grouped(v))
    table.index = [INGEST_ROWS.get(m, m.replace("_", " ")) for m in table.index]
    return corner_label(table, "count"), notes


def survival_exclusions(path: str | Path) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Tumors whose survival is not usable: counts by reason (largest first) and the tumor IDs by reason."""
    excluded = pd.read_csv(path, sep="\t", dtype={"sample": str})
    if excluded.empty:
        return pd.DataFrame(), {}
    counts = excluded["reason"].value_counts()
    table = corner_label(pd.DataFrame({"tumors": counts.map(grouped)}), "reason")
    ids = {reason: sorted(excluded.loc[excluded["reason"] == reason, "sample"]) for reason in counts.index}
    return table, ids


def data_items(survival_excluded: str | Path | None, ingest: Mapping[str, str | Path]) -> list:
    """The Data section's extra items: ingestion counts per modality, then the tumors left out of survival."""
    from oncoae.report.html import Details, Table

    items: list = []
    table, notes = ingest_table(ingest)
    if not table.empty:
        items.append(
            Table(
                "Ingestion per modality",
                table,
                "Counted when each input file was read, before the split and normalization. " + " ".join(notes),
            )
        )
    if survival_excluded and Path(survival_excluded).exists():
        counts, ids = survival_exclusions(survival_excluded)
        if not counts.empty:
            n = sum(len(v) for v in ids.values())
            items.append(
                Table(
                    f"{n:,} tumors without usable survival (by reason), left out of survival metrics only",
                    counts,
                    "Survival data as published that cannot be scored (clinical.survival.invalid: exclude): these "
                    "tumors are left out of the log-rank tests, C-indices and Kaplan-Meier curves, and kept for "
                    "everything else. IDs below and in data/survival_excluded.tsv.",
                )
            )
            items.append(Details(f"the {n:,} tumor IDs", ids))
    return items
