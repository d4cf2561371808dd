"""Local files -> the workflow's standard inputs (clinical table, one raw AnnData per modality).

Molecular IDs are harmonized to the clinical table's IDs: TCGA barcodes are cut to the clinical level
(patient or sample), normals dropped, duplicate aliquots resolved deterministically. A tumor lacking a modality
is simply absent from that modality's file; nothing is filled in.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from oncoae.data.modality import table_to_anndata
from oncoae.data.readers import SURVIVAL_EXCLUDED_COLUMNS, InputError, read_clinical_file, read_modality_file
from oncoae.data.sources import (
    SILENT_CLASSES,
    MutationCalls,
    cbioportal_sequenced_samples,
    find_in_study,
    maf_gene_calls,
    maf_to_gene_matrix,
    xena_clinical,
)
from oncoae.data.tcga import barcode_level, harmonize_barcodes, looks_like_tcga

log = logging.getLogger(__name__)


def align_to_clinical(
    table: pd.DataFrame, clinical_ids: pd.Index, path: Path, keep_normals: bool = False, n_features: int | None = None
) -> pd.DataFrame:
    """Re-index a modality onto the clinical IDs; error if no tumor is shared. ``n_features`` is logged instead
    of the table's width (for a table of row positions standing in for a sparse matrix)."""
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
    log.info(
        "%s: %d tumors x %d features", path, int(shared.sum()), table.shape[1] if n_features is None else n_features
    )
    return table.loc[shared]


def ingest_modality(
    path: str | Path,
    orientation: str,
    clinical_ids: pd.Index,
    keep_normals: bool = False,
    file_format: str = "matrix",
    sequenced_samples: list[str] | None = None,
    counts: dict | None = None,
) -> pd.DataFrame:
    """Read one modality file (a matrix, or a MAF / Xena mutation long table) and align it to the clinical IDs.

    ``counts``, when given, receives ``clinical_match_counts`` (tumors in the file, without a clinical row, kept).
    """
    path = Path(path)
    if file_format == "maf":
        table = maf_to_gene_matrix(path, sequenced_samples)
    else:
        table = read_modality_file(path, orientation)
    if counts is not None:
        counts.update(clinical_match_counts(table.index, clinical_ids, keep_normals))
    return align_to_clinical(table, clinical_ids, path, keep_normals)


INGEST_SUMMARY_COLUMNS = ["modality", "metric", "value"]


def clinical_match_counts(samples: pd.Index, clinical_ids: pd.Index, keep_normals: bool = False) -> dict:
    """How a modality's tumors (after barcode harmonization) meet the clinical table: tumors in the file,
    without a clinical row (dropped), kept."""
    frame = pd.DataFrame(index=samples)
    level = barcode_level(clinical_ids)
    if level is not None and looks_like_tcga(frame.index):
        frame = harmonize_barcodes(frame, level, keep_normals=keep_normals)
    shared = frame.index.isin(clinical_ids)
    return {
        "n_tumors_harmonized": len(frame),
        "n_without_clinical": int((~shared).sum()),
        "n_tumors": int(shared.sum()),
    }


def mutation_calls_anndata(
    path: str | Path,
    clinical_ids: pd.Index | None = None,
    level: str | None = None,
    keep_normals: bool = False,
    sequenced_samples: list[str] | None = None,
) -> tuple[ad.AnnData, MutationCalls]:
    """A MAF (or Xena mutation long table) -> sparse gene-level 0/1 AnnData of non-silent variants, and the calls
    it was built from: the one reading of a MAF, for the workflow's ingest and for ``python -m oncoae encode``.

    With ``clinical_ids`` barcodes are harmonized to their level and tumors without a clinical row dropped
    (logged); without them (new tumors to encode) TCGA barcodes are harmonized to ``level`` ('patient' or
    'sample', that of the run's tumors) in the same way. The matrix stays CSR: barcodes are harmonized on the row
    index only, then the kept rows are taken. obs holds ``n_nonsilent_variants``, each tumor's number of
    non-silent variants (its mutation burden).
    """
    path = Path(path)
    calls = maf_gene_calls(path, sequenced_samples)
    positions = pd.DataFrame({"row": np.arange(len(calls.samples))}, index=calls.samples)
    if clinical_ids is not None:
        positions = align_to_clinical(positions, clinical_ids, path, keep_normals, n_features=len(calls.genes))
    elif level is not None and looks_like_tcga(positions.index):
        positions = harmonize_barcodes(positions, level, keep_normals=keep_normals, source=str(path))
    rows = positions["row"].to_numpy()
    obs = pd.DataFrame({"n_nonsilent_variants": calls.n_nonsilent[rows]}, index=positions.index.astype(str))
    obs.index.name = None
    var = pd.DataFrame(index=pd.Index(calls.genes.astype(str), name=None))
    return ad.AnnData(X=calls.matrix[rows].astype(np.float32), obs=obs, var=var), calls


def ingest_mutation_calls(
    path: str | Path,
    clinical_ids: pd.Index,
    keep_normals: bool = False,
    sequenced_samples: list[str] | None = None,
) -> tuple[ad.AnnData, dict]:
    """A MAF (or Xena mutation long table) -> sparse gene-level 0/1 AnnData aligned to the clinical IDs
    (``mutation_calls_anndata``), and the counts for ``data/<modality>.ingest.tsv``. Tumors without a clinical
    row are dropped and counted (log and summary)."""
    adata, calls = mutation_calls_anndata(
        path, clinical_ids, keep_normals=keep_normals, sequenced_samples=sequenced_samples
    )
    summary = {
        **calls.stats,
        "n_without_clinical": len(calls.samples) - adata.n_obs,
        "n_tumors": adata.n_obs,
        "n_genes": adata.n_vars,
        "excluded_classes": ", ".join(sorted(SILENT_CLASSES)),
    }
    return adata, summary


def ingest_summary(modality: str, counts: dict) -> pd.DataFrame:
    """The counts of one ingested modality in long form (``INGEST_SUMMARY_COLUMNS``)."""
    return pd.DataFrame(
        [{"modality": modality, "metric": key, "value": value} for key, value in counts.items()],
        columns=INGEST_SUMMARY_COLUMNS,
    )


def ingest_clinical(
    path: str | Path,
    source: str,
    id_column: str | None,
    labels: list[str],
    survival: dict | None,
    split_column: str | None = None,
    stratify: str | None = None,
    subtypes: str | Path | None = None,
    cancer_types: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clinical table of any source (``read_clinical_file``), and its tumors without usable survival
    (``SURVIVAL_EXCLUDED_COLUMNS``). ``path``: a local table; for ``xena`` the survival table (TCGA-CDR), joined
    with ``subtypes`` and kept to ``cancer_types``; for ``cbioportal`` the study folder."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as folder:
        if source == "xena":
            merged = xena_clinical(path, subtypes, cancer_types)
            path = Path(folder) / "clinical.tsv"
            merged.to_csv(path, sep="\t")
        elif source == "cbioportal":
            path = find_in_study(path, "data_clinical_patient.txt")
        clinical = read_clinical_file(path, id_column, labels, survival, split_column=split_column, stratify=stratify)
    excluded = pd.DataFrame(clinical.attrs.pop("survival_excluded", []), columns=SURVIVAL_EXCLUDED_COLUMNS)
    log.info("%d tumors in the clinical table, %d without usable survival", len(clinical), len(excluded))
    return clinical, excluded


def ingest_modality_anndata(
    modality: str,
    path: str | Path,
    clinical_ids: pd.Index,
    kind: str,
    file_format: str = "matrix",
    orientation: str = "samples_x_features",
    keep_normals: bool = False,
    file_in_study: str | None = None,
) -> tuple[ad.AnnData, pd.DataFrame]:
    """One modality of any source as raw AnnData aligned to the clinical IDs (sparse for a binary ``kind``),
    and its counts (``ingest_summary``). ``file_in_study``: ``path`` is a cBioPortal study folder holding that
    file (and the case list of sequenced tumors)."""
    path = Path(path)
    sequenced = None
    if file_in_study:
        study, path = path, find_in_study(path, file_in_study)
        sequenced = cbioportal_sequenced_samples(study)
    if file_format == "maf":
        # Sparse from the file on; tumors without a clinical row are dropped and counted.
        adata, counts = ingest_mutation_calls(
            path, clinical_ids, keep_normals=keep_normals, sequenced_samples=sequenced
        )
    else:
        counts = {}
        table = ingest_modality(
            path,
            orientation,
            clinical_ids,
            keep_normals=keep_normals,
            file_format=file_format,
            sequenced_samples=sequenced,
            counts=counts,
        )
        adata = table_to_anndata(table, sparse=kind == "binary")
    log.info(
        "%s: %d tumors kept, %d without a clinical row dropped",
        modality,
        counts["n_tumors"],
        counts["n_without_clinical"],
    )
    return adata, ingest_summary(modality, counts)
