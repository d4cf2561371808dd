"""Readers for the files labs actually have: TSV/CSV (optionally gzipped) in either orientation, tables written by
R's ``write.csv`` (header one field shorter than the rows), ``.h5ad``, and clinical tables such as cBioPortal's
(``#`` header lines, ``1:DECEASED`` status values).

Every error names the file and the column, sample or line at fault.
"""

from __future__ import annotations

import csv
import gzip
import logging
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from oncoae.data.tcga import canonical_barcodes, looks_like_tcga

log = logging.getLogger(__name__)

ORIENTATIONS = ("samples_x_features", "features_x_samples")
ANNOTATION_COLUMNS = ("Entrez_Gene_Id", "Cytoband", "Composite.Element.REF")
DAYS_PER_MONTH = 365.25 / 12
# Survival times in a wrong unit look like any other numbers, so their longest value is checked after conversion
# to days. Real cohorts follow some tumors for years: the longest time per TCGA cancer type is 3,377-9,219 days.
# Months read as days give a longest time under a year (TCGA BRCA: 282 "days"); days read as months give
# centuries (717 years). The median is no guide: TCGA COAD and READ have a median of 31 days, as published.
# Keep in step with the description of clinical.survival.unit in config/schema.yaml.
MIN_LONGEST_SURVIVAL_DAYS = 365.25
MAX_SURVIVAL_DAYS = 100 * 365.25


class InputError(ValueError):
    """A user input that cannot be used as it is; the message names the file and the culprit."""


def _open_text(path: Path):
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")


def _separator(path: Path) -> str:
    name = path.name.removesuffix(".gz")
    return "," if name.endswith(".csv") else "\t"


def _header_lines(path: Path) -> tuple[int, list[str]]:
    """Number of leading '#' lines, and the header and first data line after them (for R-style detection)."""
    skipped, lines = 0, []
    with _open_text(path) as handle:
        for line in handle:
            if not lines and line.startswith("#"):
                skipped += 1
                continue
            lines.append(line.rstrip("\r\n"))
            if len(lines) == 2:
                break
    return skipped, lines


def header_fields(path: Path, line: str) -> list[str]:
    """The header line split as the CSV reader splits it (quotes honoured), each name stripped."""
    return [field.strip() for field in next(csv.reader([line], delimiter=_separator(path)), [])]


def check_unique_header(path: Path, fields: list[str], what: str = "column") -> None:
    """Two header fields of one name are an error: pandas would silently rename the second to 'name.1'."""
    seen = set()
    for field in fields:
        if field in seen:
            raise InputError(f"{path}: {what} {field!r} appears more than once in the header")
        seen.add(field)


def read_table(path: str | Path, header_names: str = "column") -> pd.DataFrame:
    """A delimited text table with its first column as the string index (R ``write.csv`` files included).

    ``header_names`` words the error for a duplicated header field ('column', 'feature' or 'sample').
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    sep = _separator(path)
    try:
        skipped, lines = _header_lines(path)
        if not lines:
            raise InputError(f"{path}: the file is empty")
        n_header = len(lines[0].split(sep))
        row_fields = len(lines[1].split(sep)) if len(lines) > 1 else n_header
        # R's write.csv (row.names=TRUE) leaves the row-name column unnamed and out of the header.
        index_col = None if row_fields == n_header + 1 else 0
        names = header_fields(path, lines[0])
        check_unique_header(path, names if index_col is None else names[1:], header_names)
        table = pd.read_csv(
            path, sep=sep, skiprows=skipped, index_col=index_col, dtype=str, keep_default_na=False, compression="infer"
        )
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as error:
        raise InputError(f"{path}: cannot be read ({type(error).__name__}: {error}); is it truncated?") from error
    except pd.errors.ParserError as error:
        raise InputError(f"{path}: malformed table ({error})") from error
    # The index keeps the first column's header as its name (None for R's unnamed row names).
    name = table.index.name
    table.index = table.index.astype(str).str.strip()
    table.index.name = name
    table.columns = [str(c).strip() for c in table.columns]
    return table


_MISSING = {
    "",
    "na",
    "nan",
    "null",
    "none",
    "n/a",
    "#n/a",
    "[not available]",
    "[not applicable]",
    "[unknown]",
    "[discrepancy]",
    "[not evaluated]",
    ".",
}


def to_numeric_matrix(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Strings -> float32; missing-value spellings become NaN; any other non-number is an error naming the cell."""
    values = table.apply(lambda column: column.str.strip())
    missing = values.apply(lambda column: column.str.lower().isin(_MISSING))
    numbers = values.mask(missing).apply(pd.to_numeric, errors="coerce")
    bad = numbers.isna() & ~missing
    if bad.to_numpy().any():
        row, column = np.argwhere(bad.to_numpy())[0]
        raise InputError(
            f"{path}: non-numeric value {values.iat[row, column]!r} in column {values.columns[column]!r}, "
            f"row {values.index[row]!r}"
        )
    return check_finite(numbers.astype(np.float32), path)


def check_finite(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """NaN is missing (imputed or filtered later); +-Inf is an error naming the cell."""
    infinite = np.isinf(table.to_numpy())
    if infinite.any():
        row, column = np.argwhere(infinite)[0]
        raise InputError(f"{path}: infinite value in column {table.columns[column]!r}, row {table.index[row]!r}")
    return table


def normalize_feature_ids(features: pd.Index) -> pd.Index:
    """``SYMBOL|ENTREZ`` -> ``SYMBOL`` and versioned Ensembl IDs (``ENSG...15``) -> unversioned."""
    names = features.astype(str)
    names = names.str.replace(r"^(ENS[A-Z]*[GT]\d+)\.\d+$", r"\1", regex=True)
    pipe = names.str.contains("|", regex=False)
    if pipe.any():
        symbols = names.str.split("|", n=1).str[0]
        # '?|100130426'-style entries have no symbol; keep the Entrez ID then.
        entrez = names.str.split("|", n=1).str[-1]
        names = pd.Index(np.where(pipe & (symbols != "?"), symbols, np.where(pipe, entrez, names)))
    return pd.Index(names)


def check_unique_feature_rows(raw: pd.DataFrame, path: Path) -> None:
    """A feature named on two rows is an error, except in cBioPortal's layout.

    cBioPortal matrices name each row by a Hugo symbol *and* an Entrez ID, and a few symbols belong to several
    Entrez IDs: there the rows are distinct genes under one symbol and are averaged like aliases (logged later).
    Without such an annotation column a repeated row name is a pasted or duplicated row.
    """
    if "Entrez_Gene_Id" in raw.columns:
        return
    duplicated = raw.index[raw.index.duplicated()]
    if len(duplicated):
        raise InputError(f"{path}: feature {duplicated[0]!r} appears on more than one row")


def read_modality_file(path: str | Path, orientation: str = "samples_x_features") -> pd.DataFrame:
    """A modality as a float32 table (samples x features) with string sample IDs and feature names.

    Duplicate sample IDs and duplicate feature names in the file are errors naming the sample or feature;
    names that only coincide after ID normalization (``TP53|7157``, versioned Ensembl IDs) are averaged (logged),
    as several probes or aliases of one gene are.
    """
    path = Path(path)
    if orientation not in ORIENTATIONS:
        raise InputError(f"{path}: unknown orientation {orientation!r}; expected one of {ORIENTATIONS}")
    if path.name.endswith(".h5ad"):
        import anndata as ad

        try:
            adata = ad.read_h5ad(path)
        except Exception as error:  # anndata raises many kinds for a broken file
            raise InputError(f"{path}: not a valid .h5ad file ({type(error).__name__}: {error})") from error
        check_unique_header(path, list(adata.var_names.astype(str)), "feature")
        values = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
        table = pd.DataFrame(
            values.astype(np.float32), index=adata.obs_names.astype(str), columns=adata.var_names.astype(str)
        )
        check_finite(table, path)
    else:
        features_in_rows = orientation == "features_x_samples"
        raw = read_table(path, header_names="sample" if features_in_rows else "feature")
        if features_in_rows:
            check_unique_feature_rows(raw, path)
            # cBioPortal matrices carry gene annotations next to the symbol column.
            raw = raw.drop(columns=[c for c in ANNOTATION_COLUMNS if c in raw.columns]).T
        table = to_numeric_matrix(raw, path)
    duplicated = table.index[table.index.duplicated()]
    if len(duplicated):
        raise InputError(f"{path}: sample {duplicated[0]!r} appears more than once")
    table.columns = normalize_feature_ids(pd.Index(table.columns))
    if table.columns.duplicated().any():
        n_dup = int(table.columns.duplicated().sum())
        log.info(
            "%s: averaged %d duplicate feature names (e.g. %s)",
            path,
            n_dup,
            table.columns[table.columns.duplicated()][0],
        )
        table = table.T.groupby(level=0, sort=False).mean().T.astype(np.float32)
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise InputError(f"{path}: no samples or no features ({table.shape[0]} x {table.shape[1]})")
    table.index.name = None
    return table


_EVENT_WORDS = {
    "dead": 1,
    "deceased": 1,
    "died": 1,
    "event": 1,
    "true": 1,
    "yes": 1,
    "alive": 0,
    "living": 0,
    "censored": 0,
    "false": 0,
    "no": 0,
}


def parse_event(value: str) -> float:
    """0/1, cBioPortal's '1:DECEASED' / '0:LIVING', or words such as Dead/Alive; NaN for missing; else raises."""
    text = str(value).strip()
    if text.lower() in _MISSING:
        return np.nan
    match = re.match(r"^([01])(\.0+)?(:.*)?$", text)
    if match:
        return float(match.group(1))
    word = _EVENT_WORDS.get(text.lower())
    if word is None:
        raise ValueError(text)
    return float(word)


def check_survival_unit(days: pd.Series, path: Path, column: str, unit: str) -> None:
    """Survival times (already in days) whose longest is shorter than a year or longer than a century: the
    declared unit is wrong."""
    known = days.dropna()
    if known.empty:
        return
    longest, sample = float(known.max()), str(known.idxmax())
    if longest < MIN_LONGEST_SURVIVAL_DAYS:
        hint = "if the times are in months, set clinical.survival.unit: months" if unit == "days" else "check the unit"
        raise InputError(
            f"{path}: column {column!r}: the longest survival time is {longest:.1f} days (sample {sample!r}), "
            f"implausibly short for clinical.survival.unit {unit}; {hint}"
        )
    if longest > MAX_SURVIVAL_DAYS:
        hint = "if the times are in days, set clinical.survival.unit: days" if unit == "months" else "check the unit"
        raise InputError(
            f"{path}: column {column!r}, sample {sample!r}: survival time of {longest / 365.25:.0f} years is "
            f"implausible for clinical.survival.unit {unit}; {hint}"
        )


SURVIVAL_POLICIES = ("error", "exclude")
SURVIVAL_EXCLUDED_COLUMNS = ["sample", "reason", "time", "event"]


def unusable_survival(times: pd.Series, events: pd.Series) -> pd.DataFrame:
    """Tumors whose survival cannot be used (columns of ``SURVIVAL_EXCLUDED_COLUMNS``), one row each, first
    reason only: a negative time, a missing time, a missing event. ``times`` in days, ``events`` 0/1/NaN."""
    reasons = pd.Series(pd.NA, index=times.index, dtype=object)
    reasons[events.isna()] = "missing event"
    reasons[times.isna()] = "missing time"
    reasons[times < 0] = "negative time"
    bad = reasons.notna()
    return pd.DataFrame(
        {
            "sample": times.index[bad].astype(str),
            "reason": reasons[bad].to_numpy(),
            "time": times[bad].to_numpy(float),
            "event": events.reindex(times.index)[bad].to_numpy(float),
        },
        columns=SURVIVAL_EXCLUDED_COLUMNS,
    )


def read_clinical_file(
    path: str | Path,
    id_column: str | None,
    labels: list[str],
    survival: dict | None,
    split_column: str | None = None,
    stratify: str | None = None,
) -> pd.DataFrame:
    """The clinical table with the ID column as index, survival time in days and events as 0/1.

    Every configured column must exist; events must parse. Survival that cannot be used follows
    ``survival["invalid"]`` (``clinical.survival.invalid``): ``error`` (the default) stops at a negative time;
    ``exclude`` blanks the time and event of such tumors (NaN: not evaluable), so they drop out of survival
    metrics and the Cox head only and stay in the cohort for everything else. A missing time or event is NaN
    (not evaluable) under either policy. The tumors whose survival is not evaluable (negative, missing time,
    missing event) are listed in ``table.attrs["survival_excluded"]`` (records of ``SURVIVAL_EXCLUDED_COLUMNS``).
    """
    path = Path(path)
    table = read_table(path)
    if id_column is not None and id_column != table.index.name:
        if id_column not in table.columns:
            raise InputError(f"{path}: ID column {id_column!r} not found; columns are {list(table.columns)[:20]}")
        table = table.set_index(id_column)
        table.index = table.index.astype(str).str.strip()
    if looks_like_tcga(table.index):
        # One spelling (upper case, dashes) so R-written or lower-case barcodes join the modalities' barcodes.
        table.index = canonical_barcodes(table.index)
    table.index.name = None
    duplicated = table.index[table.index.duplicated()]
    if len(duplicated):
        raise InputError(f"{path}: sample {duplicated[0]!r} appears more than once in the clinical table")
    wanted = [*labels, *([split_column] if split_column else []), *([stratify] if stratify else [])]
    if survival:
        wanted += [survival["time"], survival["event"]]
    for column in wanted:
        if column not in table.columns:
            raise InputError(f"{path}: column {column!r} not found; columns are {list(table.columns)[:30]}")
    table = table.replace({v: np.nan for v in ("", "NA", "NaN", "nan")})
    if survival:
        time_column, event_column = survival["time"], survival["event"]
        times = pd.to_numeric(table[time_column], errors="coerce")
        bad_time = times.isna() & table[time_column].notna()
        if bad_time.any():
            sample = bad_time.index[bad_time][0]
            raise InputError(
                f"{path}: column {time_column!r}, sample {sample!r}: survival time "
                f"{table.at[sample, time_column]!r} is not a number"
            )
        policy = survival.get("invalid", "error")
        if policy not in SURVIVAL_POLICIES:
            raise InputError(f"clinical.survival.invalid: {policy!r} is not one of {SURVIVAL_POLICIES}")
        if policy == "error" and (times < 0).any():
            sample = times.index[times < 0][0]
            raise InputError(
                f"{path}: column {time_column!r}, sample {sample!r}: negative survival time {times[sample]:g}"
            )
        unit = survival.get("unit", "days")
        if unit == "months":
            times = times * DAYS_PER_MONTH
        events = {}
        for sample, value in table[event_column].items():
            try:
                events[sample] = parse_event(value) if pd.notna(value) else np.nan
            except ValueError:
                raise InputError(
                    f"{path}: column {event_column!r}, sample {sample!r}: cannot read event "
                    f"{value!r} (expected 0/1, '1:DECEASED'-style or Dead/Alive)"
                ) from None
        events = pd.Series(events, dtype=float).reindex(table.index)
        excluded = unusable_survival(times, events)
        # Not evaluable, never 0: NaN time and event leave the tumor out of every survival metric and head loss.
        unusable = table.index.isin(excluded["sample"])
        times, events = times.mask(unusable), events.mask(unusable)
        # After the per-cell checks: those name a cell, this one only the column.
        check_survival_unit(times, path, time_column, unit)
        table[time_column] = times
        table[event_column] = events
        if len(excluded):
            counts = excluded["reason"].value_counts()
            log.info(
                "%s: %d tumors without usable survival (%s), left out of survival metrics only: %s",
                path,
                len(excluded),
                ", ".join(f"{n} {reason}" for reason, n in counts.items()),
                ", ".join(excluded["sample"]),
            )
        # Records, not a frame: pandas compares attrs when frames are combined.
        table.attrs["survival_excluded"] = excluded.to_dict("records")
    for label in labels:
        known = table[label].dropna()
        if known.nunique() < 2:
            raise InputError(
                f"{path}: label column {label!r} has fewer than 2 classes "
                f"({sorted(known.unique())[:3]}); it cannot be compared with clusters"
            )
    return table
