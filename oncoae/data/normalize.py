"""Per-modality normalization, fitted on training tumors only and reused unchanged for every other tumor.

``ModalityNormalizer`` follows the scikit-learn convention: ``fit`` learns state into attributes ending in ``_``,
``transform`` applies it. It saves to a plain ``.npz`` (no pickle) so a lab can reload it years later, and so
that encoding new tumors uses exactly the transformation the model was trained on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

log = logging.getLogger(__name__)

TRANSFORMS = ("none", "log1p", "log2p1", "mvalue", "center_beta")
SCALINGS = ("none", "center", "zscore")
_BETA_EPSILON = 1e-3


class NormalizationError(ValueError):
    """Input that a normalizer cannot handle; the message names the modality and the culprit."""


@dataclass
class NormalizationSettings:
    """One modality's normalization, as in the ``modalities.<name>.normalization`` config section."""

    transform: str = "none"
    scale: str = "zscore"
    top_variance: int | None = None
    min_frequency: float | None = None
    max_missing_fraction: float = 0.2
    max_missing_fraction_per_tumor: float = 0.5

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise NormalizationError(f"unknown transform {self.transform!r}; expected one of {TRANSFORMS}")
        if self.scale not in SCALINGS:
            raise NormalizationError(f"unknown scale {self.scale!r}; expected one of {SCALINGS}")


def apply_transform(transform: str, values: np.ndarray, modality: str = "") -> np.ndarray:
    """Element-wise transform (no fitted state), float32 in and out; NaN stays NaN."""
    if transform == "none":
        return values
    if transform in ("log1p", "log2p1"):
        negative = np.nanmin(values) if values.size else 0.0
        if negative < 0:
            raise NormalizationError(
                f"modality {modality!r}: transform {transform!r} needs non-negative values, found {negative:g}; "
                "use transform: none for data that is already log-scaled"
            )
        return np.log1p(values) if transform == "log1p" else np.log2(values + 1.0)
    if transform in ("mvalue", "center_beta"):
        finite = values[np.isfinite(values)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise NormalizationError(
                f"modality {modality!r}: transform {transform!r} needs beta values in [0, 1], "
                f"found range [{finite.min():g}, {finite.max():g}]"
            )
        if transform == "center_beta":
            return values - 0.5
        clipped = np.clip(values, _BETA_EPSILON, 1 - _BETA_EPSILON)
        return np.log2(clipped / (1 - clipped))
    raise NormalizationError(f"unknown transform {transform!r}")


# Features processed at a time: each block is upcast to float64 for the transform and the statistics, so a
# 10,000-tumor x 20,000-feature modality never has a float64 copy of itself (1.6 GB) in memory.
COLUMN_BLOCK = 1024


def _column_blocks(n_features: int) -> list[slice]:
    return [slice(start, min(start + COLUMN_BLOCK, n_features)) for start in range(0, n_features, COLUMN_BLOCK)]


def _matrix_of(data: pd.DataFrame | ad.AnnData) -> tuple[np.ndarray | sparse.spmatrix, pd.Index, pd.Index]:
    """(values, tumors, features) of a table or an AnnData; values stay sparse if they are."""
    if isinstance(data, ad.AnnData):
        values = data.X
        if not sparse.issparse(values):
            values = np.asarray(values, dtype=np.float32)
        return values, pd.Index(data.obs_names), pd.Index(data.var_names)
    return data.to_numpy(np.float32), data.index, data.columns


def _dense_block(values: np.ndarray | sparse.spmatrix, columns: slice) -> np.ndarray:
    block = values[:, columns]
    return (block.toarray() if sparse.issparse(block) else block).astype(np.float64)


class ModalityNormalizer:
    """Transform, impute, filter and scale one modality, with all state learned from training tumors.

    Order: element-wise transform -> drop features missing in too many training tumors -> impute remaining
    missing values with the training mean -> drop constant features -> minimum-frequency filter (binary data) ->
    top-variance filter -> scale.

    Input is a tumors x features table or an AnnData, dense or sparse. A sparse modality (mutations) that needs no
    transform, centring or imputation stays sparse through ``transform_anndata``.
    """

    def __init__(self, settings: NormalizationSettings, modality: str = "") -> None:
        self.settings = settings
        self.modality = modality

    def _check_domain(self, values, samples: pd.Index, features: pd.Index) -> None:
        """Name the first cell outside the transform's domain (negative counts, betas outside [0, 1])."""
        if self.settings.transform in ("log1p", "log2p1"):
            need = "non-negative values"

            def outside(block):
                return block < 0
        elif self.settings.transform in ("mvalue", "center_beta"):
            need = "beta values in [0, 1]"

            def outside(block):
                return (block < 0) | (block > 1)
        else:
            return
        first = None
        for columns in _column_blocks(values.shape[1]):
            block = _dense_block(values, columns)
            bad = np.argwhere(outside(block))
            if len(bad):
                row, column = bad[0]
                candidate = (int(row), int(column) + columns.start, float(block[row, column]))
                first = candidate if first is None or candidate[:2] < first[:2] else first
        if first is not None:
            row, column, value = first
            raise NormalizationError(
                f"modality {self.modality!r}: transform {self.settings.transform!r} needs {need}, found "
                f"{value:g} in feature {features[column]!r}, sample {samples[row]!r}; "
                "use transform: none for data that is already log-scaled"
            )

    def fit(self, train: pd.DataFrame | ad.AnnData) -> ModalityNormalizer:
        """Learn the state from ``train`` (training tumors x features)."""
        values, samples, features = _matrix_of(train)
        if sparse.issparse(values):
            values = values.tocsc()  # column blocks
        self._check_domain(values, samples, features)
        if values.shape[0] < 2:
            raise NormalizationError(f"modality {self.modality!r}: fewer than 2 training tumors to fit on")
        n_features = values.shape[1]
        missing_fraction = np.zeros(n_features)
        means = np.zeros(n_features)
        variances = np.zeros(n_features)
        nonzero_fraction = np.zeros(n_features)
        for columns in _column_blocks(n_features):
            block = apply_transform(self.settings.transform, _dense_block(values, columns), self.modality)
            missing_fraction[columns] = np.isnan(block).mean(axis=0)
            usable = missing_fraction[columns] <= self.settings.max_missing_fraction
            means[columns] = np.nanmean(np.where(usable, block, 0.0), axis=0)
            filled = np.where(np.isnan(block), means[columns], block)
            variances[columns] = filled.var(axis=0)
            nonzero_fraction[columns] = (filled != 0).mean(axis=0)
        features = np.asarray(features, dtype=str)
        keep = missing_fraction <= self.settings.max_missing_fraction
        self.n_dropped_missing_ = int((~keep).sum())
        nonconstant = variances > 1e-12
        self.n_dropped_constant_ = int((keep & ~nonconstant).sum())
        keep &= nonconstant
        if self.settings.min_frequency is not None:
            frequent = nonzero_fraction >= self.settings.min_frequency
            self.n_dropped_rare_ = int((keep & ~frequent).sum())
            keep &= frequent
        else:
            self.n_dropped_rare_ = 0
        if self.settings.top_variance is not None and keep.sum() > self.settings.top_variance:
            ranked = np.argsort(-np.where(keep, variances, -np.inf), kind="stable")
            top = np.zeros_like(keep)
            top[ranked[: self.settings.top_variance]] = True
            self.n_dropped_low_variance_ = int(keep.sum() - top.sum())
            keep = top
        else:
            self.n_dropped_low_variance_ = 0
        if not keep.any():
            raise NormalizationError(
                f"modality {self.modality!r}: no feature left after filtering "
                f"({self.n_dropped_missing_} too often missing, {self.n_dropped_constant_} constant, "
                f"{self.n_dropped_rare_} below min_frequency)"
            )
        self.features_ = features[keep]
        self.mean_ = means[keep].astype(np.float32)
        if self.settings.scale == "zscore":
            self.scale_ = np.sqrt(variances[keep]).astype(np.float32)
            self.center_ = self.mean_
        elif self.settings.scale == "center":
            self.scale_ = np.ones(keep.sum(), dtype=np.float32)
            self.center_ = self.mean_
        else:
            self.scale_ = np.ones(keep.sum(), dtype=np.float32)
            self.center_ = np.zeros(keep.sum(), dtype=np.float32)
        log.info(
            "modality %s: kept %d of %d features (dropped %d missing, %d constant, %d rare, %d low-variance)",
            self.modality,
            keep.sum(),
            len(features),
            self.n_dropped_missing_,
            self.n_dropped_constant_,
            self.n_dropped_rare_,
            self.n_dropped_low_variance_,
        )
        return self

    def filtering_summary(self, n_features_in: int) -> dict[str, int]:
        """How many features went in, were kept, and were dropped for which reason (for the report)."""
        return {
            "features in": int(n_features_in),
            "kept": int(len(self.features_)),
            "dropped: too often missing": self.n_dropped_missing_,
            "dropped: constant": self.n_dropped_constant_,
            "dropped: below min_frequency": self.n_dropped_rare_,
            "dropped: outside top_variance": self.n_dropped_low_variance_,
        }

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        """Normalize ``table`` (tumors x features) onto the fitted features; float32.

        Features the normalizer was fitted on but ``table`` lacks are filled with the training mean (i.e. 0 after
        centring) and logged; features it was not fitted on are dropped and logged.
        """
        values = self._transform_values(*_matrix_of(table))
        dense = values.toarray() if sparse.issparse(values) else values
        return pd.DataFrame(dense, index=table.index, columns=self.features_)

    def transform_anndata(self, adata: ad.AnnData, obs: pd.DataFrame | None = None) -> ad.AnnData:
        """``transform`` for an AnnData (dense or sparse); the result keeps ``obs`` columns aligned on tumors."""
        values = self._transform_values(*_matrix_of(adata))
        obs_frame = pd.DataFrame(index=pd.Index(adata.obs_names.astype(str), name=None))
        if obs is not None:
            obs_frame = obs_frame.join(obs, how="left")
            obs_frame.index.name = None
        return ad.AnnData(X=values, obs=obs_frame, var=pd.DataFrame(index=pd.Index(self.features_, name=None)))

    def _stays_sparse(self, values, n_missing_features: int) -> bool:
        """Sparse input stays sparse when normalizing it changes no value: no transform, no scaling, no
        imputation (no missing feature, no NaN)."""
        return (
            sparse.issparse(values)
            and self.settings.transform == "none"
            and self.settings.scale == "none"
            and n_missing_features == 0
            and not np.isnan(values.data).any()
        )

    def _transform_values(self, values, samples: pd.Index, features: pd.Index) -> np.ndarray | sparse.csr_matrix:
        positions = features.get_indexer(self.features_)
        missing = [f for f, position in zip(self.features_, positions, strict=True) if position < 0]
        n_extra = len(features.difference(self.features_))
        if missing:
            log.warning(
                "modality %s: %d of %d model features absent from the input; filled with the training mean (first: %s)",
                self.modality,
                len(missing),
                len(self.features_),
                ", ".join(missing[:5]),
            )
        if n_extra:
            log.info("modality %s: dropped %d input features the model was not trained on", self.modality, n_extra)
        known = positions >= 0
        if self._stays_sparse(values, len(missing)):
            return sparse.csr_matrix(sparse.csr_matrix(values)[:, positions], dtype=np.float32)
        # Aligned on the fitted features, NaN where the input lacks one (filled with the training mean below).
        aligned = np.full((values.shape[0], len(self.features_)), np.nan, dtype=np.float32)
        if sparse.issparse(values):
            aligned[:, known] = sparse.csc_matrix(values)[:, positions[known]].toarray()
        else:
            aligned[:, known] = values[:, positions[known]]
        self._check_domain(aligned, samples, pd.Index(self.features_))
        present = ~np.isnan(aligned[:, known])
        if present.shape[1] and present.shape[0]:
            missing_share = 1.0 - present.mean(axis=1)
            worst = int(np.argmax(missing_share))
            if missing_share[worst] > self.settings.max_missing_fraction_per_tumor:
                raise NormalizationError(
                    f"modality {self.modality!r}: sample {samples[worst]!r} misses "
                    f"{missing_share[worst]:.0%} of its values (more than max_missing_fraction_per_tumor = "
                    f"{self.settings.max_missing_fraction_per_tumor}); drop the sample or the modality file's row"
                )
        n_imputed = 0
        for columns in _column_blocks(aligned.shape[1]):
            block = apply_transform(self.settings.transform, aligned[:, columns].astype(np.float64), self.modality)
            gaps = np.isnan(block)
            n_imputed += int(gaps.sum())
            block = np.where(gaps, self.mean_[columns], block)
            aligned[:, columns] = (block - self.center_[columns]) / self.scale_[columns]
        # Values of features absent from the input were imputed too, but only real gaps are worth a line.
        n_imputed -= values.shape[0] * len(missing)
        if n_imputed:
            log.info("modality %s: imputed %d missing values with the training mean", self.modality, n_imputed)
        return aligned

    def save(self, path: str | Path) -> None:
        """Write the fitted state to ``path`` (.npz, no pickled objects)."""
        with open(path, "wb") as handle:
            np.savez(
                handle,
                settings=np.array(json.dumps(asdict(self.settings))),
                modality=np.array(self.modality),
                features=self.features_.astype(str),
                mean=self.mean_,
                center=self.center_,
                scale=self.scale_,
            )

    @classmethod
    def load(cls, path: str | Path) -> ModalityNormalizer:
        with np.load(path, allow_pickle=False) as stored:
            normalizer = cls(NormalizationSettings(**json.loads(str(stored["settings"]))), str(stored["modality"]))
            normalizer.features_ = stored["features"].astype(str)
            normalizer.mean_ = stored["mean"]
            normalizer.center_ = stored["center"]
            normalizer.scale_ = stored["scale"]
        return normalizer
