"""TCGA barcodes: join patient-level clinical data to sample- or aliquot-level molecular data.

``TCGA-A1-A0SB-01A-11R-A144-07``: patient = first 12 characters, sample = 15 (sample-type code 01-09 tumor,
10-19 normal, 20-29 control), vial = 16th character, the rest names the aliquot.

Barcodes are matched in one spelling, upper case with dashes: R's ``make.names`` (``read.table``,
``data.frame`` column names) writes ``TCGA.A1.A0SB.01A``, and some tables carry lower case.
"""

from __future__ import annotations

import logging
import re

import pandas as pd

log = logging.getLogger(__name__)

_BARCODE = re.compile(r"^TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}(-\d{2}[A-Z]?(-.*)?)?$", re.IGNORECASE)
# make.names turns every '-' into '.'; the aliquot part may then contain dots as well.
_DOTTED_BARCODE = re.compile(r"^TCGA\.[A-Z0-9]{2}\.[A-Z0-9]{4}(\.\d{2}[A-Z]?(\..*)?)?$", re.IGNORECASE)
LEVEL_LENGTH = {"patient": 12, "sample": 15}


def canonical_barcode(identifier: str) -> str:
    """``tcga.a1.a0sb.01a`` and ``tcga-a1-a0sb-01a`` -> ``TCGA-A1-A0SB-01A``; anything else unchanged."""
    text = str(identifier).strip()
    if _DOTTED_BARCODE.match(text):
        text = text.replace(".", "-")
    return text.upper() if _BARCODE.match(text) else text


def canonical_barcodes(ids: pd.Index) -> pd.Index:
    return pd.Index([canonical_barcode(i) for i in ids], name=ids.name)


def looks_like_tcga(ids: pd.Index) -> bool:
    sample = [canonical_barcode(i) for i in ids[:200]]
    return bool(sample) and all(_BARCODE.match(i) for i in sample)


def barcode_level(ids: pd.Index) -> str | None:
    """'patient' or 'sample' for TCGA IDs of one length (sample for anything longer than a patient ID)."""
    if not looks_like_tcga(ids):
        return None
    return "patient" if all(len(str(i)) == 12 for i in ids) else "sample"


def sample_type(barcode: str) -> int | None:
    return int(barcode[13:15]) if len(barcode) >= 15 else None


def harmonize_barcodes(table: pd.DataFrame, level: str, keep_normals: bool = False, source: str = "") -> pd.DataFrame:
    """Rows re-indexed to ``level`` ('patient' or 'sample') barcodes.

    Normal and control samples are dropped unless ``keep_normals``. Where several rows map to one ID (aliquots of
    one sample, or several tumor samples of one patient) the row with the lowest sample-type code, then the
    lexicographically first barcode, is kept: deterministic, and primary tumors (01) win. Every choice is logged.
    """
    ids = canonical_barcodes(pd.Index(table.index.astype(str)))
    types = pd.Series([sample_type(i) for i in ids], index=ids)
    keep = pd.Series(True, index=ids)
    if not keep_normals:
        keep = types.isna() | (types <= 9)
        dropped = int((~keep).sum())
        if dropped:
            log.info(
                "%s: dropped %d non-tumor samples (sample-type code >= 10), e.g. %s",
                source,
                dropped,
                ids[~keep.to_numpy()][0],
            )
    frame = table.loc[keep.to_numpy()].copy()
    frame.index = ids[keep.to_numpy()]
    length = LEVEL_LENGTH[level]
    order = sorted(range(len(frame)), key=lambda i: (types.iloc[i] if pd.notna(types.iloc[i]) else 0, frame.index[i]))
    frame = frame.iloc[order]
    target = frame.index.str[:length]
    duplicated = target.duplicated(keep="first")
    if duplicated.any():
        log.info(
            "%s: %d rows map to a %s ID already taken and were dropped deterministically (lowest sample "
            "type, then first barcode kept), e.g. %s",
            source,
            int(duplicated.sum()),
            level,
            frame.index[duplicated][0],
        )
    frame = frame.loc[~duplicated]
    frame.index = target[~duplicated]
    return frame
