"""PCA and kernel PCA feature extractors on exactly the inputs the autoencoders see.

A tumor lacking a modality gets that block filled with the training mean of the block, the usual practice for
concatenation baselines (and the reason they suffer where modalities are missing). Kernel PCA is fitted on at most
``max_train_samples`` training tumors, so its memory stays bounded (O(m^2) in the subsample, not in the cohort).

Given several values of ``n_components`` (and, for kernel PCA, of ``gamma``), every candidate is fitted on the
training tumors and the one that models the validation tumors best is kept, as the autoencoders' hyperparameters
are chosen on validation tumors: PCA by the validation log-likelihood under probabilistic PCA (Tipping and Bishop;
scikit-learn's ``PCA.score``), which stops rewarding components that fit noise, and kernel PCA by the validation
reconstruction error through its learned pre-image map (``fit_inverse_transform``). Test tumors are never seen.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
from sklearn.decomposition import PCA, KernelPCA

from oncoae.data.modality import (
    ModalityBatchSource,
    assemble_modalities,
    clinical_of,
    dense_rows,
    latent_anndata,
    samples_in_split,
)

log = logging.getLogger(__name__)


TRANSFORM_BLOCK = 2048
EXACT_SVD_MAX_DIM = 2000


@dataclass
class BaselineSettings:
    n_components: int | list[int] = 16
    kernel: str = "rbf"
    gamma: float | None | list[float | None] = None
    max_train_samples: int = 2000
    match_tuning: bool = True  # read by the planning layer (oncoae.workflow.RunPlan.baseline_settings)
    # Set by the planning layer when tuning widens a single gamma: candidates are gamma (1/n_features when null)
    # times each factor.
    gamma_factors: list[float] | None = None

    def candidates(self, n_samples: int, n_features: int) -> list[tuple[int, float | None]]:
        """(n_components, gamma) pairs to choose from, components capped by the matrix (duplicates dropped);
        kernel PCA's gamma is varied for kpca only."""
        components = self.n_components if isinstance(self.n_components, list) else [self.n_components]
        gammas = self.gamma if isinstance(self.gamma, list) else [self.gamma]
        if self.gamma_factors and not isinstance(self.gamma, list):
            centre = self.gamma if self.gamma is not None else 1.0 / n_features
            gammas = [centre * factor for factor in self.gamma_factors]
        capped = dict.fromkeys(min(int(n), n_samples - 1, n_features) for n in components)
        return [(n, gamma) for n in capped for gamma in gammas]


def _short(gamma: float | None) -> str:
    return "default" if gamma is None else f"{gamma:.3g}"


def block_means(train: ModalityBatchSource) -> dict[str, np.ndarray]:
    """Per-feature training means of each modality, over the training tumors that have it."""
    means = {}
    for index, name in enumerate(train.modality_names):
        values = train.dense(name)
        present = train.presence[:, index]
        means[name] = values[present].mean(axis=0) if present.any() else np.zeros(values.shape[1], np.float32)
    return means


def concatenate_with_imputation(
    source: ModalityBatchSource, means: dict[str, np.ndarray], rows: slice = slice(None)
) -> np.ndarray:
    """The modalities side by side (tumors ``rows``), an absent modality filled with its training means."""
    blocks = []
    for index, name in enumerate(source.modality_names):
        present = source.presence[rows, index][:, None]
        blocks.append(np.where(present, dense_rows(source.values[name], rows), means[name][None, :]))
    return np.concatenate(blocks, axis=1).astype(np.float32)


class BaselineExtractor:
    """fit(train) / transform(any) for ``pca`` or ``kpca``; fitted state lives in attributes ending in ``_``."""

    def __init__(self, family: str, settings: BaselineSettings, seed: int = 0) -> None:
        if family not in ("pca", "kpca"):
            raise ValueError(f"unknown baseline {family!r}")
        self.family = family
        self.settings = settings
        self.seed = seed

    def fit(self, train: ModalityBatchSource, val: ModalityBatchSource | None = None) -> BaselineExtractor:
        """Fitted on ``train``; with several candidate settings, the one best on ``val`` is kept (``selection_``
        lists every candidate's validation score, ``chosen_`` the kept one)."""
        self.means_ = block_means(train)
        matrix = concatenate_with_imputation(train, self.means_)
        if self.family == "kpca" and matrix.shape[0] > self.settings.max_train_samples:
            rows = np.random.default_rng(self.seed).choice(
                matrix.shape[0], self.settings.max_train_samples, replace=False
            )
            log.info("kernel PCA fitted on a subsample of %d of %d training tumors", len(rows), matrix.shape[0])
            matrix = matrix[np.sort(rows)]
        candidates = self.settings.candidates(*matrix.shape)
        if self.family == "pca":  # gamma is kernel PCA's alone
            candidates = list(dict.fromkeys((n, None) for n, _ in candidates))
        self.selection_ = []
        if len(candidates) == 1:
            self.chosen_ = {"n_components": candidates[0][0], "gamma": candidates[0][1]}
            self.estimator_ = self._estimator(*candidates[0], matrix.shape).fit(matrix)
        else:
            if val is None or not len(val.samples):
                raise ValueError(
                    f"{self.family}: choosing among {len(candidates)} settings (models.baseline) needs validation "
                    "tumors; the split has none"
                )
            held = concatenate_with_imputation(val, self.means_)
            best = None
            for n_components, gamma in candidates:
                estimator = self._estimator(n_components, gamma, matrix.shape, selecting=True).fit(matrix)
                score = self._validation_score(estimator, held)
                self.selection_.append({"n_components": n_components, "gamma": gamma, "score": score})
                if best is None or score > best[0]:
                    best = (score, n_components, gamma, estimator)
            _, n_components, gamma, self.estimator_ = best
            self.chosen_ = {"n_components": n_components, "gamma": gamma}
            log.info(
                "%s: chose n_components %d, gamma %s on %d validation tumors (n_components/gamma: score; %s)",
                self.family,
                n_components,
                _short(gamma),
                held.shape[0],
                "; ".join(f"{c['n_components']}/{_short(c['gamma'])}: {c['score']:.5g}" for c in self.selection_),
            )
        self.n_fit_samples_ = int(matrix.shape[0])
        return self

    def _estimator(self, n_components: int, gamma: float | None, shape: tuple[int, int], selecting: bool = False):
        if self.family == "pca":
            # Exact SVD while it is cheap; beyond, randomized SVD (seeded), whose memory is O(n x components)
            # rather than the full SVD's O(min(n, p)^2) workspace (2 GB at 6,000 x 14,000).
            exact = min(shape) <= EXACT_SVD_MAX_DIM
            return PCA(n_components=n_components, svd_solver="full" if exact else "randomized", random_state=self.seed)
        # The pre-image map is learned only to score candidates; a single setting does without it.
        return KernelPCA(
            n_components=n_components,
            kernel=self.settings.kernel,
            gamma=gamma,
            eigen_solver="dense",
            fit_inverse_transform=selecting,
        )

    def _validation_score(self, estimator, held: np.ndarray) -> float:
        """Higher is better: PCA's mean log-likelihood of the validation tumors under probabilistic PCA, kernel
        PCA's negative mean squared error of their reconstruction."""
        if self.family == "pca":
            return float(estimator.score(held))
        reconstructed = estimator.inverse_transform(estimator.transform(held))
        return -float(np.mean((reconstructed - held) ** 2))

    def transform(self, source: ModalityBatchSource) -> np.ndarray:
        """Components of every tumor, a block of tumors at a time: neither the whole concatenated matrix nor,
        for kernel PCA, the whole tumors x fitted-tumors kernel is ever held at once."""
        blocks = []
        for start in range(0, len(source.samples), TRANSFORM_BLOCK):
            rows = slice(start, start + TRANSFORM_BLOCK)
            matrix = concatenate_with_imputation(source, self.means_, rows)
            blocks.append(self.estimator_.transform(matrix).astype(np.float32))
        return np.concatenate(blocks) if blocks else np.zeros((0, self.estimator_.n_components), np.float32)

    @property
    def modality_names(self) -> list[str]:
        """The modalities in the order the extractor concatenates them (the order it was fitted on)."""
        return list(self.means_)

    def save(self, path: str | Path) -> None:
        """The fitted extractor (scikit-learn estimator, block means, settings) as a joblib file, so
        ``python -m oncoae encode`` can apply it to new tumors. joblib files are pickles: load only a run's own."""
        import joblib

        from oncoae.atomic import atomic_path

        with atomic_path(path) as temporary:
            joblib.dump(self, temporary)

    @classmethod
    def load(cls, path: str | Path) -> BaselineExtractor:
        import joblib

        extractor = joblib.load(path)
        if not isinstance(extractor, cls):
            raise TypeError(f"{path}: not a fitted oncoae baseline")
        return extractor


def fit_baseline(
    name: str, family: str, settings: BaselineSettings, normalized: Mapping[str, str | Path]
) -> tuple[ad.AnnData, BaselineExtractor]:
    """The baseline step: ``family`` (pca, kpca) fitted on the training tumors of the normalized modalities
    (``normalized``: file by modality), and the latents of every tumor (``uns``: the model's ``name`` and
    ``n_fit_samples``) with the fitted extractor."""
    adatas = {modality: ad.read_h5ad(path) for modality, path in normalized.items()}
    train = assemble_modalities(adatas, samples_in_split(adatas, "train"))
    val = assemble_modalities(adatas, samples_in_split(adatas, "val"))
    everyone = assemble_modalities(adatas, sorted({s for a in adatas.values() for s in a.obs_names}))
    modality_names = list(adatas)
    obs = clinical_of(adatas, everyone.samples)
    del adatas  # the assembled matrices hold what is needed
    extractor = BaselineExtractor(family, settings).fit(train, val)
    del train, val
    latent = extractor.transform(everyone)
    uns = {"model": name, "n_fit_samples": extractor.n_fit_samples_, "n_components": int(latent.shape[1])}
    if extractor.selection_:
        uns["selection"] = {
            key: np.array([c[key] if c[key] is not None else np.nan for c in extractor.selection_], dtype=float)
            for key in ("n_components", "gamma", "score")
        }
    adata = latent_anndata(everyone.samples, latent, obs, everyone.presence, modality_names, uns=uns)
    log.info("%s fitted on %d training tumors; %d components", family, extractor.n_fit_samples_, latent.shape[1])
    return adata, extractor
