"""Local files -> the workflow's standard inputs (clinical table, one raw AnnData per modality).

Molecular IDs are harmonized to the clinical table's IDs: TCGA barcodes are cut to the clinical level
(patient or sample), normals dropped, duplicate aliquots resolved deterministically. A tumor lacking a modality
is simply absent from that modality's file; nothing is filled in.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from oncoae.data.readers import InputError, read_modality_file
from oncoae.data.sources import maf_to_gene_matrix
from oncoae.data.tcga import barcode_level, harmonize_barcodes, looks_like_tcga

log = logging.getLogger(__name__)


def align_to_clinical(
    table: pd.DataFrame, clinical_ids: pd.Index, path: Path, keep_normals: bool = False
) -> pd.DataFrame:
    """Re-index a modality onto the clinical IDs; error if no tumor is shared."""
    level = barcode_level(clinical_ids)
    if level is not None and looks_like_tcga(table.index):
        table = harmonize_barcodes(table, level, keep_normals=keep_normals, source=str(path))
    shared = table.index.isin(clinical_ids)
    if not shared.any():
        raise InputError(
            f"{path}: no sample overlaps the clinical table (first IDs here: {list(table.index[:3])}; "
            f"in the clinical table: {list(clinical_ids[:3])})"
        )
    if (~shared).any():
        log.info(
            "%s: %d of %d samples have no clinical record and are left out (e.g. %s)",
            path,
            int((~shared).sum()),
            len(table),
            table.index[~shared][0],
        )
    log.info("%s: %d tumors x %d features", path, int(shared.sum()), table.shape[1])
    return table.loc[shared]


def ingest_modality(
    path: str | Path,
    orientation: str,
    clinical_ids: pd.Index,
    keep_normals: bool = False,
    file_format: str = "matrix",
    sequenced_samples: list[str] | None = None,
) -> pd.DataFrame:
    """Read one modality file (a matrix, or a MAF / Xena mutation long table) and align it to the clinical IDs."""
    path = Path(path)
    if file_format == "maf":
        table = maf_to_gene_matrix(path, sequenced_samples)
    else:
        table = read_modality_file(path, orientation)
    return align_to_clinical(table, clinical_ids, path, keep_normals)
