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

import numpy as np
import pandas as pd

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


class ModalityNormalizer:
    """Transform, impute, filter and scale one modality, with all state learned from training tumors.

    Order: element-wise transform -> drop features missing in too many training tumors -> impute remaining
    missing values with the training mean -> drop constant features -> minimum-frequency filter (binary data) ->
    top-variance filter -> scale.
    """

    def __init__(self, settings: NormalizationSettings, modality: str = "") -> None:
        self.settings = settings
        self.modality = modality

    def _check_domain(self, table: pd.DataFrame) -> None:
        """Name the first cell outside the transform's domain (negative counts, betas outside [0, 1])."""
        values = table.to_numpy(np.float64)
        if self.settings.transform in ("log1p", "log2p1"):
            bad, need = values < 0, "non-negative values"
        elif self.settings.transform in ("mvalue", "center_beta"):
            bad, need = (values < 0) | (values > 1), "beta values in [0, 1]"
        else:
            return
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise NormalizationError(
                f"modality {self.modality!r}: transform {self.settings.transform!r} needs {need}, found "
                f"{values[row, column]:g} in feature {table.columns[column]!r}, sample {table.index[row]!r}; "
                "use transform: none for data that is already log-scaled"
            )

    def fit(self, train: pd.DataFrame) -> ModalityNormalizer:
        """Learn the state from ``train`` (training tumors x features)."""
        self._check_domain(train)
        if train.shape[0] < 2:
            raise NormalizationError(f"modality {self.modality!r}: fewer than 2 training tumors to fit on")
        values = apply_transform(self.settings.transform, train.to_numpy(np.float64), self.modality)
        features = np.asarray(train.columns, dtype=str)
        missing_fraction = np.isnan(values).mean(axis=0)
        keep = missing_fraction <= self.settings.max_missing_fraction
        self.n_dropped_missing_ = int((~keep).sum())
        means = np.nanmean(np.where(keep, values, 0.0), axis=0)
        filled = np.where(np.isnan(values), means, values)
        variances = filled.var(axis=0)
        nonconstant = variances > 1e-12
        self.n_dropped_constant_ = int((keep & ~nonconstant).sum())
        keep &= nonconstant
        if self.settings.min_frequency is not None:
            frequent = (filled != 0).mean(axis=0) >= self.settings.min_frequency
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
        missing = [f for f in self.features_ if f not in table.columns]
        extra = table.columns.difference(self.features_)
        if missing:
            log.warning(
                "modality %s: %d of %d model features absent from the input; filled with the training mean (first: %s)",
                self.modality,
                len(missing),
                len(self.features_),
                ", ".join(missing[:5]),
            )
        if len(extra):
            log.info("modality %s: dropped %d input features the model was not trained on", self.modality, len(extra))
        aligned = table.reindex(columns=self.features_)
        self._check_domain(aligned)
        present = aligned.notna().to_numpy()
        if present.shape[1] and len(missing) < len(self.features_):
            missing_share = 1.0 - present[:, [f not in missing for f in self.features_]].mean(axis=1)
            worst = int(np.argmax(missing_share)) if len(missing_share) else 0
            if len(missing_share) and missing_share[worst] > self.settings.max_missing_fraction_per_tumor:
                raise NormalizationError(
                    f"modality {self.modality!r}: sample {aligned.index[worst]!r} misses "
                    f"{missing_share[worst]:.0%} of its values (more than max_missing_fraction_per_tumor = "
                    f"{self.settings.max_missing_fraction_per_tumor}); drop the sample or the modality file's row"
                )
        values = apply_transform(self.settings.transform, aligned.to_numpy(np.float64), self.modality)
        n_imputed = int(np.isnan(values).sum())
        if n_imputed:
            log.info("modality %s: imputed %d missing values with the training mean", self.modality, n_imputed)
        values = np.where(np.isnan(values), self.mean_, values)
        scaled = ((values - self.center_) / self.scale_).astype(np.float32)
        return pd.DataFrame(scaled, index=table.index, columns=self.features_)

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
