"""What a report needs to be reproducible: input checksums, software versions, the commit, run times."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd

PACKAGES = (
    "oncoae",
    "snakemake",
    "torch",
    "lightning",
    "anndata",
    "scanpy",
    "pandas",
    "numpy",
    "scikit-learn",
    "lifelines",
    "umap-learn",
)


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(paths: Sequence[str | Path]) -> pd.DataFrame:
    rows = [{"file": str(p), "bytes": Path(p).stat().st_size, "sha256": sha256_of(p)} for p in paths]
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256"])


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def workflow_commit(directory: str | Path) -> str:
    """The git commit of the workflow checkout (with '+changes' when dirty), or 'unknown'."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(directory), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


BENCHMARK_COLUMNS = ["rule", "job", "s", "max_rss", "cpu_time"]


def read_benchmarks(benchmark_dir: str | Path) -> pd.DataFrame:
    """Every Snakemake ``benchmark:`` file under ``benchmark_dir`` (``<rule>/<job>.tsv``), one row per
    measurement: the rule (first folder), the job (its path without .tsv), and the file's columns; ``s`` (wall
    seconds), ``max_rss`` (MiB) and ``cpu_time`` are numbers, NaN where Snakemake wrote NA or -."""
    benchmark_dir = Path(benchmark_dir)
    frames = []
    for path in sorted(benchmark_dir.rglob("*.tsv")):
        table = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
        table.insert(0, "job", str(path.relative_to(benchmark_dir).with_suffix("")))
        table.insert(0, "rule", path.relative_to(benchmark_dir).parts[0])
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=BENCHMARK_COLUMNS)
    jobs = pd.concat(frames, ignore_index=True)
    for column in ("s", "max_rss", "cpu_time"):
        jobs[column] = pd.to_numeric(jobs.get(column), errors="coerce")
    return jobs


def rule_run_times(benchmark_dir: str | Path) -> pd.DataFrame:
    """Wall seconds and peak RSS per rule, summed over its jobs (each job's first measurement), from Snakemake
    ``benchmark:`` files."""
    jobs = read_benchmarks(benchmark_dir).drop_duplicates("job")
    if jobs.empty:
        return pd.DataFrame(columns=["rule", "jobs", "total_s", "max_rss_mb"])
    return (
        jobs.groupby("rule")
        .agg(jobs=("s", "size"), total_s=("s", "sum"), max_rss_mb=("max_rss", "max"))
        .reset_index()
        .sort_values("total_s", ascending=False)
        .round(1)
    )


def data_overview(
    modality_paths: Mapping[str, str | Path],
    split_path: str | Path,
    normalized_paths: Mapping[str, str | Path] | None = None,
) -> dict[str, pd.DataFrame]:
    """Tables for the report's data section: tumors per modality and split, feature filtering, and overlaps."""
    import anndata as ad

    from oncoae.data.split import read_split

    split = read_split(split_path)
    counts, presence = {}, {}
    for name, path in modality_paths.items():
        adata = ad.read_h5ad(path, backed="r")
        in_split = pd.Index(adata.obs_names).intersection(split.index)
        present = split.reindex(in_split).value_counts()
        counts[name] = {f"tumors {s}": int(present.get(s, 0)) for s in ("train", "val", "test")}
        presence[name] = split.index.isin(in_split)
        adata.file.close()
    tumors = pd.DataFrame(counts).T
    tumors.loc["any modality"] = {f"tumors {s}": int((split == s).sum()) for s in ("train", "val", "test")}
    tables = {"Tumors per modality and split": tumors}
    if normalized_paths:
        filtering = {}
        for name, path in normalized_paths.items():
            adata = ad.read_h5ad(path, backed="r")
            filtering[name] = dict(adata.uns.get("filtering", {}))
            adata.file.close()
        tables["Features kept by normalization (fitted on training tumors)"] = pd.DataFrame(filtering).T
    patterns = pd.DataFrame(presence, index=split.index)
    combos = patterns.apply(lambda row: " + ".join(n for n, has in row.items() if has) or "none", axis=1)
    overlap = (
        pd.DataFrame({"tumors": combos.value_counts(), "of which held-out": combos[split == "test"].value_counts()})
        .fillna(0)
        .astype(int)
    )
    overlap.index.name = "modalities present"
    tables["Modality overlap"] = overlap
    return tables
