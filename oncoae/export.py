"""scverse-native exports of a finished run: annotated latents and one MuData of the whole run.

The workflow writes latents before it clusters them (k-means is fitted on the training latents of every model of
a group at once), so the latents in ``latent/`` cannot carry their clusters without a cycle in the DAG. The
export steps run after clustering and write new files instead of touching the latents:

- ``annotated/<model>/seed<k>.h5ad``: a latent with its k-means ``cluster`` (categorical over all k clusters),
  ``split`` (categorical) and the clinical columns in obs; for a baseline (one latent for all seeds), one file per
  k-means seed;
- ``<dataset>.h5mu``: every modality (X normalized, ``layers["raw"]`` the raw values of the same features), the
  clinical table, the split, presence and every model's clusters in the global obs, and every model's latent in
  the global obsm (see ``run_mudata``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import anndata as ad
import numpy as np
import pandas as pd

SPLITS = ["train", "val", "test"]


@contextmanager
def _no_pull_on_update() -> Iterator[object]:
    """mudata with ``pull_on_update=False`` (mudata 0.4's default: the global obs is set here, from the clinical
    table, and the modalities' obs are empty) for the block, restored after; unlike ``with
    mudata.set_options(...)``, which logs two lines on the root logger each time. Yields the mudata module."""
    import mudata as md
    from mudata._core.config import OPTIONS

    previous = OPTIONS.get("pull_on_update")
    md.set_options(pull_on_update=False)
    try:
        yield md
    finally:
        md.set_options(pull_on_update=previous)


def latent_key(model: str, seed: int | None) -> str:
    """The obsm key of a model's latent in the run's MuData: ``X_<model>_seed<k>`` for an autoencoder,
    ``X_<model>`` for a baseline (deterministic: one latent for all seeds)."""
    return f"X_{model}" if seed is None else f"X_{model}_seed{seed}"


def cluster_column(model: str, seed: int) -> str:
    return f"cluster_{model}_seed{seed}"


def _clusters_of(clusters: pd.DataFrame, centroids: pd.DataFrame, model: str, seed: int) -> pd.Series:
    """One model's and seed's k-means clusters by tumor, categorical over all k clusters (from the centroids)."""
    rows = clusters[(clusters["model"] == model) & (clusters["seed"] == seed)]
    if rows.empty:
        raise ValueError(f"no clusters for model {model!r}, seed {seed}")
    k = int(centroids.loc[(centroids["model"] == model) & (centroids["seed"] == seed), "cluster"].nunique())
    labels = rows.set_index(rows["sample"].astype(str))["cluster"]
    return pd.Series(pd.Categorical(labels.to_numpy(), categories=range(k)), index=labels.index)


def annotate_latent(
    latent: ad.AnnData,
    clusters: pd.DataFrame,
    centroids: pd.DataFrame,
    clinical: pd.DataFrame,
    model: str,
    seed: int,
) -> ad.AnnData:
    """A copy of ``latent`` whose obs carries the k-means ``cluster`` of ``seed`` (categorical; NaN for a tumor
    that was not clustered), ``split`` (categorical) and every column of ``clinical`` it lacked."""
    annotated = latent.copy()
    obs = annotated.obs
    missing = [column for column in clinical.columns if column not in obs.columns]
    if missing:
        obs = obs.join(clinical[missing].reindex(obs.index))
    obs["cluster"] = _clusters_of(clusters, centroids, model, seed).reindex(obs.index)
    if "split" in obs:
        obs["split"] = pd.Categorical(obs["split"], categories=SPLITS)
    annotated.obs = obs
    annotated.uns["cluster_seed"] = int(seed)
    return annotated


def run_mudata(
    raw: Mapping[str, ad.AnnData],
    normalized: Mapping[str, ad.AnnData],
    clinical: pd.DataFrame,
    latents: Mapping[str, ad.AnnData],
    clusters: Mapping[tuple[str, int], pd.Series] | None = None,
):
    """One MuData of a run.

    Modality ``m`` is over the features its normalization kept (what the models see): X holds the normalized
    values and ``layers["raw"]`` the raw values of the same tumors and features (sparse stays sparse); features
    the normalization dropped stay in ``data/<m>.h5ad``. The global obs (every tumor of any modality, sorted)
    holds ``clinical``'s columns (split included), ``has_<m>`` and a categorical ``cluster_<model>_seed<k>`` per
    entry of ``clusters``. ``latents`` maps obsm keys (``latent_key``) to latent AnnData; a tumor a model did not
    encode (a per-modality model, a tumor without that modality) gets a row of NaN.
    """
    modalities = {}
    for name, norm in normalized.items():
        source = raw[name]
        rows = source.obs_names.get_indexer(norm.obs_names)
        columns = source.var_names.get_indexer(norm.var_names)
        if (rows < 0).any() or (columns < 0).any():
            raise ValueError(f"modality {name!r}: the normalized tumors or features are not all in the raw data")
        values = source.X[rows][:, columns]
        modality = ad.AnnData(
            X=norm.X, obs=pd.DataFrame(index=norm.obs_names.copy()), var=pd.DataFrame(index=norm.var_names.copy())
        )
        modality.layers["raw"] = values.astype(np.float32) if hasattr(values, "astype") else values
        modalities[name] = modality
    samples = sorted({s for modality in modalities.values() for s in modality.obs_names})
    with _no_pull_on_update() as md:
        mdata = md.MuData(modalities)
        if list(mdata.obs_names) != samples:
            mdata = mdata[samples].copy()
    obs = clinical.reindex(samples).copy()
    if "split" in obs:
        obs["split"] = pd.Categorical(obs["split"], categories=SPLITS)
    for name, modality in modalities.items():
        obs[f"has_{name}"] = pd.Index(samples).isin(modality.obs_names)
    for (model, seed), labels in (clusters or {}).items():
        obs[cluster_column(model, seed)] = labels.reindex(samples)
    obs.index.name = None
    mdata.obs = obs
    for key, latent in latents.items():
        matrix = np.full((len(samples), latent.obsm["X_latent"].shape[1]), np.nan, dtype=np.float32)
        position = pd.Index(samples).get_indexer(latent.obs_names)
        kept = position >= 0
        matrix[position[kept]] = latent.obsm["X_latent"][kept]
        mdata.obsm[key] = matrix
    return mdata


def export_run(
    raw_paths: Mapping[str, str],
    normalized_paths: Mapping[str, str],
    clinical_path: str,
    split_path: str,
    latent_paths: Sequence[tuple[str, int | None, str]],
    annotated_paths: Sequence[tuple[str, int, str]],
    out: str,
) -> object:
    """``run_mudata`` from a run's files, written to ``out`` atomically. ``latent_paths`` are (model, seed or
    None for a baseline, path); ``annotated_paths`` (model, k-means seed, path) supply the clusters."""
    from oncoae.atomic import atomic_path
    from oncoae.data.modality import read_clinical
    from oncoae.data.split import read_split

    split = read_split(split_path)
    clinical = read_clinical(clinical_path).join(split, how="right")
    raw = {name: ad.read_h5ad(path) for name, path in raw_paths.items()}
    normalized = {name: ad.read_h5ad(path) for name, path in normalized_paths.items()}
    latents = {latent_key(model, seed): ad.read_h5ad(path) for model, seed, path in latent_paths}
    clusters = {}
    for model, seed, path in annotated_paths:
        clusters[(model, seed)] = ad.read_h5ad(path).obs["cluster"]
    mdata = run_mudata(raw, normalized, clinical, latents, clusters)
    with atomic_path(out) as temporary, _no_pull_on_update():
        mdata.write(str(temporary))
    return mdata


def annotate_run(
    pairs: Sequence[tuple[str, int]],
    latent_paths: Sequence[str],
    cluster_paths: Sequence[str],
    centroid_paths: Sequence[str],
    clinical_path: str,
    out_paths: Sequence[str],
) -> None:
    """``annotate_latent`` for every (model, k-means seed) of ``pairs``, the latent of each read from the
    matching entry of ``latent_paths`` and written to that of ``out_paths``; the clusters and centroids tables
    of all groups are read once."""
    from oncoae.atomic import write_h5ad
    from oncoae.data.modality import read_clinical

    clusters = pd.concat([pd.read_csv(path, sep="\t", dtype={"sample": str}) for path in cluster_paths])
    centroids = pd.concat([pd.read_csv(path, sep="\t") for path in centroid_paths])
    clinical = read_clinical(clinical_path)
    latents: dict[str, ad.AnnData] = {}
    for (model, seed), latent_path, out in zip(pairs, latent_paths, out_paths, strict=True):
        if latent_path not in latents:  # a baseline's one latent serves every seed
            latents[latent_path] = ad.read_h5ad(latent_path)
        write_h5ad(annotate_latent(latents[latent_path], clusters, centroids, clinical, model, int(seed)), out)
