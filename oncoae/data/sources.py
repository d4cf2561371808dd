"""Public tumor-data sources: UCSC Xena hubs and cBioPortal datahub study tarballs.

Each source is downloaded (see ``download.py``) into the shared cache and then read by the same readers as
local files. This module knows the sources' layouts: URLs, clinical tables, MAF mutation tables.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from oncoae.data.readers import InputError, read_table

log = logging.getLogger(__name__)

# Variant classes that change no protein (or lie outside genes); dropped before a gene-level 0/1 matrix.
SILENT_CLASSES = {
    "silent",
    "intron",
    "3'utr",
    "5'utr",
    "3'flank",
    "5'flank",
    "rna",
    "igr",
    "splice_region",
    "lincrna",
    "synonymous_variant",
    "intron_variant",
    "3_prime_utr_variant",
    "5_prime_utr_variant",
    "downstream_gene_variant",
    "upstream_gene_variant",
    "intergenic_variant",
}


def xena_clinical(
    survival_path: str | Path, subtype_path: str | Path | None, cancer_types: list[str] | None
) -> pd.DataFrame:
    """Sample-level clinical table from a Xena survival table (TCGA-CDR layout) and optionally a subtype table.

    The survival table starts ``sample _PATIENT cancer type abbreviation ...`` and carries ``OS OS.time ...``
    (days, 0/1). ``cancer_types`` keeps e.g. only BRCA.
    """
    survival = read_table(survival_path)
    if cancer_types:
        column = "cancer type abbreviation"
        if column not in survival.columns:
            raise InputError(f"{survival_path}: no {column!r} column to select cancer types {cancer_types}")
        survival = survival[survival[column].isin(cancer_types)]
        if survival.empty:
            raise InputError(f"{survival_path}: no tumor of cancer types {cancer_types}")
    if subtype_path is not None:
        subtypes = read_table(subtype_path)
        survival = survival.join(subtypes[[c for c in subtypes.columns if c not in survival.columns]], how="left")
    survival.index.name = "sample"
    return survival


def maf_to_gene_matrix(
    maf_path: str | Path,
    sequenced_samples: list[str] | None = None,
    sample_column: str | None = None,
    gene_column: str | None = None,
    class_column: str | None = None,
) -> pd.DataFrame:
    """Gene-level 0/1 (samples x genes) of non-silent variants from a MAF or Xena mutation long table.

    Every sequenced tumor gets a row, so a tumor without a non-silent mutation in any kept gene is a row of zeros
    (data, not missingness). Column names default to the MAF ones, then to Xena's (sample, gene, effect).
    """
    table = read_table(maf_path).reset_index()
    table.columns = [str(c) for c in table.columns]

    def pick(explicit, candidates):
        if explicit:
            return explicit
        for candidate in candidates:
            if candidate in table.columns:
                return candidate
        raise InputError(f"{maf_path}: none of the columns {candidates} found; columns are {list(table.columns)[:15]}")

    sample_column = pick(sample_column, ["Tumor_Sample_Barcode", "sample"])
    gene_column = pick(gene_column, ["Hugo_Symbol", "gene"])
    class_column = pick(class_column, ["Variant_Classification", "effect"])
    classes = table[class_column].astype(str).str.strip().str.lower()
    kept = table[~classes.isin(SILENT_CLASSES)]
    log.info("%s: %d of %d variants non-silent", maf_path, len(kept), len(table))
    samples = sorted(set(sequenced_samples) if sequenced_samples is not None else set(table[sample_column]))
    genes = sorted(set(kept[gene_column]))
    matrix = pd.DataFrame(np.zeros((len(samples), len(genes)), dtype=np.float32), index=samples, columns=genes)
    pairs = kept[[sample_column, gene_column]].drop_duplicates()
    pairs = pairs[pairs[sample_column].isin(matrix.index)]
    rows = matrix.index.get_indexer(pairs[sample_column])
    columns = matrix.columns.get_indexer(pairs[gene_column])
    matrix.values[rows, columns] = 1.0
    return matrix


def cbioportal_sequenced_samples(study_dir: Path) -> list[str] | None:
    """Samples of ``case_lists/cases_sequenced.txt`` (the ones with mutation calls), if the study has it."""
    for path in study_dir.rglob("cases_sequenced.txt"):
        for line in path.read_text().splitlines():
            if line.startswith("case_list_ids:"):
                return [s for s in line.split(":", 1)[1].replace("\t", " ").split() if s]
    return None
