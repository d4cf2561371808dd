"""Outputs appear whole or not at all.

Every file the package writes goes to a temporary name in the same folder and is renamed when complete, so an
interrupted step never leaves a file that Snakemake (or a person) could take for a finished result.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def give_umask_permissions(path: Path) -> None:
    """The permissions ``open()`` or ``mkdir`` would have given: mkstemp creates files 0600, readable by the
    owner alone, which would make every result private whatever the user's umask says."""
    mode = 0o777 if path.is_dir() else 0o666
    path.chmod(mode & ~current_umask())


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds, else delete it.

    The renamed output has the permissions the umask gives any new file (or folder, if the block made one).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        give_umask_permissions(temporary_path)
        os.replace(temporary_path, target)
    finally:
        if temporary_path.is_dir() and not temporary_path.is_symlink():
            shutil.rmtree(temporary_path)
        elif temporary_path.exists() or temporary_path.is_symlink():
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
