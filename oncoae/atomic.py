"""Outputs appear whole or not at all.

Every file the package writes goes to a temporary name in the same folder and is renamed when complete, so an
interrupted step never leaves a file that Snakemake (or a person) could take for a finished result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds, else delete it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.replace(temporary_path, target)
    finally:
        if temporary_path.exists():
            temporary_path.unlink()


def write_table(frame, path: str | Path, index: bool = False) -> None:
    """A pandas table as tab-separated text, atomically."""
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, sep="\t", index=index)


def write_h5ad(adata, path: str | Path) -> None:
    """An AnnData as .h5ad, atomically.

    String columns become categoricals first, as h5ad would store them anyway (and anndata would announce
    each conversion on the console).
    """
    for column in adata.obs.columns:
        if adata.obs[column].dtype == object:
            adata.obs[column] = adata.obs[column].astype("category")
    with atomic_path(path) as temporary:
        adata.write_h5ad(temporary)
