"""Public tumor-data sources: UCSC Xena hubs and cBioPortal datahub study tarballs.

Each source is downloaded (see ``download.py``) into the shared cache and then read by the same readers as
local files. This module knows the sources' layouts: URLs, clinical tables, MAF mutation tables.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from oncoae.data.readers import InputError, _header_lines, _separator, header_fields, read_table

log = logging.getLogger(__name__)

# Variant classes that change no protein (or lie outside genes); dropped before a gene-level 0/1 matrix. The one
# list of excluded Variant_Classification values (MAF and VEP spellings, compared in lower case); the README's
# data section and the ingest log name them.
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


def excluded_classes_text() -> str:
    """The excluded variant classes, for logs and messages."""
    return ", ".join(sorted(SILENT_CLASSES))


@dataclass
class MutationCalls:
    """Gene-level 0/1 calls of non-silent variants: ``matrix`` (tumors x genes, CSR float32) over ``samples`` and
    ``genes``; ``n_nonsilent`` the number of non-silent variants per tumor (its mutation burden, before any gene
    is dropped); ``stats`` counts for the step log and report (variants, non-silent, tumors, genes);
    ``genes_named`` every gene a variant of the file names, silent ones included (the file's gene universe)."""

    matrix: sparse.csr_matrix
    samples: pd.Index
    genes: pd.Index
    n_nonsilent: np.ndarray
    stats: dict = field(default_factory=dict)
    genes_named: pd.Index = field(default_factory=pd.Index)


def _maf_columns(maf_path: Path) -> tuple[int, list[str]]:
    skipped, lines = _header_lines(maf_path)
    if not lines:
        raise InputError(f"{maf_path}: the file is empty")
    return skipped, header_fields(maf_path, lines[0])


def maf_gene_calls(
    maf_path: str | Path,
    sequenced_samples: list[str] | None = None,
    sample_column: str | None = None,
    gene_column: str | None = None,
    class_column: str | None = None,
) -> MutationCalls:
    """Gene-level 0/1 of non-silent variants from a MAF or Xena mutation long table, sparse from the file on.

    Only the sample, gene and class columns are read (as categories), so a 1.5 M-row MAF takes a few hundred MB.
    Variants whose class is in ``SILENT_CLASSES`` are dropped (logged, with the classes). Every sequenced tumor
    (every tumor of the file, or ``sequenced_samples``) gets a row, so a tumor without a non-silent mutation is a
    row of zeros (data, not missingness). Column names default to the MAF ones, then to Xena's (sample, gene,
    effect).
    """
    maf_path = Path(maf_path)
    if not maf_path.exists():
        raise InputError(f"{maf_path}: file not found")
    skipped, header = _maf_columns(maf_path)

    def pick(explicit, candidates):
        if explicit:
            return explicit
        for candidate in candidates:
            if candidate in header:
                return candidate
        raise InputError(f"{maf_path}: none of the columns {candidates} found; columns are {header[:15]}")

    sample_column = pick(sample_column, ["Tumor_Sample_Barcode", "sample"])
    gene_column = pick(gene_column, ["Hugo_Symbol", "gene"])
    class_column = pick(class_column, ["Variant_Classification", "effect"])
    try:
        table = pd.read_csv(
            maf_path,
            sep=_separator(maf_path),
            skiprows=skipped,
            usecols=[sample_column, gene_column, class_column],
            dtype=str,
            keep_default_na=False,
            compression="infer",
        )
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as error:
        raise InputError(f"{maf_path}: cannot be read ({type(error).__name__}: {error}); is it truncated?") from error
    except (pd.errors.ParserError, ValueError) as error:
        raise InputError(f"{maf_path}: malformed table ({error})") from error
    samples_all = table[sample_column].str.strip()
    genes_all = table[gene_column].str.strip()
    classes = table[class_column].str.strip().str.lower()
    nonsilent = ~classes.isin(SILENT_CLASSES).to_numpy()
    del table
    log.info(
        "%s: %d of %d variants non-silent; excluded Variant_Classification values (SILENT_CLASSES): %s",
        maf_path,
        int(nonsilent.sum()),
        len(nonsilent),
        excluded_classes_text(),
    )
    samples = pd.Index(sorted(set(sequenced_samples) if sequenced_samples is not None else set(samples_all)))
    kept_samples, kept_genes = samples_all[nonsilent], genes_all[nonsilent]
    genes = pd.Index(sorted(set(kept_genes)))
    rows = samples.get_indexer(kept_samples)
    columns = genes.get_indexer(kept_genes)
    inside = rows >= 0
    n_nonsilent = np.bincount(rows[inside], minlength=len(samples))
    matrix = sparse.csr_matrix(
        (np.ones(int(inside.sum()), np.float32), (rows[inside], columns[inside])), shape=(len(samples), len(genes))
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # several variants of one gene in one tumor are one call
    stats = {
        "n_variants": len(nonsilent),
        "n_nonsilent_variants": int(nonsilent.sum()),
        "n_tumors_in_file": len(samples),
        "n_genes_with_nonsilent": len(genes),
        "n_tumors_without_nonsilent": int((n_nonsilent == 0).sum()),
        "max_nonsilent_per_tumor": int(n_nonsilent.max()) if len(n_nonsilent) else 0,
        "median_nonsilent_per_tumor": float(np.median(n_nonsilent)) if len(n_nonsilent) else 0.0,
    }
    named = pd.Index(sorted(set(genes_all)))
    return MutationCalls(matrix, samples, genes, n_nonsilent.astype(np.int64), stats, named)


def maf_to_gene_matrix(
    maf_path: str | Path,
    sequenced_samples: list[str] | None = None,
    sample_column: str | None = None,
    gene_column: str | None = None,
    class_column: str | None = None,
) -> pd.DataFrame:
    """``maf_gene_calls`` as a dense float32 table (samples x genes), for small files and tests."""
    calls = maf_gene_calls(maf_path, sequenced_samples, sample_column, gene_column, class_column)
    return pd.DataFrame(calls.matrix.toarray(), index=list(calls.samples), columns=list(calls.genes))


def find_in_study(study_dir: str | Path, file_name: str) -> Path:
    """A data file of a cBioPortal study folder by name, wherever the tarball put it (the first by path)."""
    matches = sorted(Path(study_dir).rglob(file_name))
    if not matches:
        raise InputError(f"{study_dir}: the study has no file {file_name!r}")
    return matches[0]


def cbioportal_sequenced_samples(study_dir: Path) -> list[str] | None:
    """Samples of ``case_lists/cases_sequenced.txt`` (the ones with mutation calls), if the study has it."""
    for path in study_dir.rglob("cases_sequenced.txt"):
        for line in path.read_text().splitlines():
            if line.startswith("case_list_ids:"):
                return [s for s in line.split(":", 1)[1].replace("\t", " ").split() if s]
    return None
