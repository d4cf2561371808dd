"""The evaluation step: cluster latents and score them on held-out tumors, for one model over its seeds. It calls
the metrics (metrics.py, clustering.py, survival.py, enrichment.py) and lays their results out as tables.

Everything fitted (k-means centroids, the choice of k, Cox coefficients) sees training tumors only; every score
is computed on test tumors. The metrics that choose the best model are also computed on validation tumors
(``val_`` rows, through the same fitted centroids and Cox model; see evaluation/ranking.py). Graph (Leiden)
clusters are built on the held-out tumors' own neighbour graph.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from oncoae.evaluation.clustering import FittedClustering, centroid_rows, fit_kmeans, leiden_sweep, silhouette_curve
from oncoae.evaluation.enrichment import ENRICHMENT_COLUMNS, clinical_enrichment, count_enriched
from oncoae.evaluation.metrics import cluster_silhouette, label_agreement
from oncoae.evaluation.ranking import VALIDATION_PREFIX
from oncoae.evaluation.survival import (
    ConcordanceCI,
    CoxRiskModel,
    SurvivalData,
    bootstrap_risk_concordance,
    fit_cox_risk,
    logrank_p,
    permutation_logrank_p,
    risk_concordance,
)

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = ["model", "seed", "metric", "label", "value"]
# Leave-one-modality-out: a metric with and without each modality (masked through the presence mask).
CONTRIBUTION_COLUMNS = [
    "model",
    "seed",
    "modality",
    "metric",
    "label",
    "with_modality",
    "without_modality",
    "drop",
    "n_tumors",
]
WITHOUT_PREFIX = "X_latent_without_"


@dataclass
class ClusteringSettings:
    k: int | None = 4
    k_range: tuple[int, int] = (2, 8)
    n_init: int = 10

    @classmethod
    def from_config(cls, section: Mapping) -> ClusteringSettings:
        k = section.get("k", 4)
        return cls(
            k=None if k == "auto" else int(k),
            k_range=tuple(section.get("k_range", (2, 8))),
            n_init=int(section.get("n_init", 10)),
        )


@dataclass
class EvaluationSettings:
    """The ``evaluation:`` config section plus the clinical columns it scores against."""

    labels: Sequence[str] = ()
    survival_columns: tuple[str, str] | None = None
    cox_penalizer: float = 0.1
    permutations: int = 1000
    max_permutations: int = 10_000
    bootstrap: int = 1000
    confidence_level: float = 0.95
    enrichment_columns: Sequence[str] = ()
    alpha: float = 0.05
    leiden_resolutions: Sequence[float] = ()

    @classmethod
    def from_config(cls, config: Mapping) -> EvaluationSettings:
        section, clinical = config["evaluation"], config["clinical"]
        survival = clinical.get("survival")
        return cls(
            labels=list(clinical.get("labels", [])),
            survival_columns=(survival["time"], survival["event"]) if survival else None,
            cox_penalizer=section["cox_penalizer"],
            permutations=section["permutations"],
            max_permutations=section["max_permutations"],
            bootstrap=section["bootstrap"],
            confidence_level=section["confidence_level"],
            enrichment_columns=list(section["enrichment_columns"]),
            alpha=section["alpha"],
            leiden_resolutions=list(section["leiden_resolutions"]),
        )


@dataclass
class ModelClusters:
    """k-means of one model over its seeds: assignments (sample, seed, split, cluster), the silhouette by k on
    training latents (seed, k, silhouette), the centroids (model, seed, cluster, dim, value) and the fitted
    models by seed."""

    assignments: pd.DataFrame
    k_curves: pd.DataFrame
    centroids: pd.DataFrame
    fitted: dict[int, FittedClustering] = field(default_factory=dict)


def cluster_latents(model: str, latents: Mapping[int, ad.AnnData], settings: ClusteringSettings) -> ModelClusters:
    """k-means per seed, fitted on training latents and applied to every tumor, with the silhouette curve."""
    assignments, k_curves, centroids, fitted_by_seed = [], [], [], {}
    for seed, adata in latents.items():
        latent = adata.obsm["X_latent"]
        is_train = (adata.obs["split"] == "train").to_numpy()
        fitted = fit_kmeans(latent[is_train], settings.k, settings.k_range, seed=seed, n_init=settings.n_init)
        fitted_by_seed[seed] = fitted
        assignments.append(
            pd.DataFrame(
                {
                    "sample": adata.obs_names,
                    "seed": seed,
                    "split": adata.obs["split"].to_numpy(),
                    "cluster": fitted.assign(latent),
                }
            )
        )
        curve = fitted.silhouette_by_k or silhouette_curve(latent[is_train], settings.k_range, seed, settings.n_init)
        k_curves += [{"seed": seed, "k": k, "silhouette": s, "chosen": k == fitted.k} for k, s in curve.items()]
        centroids += centroid_rows(model, seed, fitted)
    return ModelClusters(
        assignments=pd.concat(assignments, ignore_index=True),
        k_curves=pd.DataFrame(k_curves, columns=["seed", "k", "silhouette", "chosen"]),
        centroids=pd.DataFrame(centroids, columns=["model", "seed", "cluster", "dim", "value"]),
        fitted=fitted_by_seed,
    )


@dataclass
class ModelEvaluation:
    """Tidy tables of one model over its seeds.

    ``metrics``: model, seed, metric, label, value. ``contributions``: model, seed, modality, metric, label,
    with_modality, without_modality, drop, n_tumors. ``leiden``: model, seed, resolution, n_clusters, label, ari,
    nmi. ``enrichment``: model, seed, column, test, statistic, p_value, p_adjusted, enriched, n.
    """

    metrics: pd.DataFrame
    contributions: pd.DataFrame
    leiden: pd.DataFrame
    enrichment: pd.DataFrame


def _survival_rows(
    latent: np.ndarray,
    obs: pd.DataFrame,
    is_test: np.ndarray,
    test_clusters: np.ndarray,
    cox: CoxRiskModel | None,
    settings: EvaluationSettings,
    seed: int,
) -> list[dict]:
    time_column, event_column = settings.survival_columns
    test_survival = SurvivalData.from_table(obs.loc[is_test], time_column, event_column)
    permutation = permutation_logrank_p(
        test_clusters, test_survival, settings.permutations, max(settings.permutations, settings.max_permutations), seed
    )
    # The one Cox model of this seed (fitted on training tumors): the test C-index, its interval, and the
    # validation and leave-one-modality-out scores all come from it.
    interval = (
        bootstrap_risk_concordance(
            cox, latent[is_test], test_survival, settings.bootstrap, settings.confidence_level, seed
        )
        if cox is not None
        else ConcordanceCI(float("nan"), float("nan"), float("nan"), 0)
    )
    rows = [
        ("logrank_p", logrank_p(test_clusters, test_survival)),
        ("logrank_p_permutation", permutation.p_value),
        ("logrank_permutations", float(permutation.n_permutations_run)),
        ("c_index", interval.c_index),
        ("c_index_low", interval.low),
        ("c_index_high", interval.high),
    ]
    if "risk_score" in obs.columns:
        # The Cox head's own score, fitted with the network on training tumors only.
        rows.append(("c_index_head", risk_concordance(obs.loc[is_test, "risk_score"].to_numpy(float), test_survival)))
    return [{"metric": metric, "label": time_column, "value": value} for metric, value in rows]


def _train_cox(
    latent: np.ndarray, obs: pd.DataFrame, is_train: np.ndarray, settings: EvaluationSettings
) -> CoxRiskModel | None:
    """The Cox model on training latents that scores masked latents and validation tumors (None without survival
    or with too few training events)."""
    if settings.survival_columns is None:
        return None
    try:
        return fit_cox_risk(
            latent[is_train],
            SurvivalData.from_table(obs.loc[is_train], *settings.survival_columns),
            settings.cox_penalizer,
        )
    except ValueError:
        return None


def _validation_rows(
    latent: np.ndarray,
    obs: pd.DataFrame,
    clusters: np.ndarray,
    cox: CoxRiskModel | None,
    settings: EvaluationSettings,
) -> list[dict]:
    """The metrics that choose the best model (ARI/NMI/AMI per label, the Cox C-index) on validation tumors,
    through the same train-fitted centroids and Cox model as the test figures (see evaluation/ranking.py)."""
    rows = []
    for label in settings.labels:
        for metric, value in label_agreement(clusters, obs[label]).items():
            rows.append({"metric": VALIDATION_PREFIX + metric, "label": label, "value": value})
    if settings.survival_columns is not None:
        survival = SurvivalData.from_table(obs, *settings.survival_columns)
        value = risk_concordance(cox(latent), survival) if cox is not None else float("nan")
        rows.append({"metric": VALIDATION_PREFIX + "c_index", "label": settings.survival_columns[0], "value": value})
    return rows


def _contribution_rows(
    adata: ad.AnnData,
    fitted: FittedClustering,
    cox: CoxRiskModel | None,
    is_test: np.ndarray,
    settings: EvaluationSettings,
) -> list[dict]:
    """Leave-one-modality-out: each metric on the held-out tumors that have the modality (and another one),
    from the full latent and from the latent with that modality masked; the drop is what the modality adds.

    The masked latents go through the same train-fitted centroids and Cox model as the full ones.
    """
    rows = []
    latent = adata.obsm["X_latent"]
    obs = adata.obs
    for key in [k for k in adata.obsm if k.startswith(WITHOUT_PREFIX)]:
        modality = key.removeprefix(WITHOUT_PREFIX)
        masked = adata.obsm[key]
        subset = is_test & obs[f"has_{modality}"].astype(bool).to_numpy() & np.isfinite(masked).all(axis=1)
        if subset.sum() < 5:
            continue
        full_clusters, masked_clusters = fitted.assign(latent[subset]), fitted.assign(masked[subset])
        pairs = []
        for label in settings.labels:
            full = label_agreement(full_clusters, obs.loc[subset, label])["ari"]
            without = label_agreement(masked_clusters, obs.loc[subset, label])["ari"]
            pairs.append(("ari", label, full, without))
        if cox is not None:
            survival = SurvivalData.from_table(obs.loc[subset], *settings.survival_columns)
            if survival.event[survival.usable()].sum() > 0:
                scores = [risk_concordance(cox(values), survival) for values in (latent[subset], masked[subset])]
                pairs.append(("c_index", settings.survival_columns[0], *scores))
        for metric, label, full, without in pairs:
            rows.append(
                {
                    "modality": modality,
                    "metric": metric,
                    "label": label,
                    "with_modality": float(full),
                    "without_modality": float(without),
                    "drop": float(full - without),
                    "n_tumors": int(subset.sum()),
                }
            )
    return rows


def _leiden_rows(
    latent: np.ndarray, obs: pd.DataFrame, is_test: np.ndarray, settings: EvaluationSettings, seed: int
) -> list[dict]:
    if not settings.leiden_resolutions or is_test.sum() < 10:
        return []
    rows = []
    for resolution, clusters in leiden_sweep(latent[is_test], settings.leiden_resolutions, seed).items():
        n_clusters = len(np.unique(clusters))
        for label in settings.labels or [""]:
            agreement = label_agreement(clusters, obs.loc[is_test, label]) if label else {"ari": np.nan, "nmi": np.nan}
            rows.append(
                {
                    "resolution": resolution,
                    "n_clusters": n_clusters,
                    "label": label,
                    "ari": agreement["ari"],
                    "nmi": agreement["nmi"],
                }
            )
    return rows


def evaluate_seed(
    adata: ad.AnnData, clusters: pd.Series, fitted: FittedClustering, settings: EvaluationSettings, seed: int
) -> tuple[list[dict], list[dict], list[dict], pd.DataFrame]:
    """Metric, contribution and Leiden rows, and the enrichment table, on the held-out tumors of one seed."""
    obs = adata.obs
    latent = adata.obsm["X_latent"]
    is_test = (obs["split"] == "test").to_numpy()
    is_train = (obs["split"] == "train").to_numpy()
    test_clusters = clusters.reindex(obs.index[is_test]).to_numpy()
    rows: list[dict] = [
        {"metric": "n_test", "label": "", "value": float(is_test.sum())},
        {"metric": "n_clusters", "label": "", "value": float(len(np.unique(test_clusters)))},
        {"metric": "silhouette", "label": "", "value": cluster_silhouette(latent[is_test], test_clusters)},
    ]
    for label in settings.labels:
        for metric, value in label_agreement(test_clusters, obs.loc[is_test, label]).items():
            rows.append({"metric": metric, "label": label, "value": value})
    cox = _train_cox(latent, obs, is_train, settings)
    if settings.survival_columns is not None:
        rows += _survival_rows(latent, obs, is_test, test_clusters, cox, settings, seed)
    enrichment = pd.DataFrame(columns=ENRICHMENT_COLUMNS)
    if settings.enrichment_columns:
        enrichment = clinical_enrichment(
            test_clusters, obs.loc[is_test], list(settings.enrichment_columns), alpha=settings.alpha
        )
        rows.append({"metric": "n_enriched", "label": "", "value": float(count_enriched(enrichment))})
    for column in obs.columns:
        if column.startswith("reconstruction_error_"):
            rows.append(
                {
                    "metric": "reconstruction_error",
                    "label": column.removeprefix("reconstruction_error_"),
                    "value": float(np.nanmean(obs.loc[is_test, column].to_numpy(float))),
                }
            )
    is_val = (obs["split"] == "val").to_numpy()
    if is_val.any():
        val_clusters = clusters.reindex(obs.index[is_val]).to_numpy()
        rows += _validation_rows(latent[is_val], obs.loc[is_val], val_clusters, cox, settings)
    contributions = _contribution_rows(adata, fitted, cox, is_test, settings)
    leiden = _leiden_rows(latent, obs, is_test, settings, seed)
    return rows, contributions, leiden, enrichment


def evaluate_model(
    model: str, latents: Mapping[int, ad.AnnData], clusters: ModelClusters, settings: EvaluationSettings
) -> ModelEvaluation:
    """Every table of one model over its seeds."""
    metric_rows, contribution_rows, leiden_rows, enrichment_tables = [], [], [], []
    for seed, adata in latents.items():
        seed_clusters = clusters.assignments[clusters.assignments["seed"] == seed].set_index("sample")["cluster"]
        rows, contributions, leiden, enrichment = evaluate_seed(
            adata, seed_clusters, clusters.fitted[seed], settings, seed
        )
        metric_rows += [{"model": model, "seed": seed, **row} for row in rows]
        contribution_rows += [{"model": model, "seed": seed, **row} for row in contributions]
        leiden_rows += [{"model": model, "seed": seed, **row} for row in leiden]
        if not enrichment.empty:
            enrichment_tables.append(enrichment.assign(model=model, seed=seed))
    return ModelEvaluation(
        metrics=pd.DataFrame(metric_rows, columns=SUMMARY_COLUMNS),
        contributions=pd.DataFrame(contribution_rows, columns=CONTRIBUTION_COLUMNS),
        leiden=pd.DataFrame(leiden_rows, columns=["model", "seed", "resolution", "n_clusters", "label", "ari", "nmi"]),
        enrichment=pd.concat(enrichment_tables, ignore_index=True)
        if enrichment_tables
        else pd.DataFrame(columns=[*ENRICHMENT_COLUMNS, "model", "seed"]),
    )


GROUP_TABLES = ("clusters", "k_selection", "centroids", "metrics", "contributions", "leiden", "enrichment")


def evaluate_group(
    latents: Iterable[tuple[str, Mapping[int, str | Path]]],
    clustering: ClusteringSettings,
    evaluation: EvaluationSettings,
) -> dict[str, pd.DataFrame]:
    """The cluster-and-evaluate step of a group of models: ``cluster_latents`` and ``evaluate_model`` of each
    model (``latents``: its latent file by seed, read one model at a time), as one table per name of
    ``GROUP_TABLES``."""
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in GROUP_TABLES}
    for model, paths in latents:
        by_seed = {int(seed): ad.read_h5ad(path) for seed, path in paths.items()}
        clusters = cluster_latents(model, by_seed, clustering)
        evaluated = evaluate_model(model, by_seed, clusters, evaluation)
        tables["clusters"].append(clusters.assignments.assign(model=model))
        tables["k_selection"].append(clusters.k_curves.assign(model=model))
        tables["centroids"].append(clusters.centroids)
        tables["metrics"].append(evaluated.metrics)
        tables["contributions"].append(evaluated.contributions)
        tables["leiden"].append(evaluated.leiden)
        tables["enrichment"].append(evaluated.enrichment)
        log.info("%s: clustered and scored %d seeds", model, len(by_seed))
    return {name: pd.concat(frames, ignore_index=True) for name, frames in tables.items()}
