"""Per-modality AnnData: the currency between workflow steps.

A modality file holds the tumors that have that modality (obs, with clinical columns and the split), the features
(var) and the values (X, float32). Absence of a modality is absence of the row, never a row of zeros, so a tumor
with no mutation in the kept genes (a real row of zeros) stays distinguishable from a tumor never sequenced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse


def table_to_anndata(table: pd.DataFrame, obs: pd.DataFrame | None = None, sparse: bool = False) -> ad.AnnData:
    """AnnData from a tumors x features table; ``obs`` columns are aligned on the tumor IDs. ``sparse`` stores
    the values as a CSR matrix (mutation calls: mostly zeros)."""
    obs_frame = pd.DataFrame(index=table.index.astype(str))
    if obs is not None:
        obs_frame = obs_frame.join(obs, how="left")
    obs_frame.index.name = None
    var = pd.DataFrame(index=pd.Index(table.columns.astype(str), name=None))
    values = table.to_numpy(np.float32)
    return ad.AnnData(X=scipy.sparse.csr_matrix(values) if sparse else values, obs=obs_frame, var=var)


def anndata_to_table(adata: ad.AnnData) -> pd.DataFrame:
    values = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    return pd.DataFrame(values, index=adata.obs_names, columns=adata.var_names)


@dataclass
class ModalityBatchSource:
    """float32 matrices for a fixed list of tumors, ready to become tensors.

    ``values[name]`` is tumors x features with zeros where the tumor lacks the modality, dense, or a CSR matrix
    for a modality stored sparse (mutations), which stays sparse until a batch is cut from it (``dense_rows``).
    ``presence`` (tumors x M, modality order of ``values``) says which rows are real. The zeros are placeholders
    that the presence mask keeps out of every loss and every fused latent. ``targets`` holds what supervised heads
    learn from, one value per tumor: ``time`` and ``event`` (float32, NaN where unknown) and ``label`` (int64
    class index, -1 where unknown).
    """

    samples: list[str]
    values: dict[str, np.ndarray | scipy.sparse.csr_matrix]
    presence: np.ndarray
    targets: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def modality_names(self) -> list[str]:
        return list(self.values)

    def dense(self, name: str) -> np.ndarray:
        """One modality as a dense float32 array (for steps that need every value at once, e.g. PCA)."""
        return dense_rows(self.values[name])


def dense_rows(values: np.ndarray | scipy.sparse.spmatrix, rows=slice(None)) -> np.ndarray:
    """``values[rows]`` as a dense, C-contiguous float32 array, whether ``values`` is dense or sparse."""
    block = values[rows]
    block = block.toarray() if scipy.sparse.issparse(block) else block
    return np.ascontiguousarray(block, dtype=np.float32)


def matrix_bytes(values: np.ndarray | scipy.sparse.spmatrix) -> list[bytes]:
    """The bytes that identify a matrix's content, for fingerprints (sparse: its CSR arrays and shape)."""
    if scipy.sparse.issparse(values):
        csr = scipy.sparse.csr_matrix(values)
        csr.sort_indices()
        return [np.asarray(csr.shape).tobytes(), csr.indptr.tobytes(), csr.indices.tobytes(), csr.data.tobytes()]
    return [np.ascontiguousarray(values).tobytes()]


def data_fingerprint(*sources: ModalityBatchSource) -> str:
    """A digest of the tumors, values, head targets and presence of ``sources`` (in order): two training problems
    with the same fingerprint see the same data. Modalities and targets count by name, whatever their order."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update("\n".join(source.samples).encode())
        for name in sorted(source.values):
            digest.update(name.encode())
            for part in matrix_bytes(source.values[name]):
                digest.update(part)
        for name in sorted(source.targets):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(source.targets[name]).tobytes())
        digest.update(source.presence.tobytes())
    return digest.hexdigest()


def assemble_modalities(adatas: Mapping[str, ad.AnnData], samples: Sequence[str]) -> ModalityBatchSource:
    """Align several modalities on ``samples`` and build the presence mask."""
    samples = list(samples)
    values: dict[str, np.ndarray] = {}
    presence = np.zeros((len(samples), len(adatas)), dtype=bool)
    for index, (name, adata) in enumerate(adatas.items()):
        position = pd.Index(adata.obs_names).get_indexer(samples)
        present = position >= 0
        if scipy.sparse.issparse(adata.X):
            # Rows picked (and empty rows for absent tumors) by a 0/1 selection matrix, without densifying.
            selection = scipy.sparse.csr_matrix(
                (np.ones(present.sum(), np.float32), (np.flatnonzero(present), position[present])),
                shape=(len(samples), adata.n_obs),
            )
            values[name] = scipy.sparse.csr_matrix(selection @ adata.X, dtype=np.float32)
        else:
            matrix = np.zeros((len(samples), adata.n_vars), dtype=np.float32)
            matrix[present] = np.asarray(adata.X)[position[present]]
            values[name] = matrix
        presence[:, index] = present
    return ModalityBatchSource(samples=samples, values=values, presence=presence)


def samples_in_split(adatas: Mapping[str, ad.AnnData], split: str) -> list[str]:
    """Tumors of one split that have at least one of the modalities, in a stable order."""
    seen: dict[str, None] = {}
    for adata in adatas.values():
        for sample in adata.obs_names[adata.obs["split"].to_numpy() == split]:
            seen.setdefault(sample, None)
    return sorted(seen)


def latent_anndata(
    samples: Sequence[str],
    latent: np.ndarray,
    obs: pd.DataFrame,
    presence: np.ndarray,
    modality_names: Sequence[str],
    uns: dict | None = None,
) -> ad.AnnData:
    """AnnData of latents: ``obsm["X_latent"]`` (tumors x dims), clinical columns and ``has_<modality>`` in obs."""
    obs_frame = obs.reindex(list(samples)).copy()
    for index, name in enumerate(modality_names):
        obs_frame[f"has_{name}"] = presence[:, index]
    obs_frame.index = obs_frame.index.astype(str)
    obs_frame.index.name = None
    adata = ad.AnnData(X=np.zeros((len(samples), 0), dtype=np.float32), obs=obs_frame)
    adata.obsm["X_latent"] = np.asarray(latent, dtype=np.float32)
    adata.uns.update(uns or {})
    return adata


def read_clinical(path) -> pd.DataFrame:
    """The workflow's clinical table (first column: sample ID) with string IDs as the index."""
    table = pd.read_csv(path, sep="\t", index_col=0)
    table.index = table.index.astype(str)
    return table


def clinical_of(adatas: Mapping[str, ad.AnnData], samples: Sequence[str]) -> pd.DataFrame:
    """The clinical obs columns of ``samples``, taken from whichever modality file holds each tumor."""
    frames = [adata.obs for adata in adatas.values()]
    combined = pd.concat(frames)
    combined = combined[~combined.index.duplicated(keep="first")]
    return combined.reindex(list(samples))


def head_targets(
    clinical: pd.DataFrame,
    survival_columns: tuple[str, str] | None = None,
    label_column: str | None = None,
    classes: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """What the supervised heads learn from, aligned on ``clinical``'s rows (see ``ModalityBatchSource``).

    Tumors with an unknown time, event or label keep NaN / -1 and are left out of that head's loss. A label
    outside ``classes`` (a class never seen in training) also becomes -1.
    """
    targets: dict[str, np.ndarray] = {}
    if survival_columns is not None:
        time_column, event_column = survival_columns
        targets["time"] = pd.to_numeric(clinical[time_column], errors="coerce").to_numpy(np.float32)
        targets["event"] = pd.to_numeric(clinical[event_column], errors="coerce").to_numpy(np.float32)
    if label_column is not None:
        lookup = {str(name): index for index, name in enumerate(classes or [])}
        labels = clinical[label_column]
        targets["label"] = np.array(
            [lookup.get(str(value), -1) if pd.notna(value) else -1 for value in labels], dtype=np.int64
        )
    return targets
