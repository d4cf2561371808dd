"""Tumor types on held-out tumors: how well a latent (or the raw matrix, or a classification head) tells the
configured type column (``evaluation.tumor_type``, e.g. TCGA cancer type) apart.

Three readings, all scored on test tumors with a known type:

- ``head``: the classification head's own prediction (argmax of the class probabilities the encoding stored in
  ``obsm["X_class_probabilities"]``), for autoencoders that have one;
- ``latent_lr`` (or ``raw_lr`` on a normalized modality): a multinomial logistic regression fitted on the
  training tumors' latents (standardized with training statistics), the supervised read-out of a latent;
- ``kmeans``: k-means with k = the number of types among training tumors, fitted on training latents, against
  the type (ARI, NMI, AMI).

Classification figures are accuracy, balanced accuracy (mean per-type recall), macro-F1 over the types present
among held-out tumors, per-type recall and a confusion matrix (types ordered by held-out count, then name).

``within_type_survival`` clusters one type's tumors in the pan-cancer latent (k-means fitted on that type's
training tumors; k configured or by silhouette on them) and tests survival across the held-out clusters.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.preprocessing import StandardScaler

from oncoae.data.modality import dense_rows
from oncoae.evaluation.clustering import fit_kmeans
from oncoae.evaluation.metrics import label_agreement
from oncoae.evaluation.survival import SurvivalData, logrank_p, permutation_logrank_p

METRIC_COLUMNS = ["model", "seed", "method", "metric", "value"]
RECALL_COLUMNS = ["model", "seed", "method", "type", "n_test", "n_correct", "recall"]
CONFUSION_COLUMNS = ["model", "seed", "method", "true_type", "predicted_type", "count"]
WITHIN_TYPE_COLUMNS = [
    "model",
    "seed",
    "type",
    "k",
    "n_train",
    "n_test",
    "cluster_sizes",
    "n_test_evaluable",
    "n_events",
    "logrank_p",
    "logrank_p_permutation",
]
log = logging.getLogger(__name__)

HEAD_KEY = "X_class_probabilities"
# Logistic regression: lbfgs multinomial with sklearn's default C; enough iterations for 0/1 gene matrices.
LR_MAX_ITER = 2000


@dataclass
class TypeScores:
    """Tidy tables (METRIC_COLUMNS, RECALL_COLUMNS, CONFUSION_COLUMNS) of one or more models."""

    metrics: list[dict] = field(default_factory=list)
    recall: list[dict] = field(default_factory=list)
    confusion: list[dict] = field(default_factory=list)

    def extend(self, other: TypeScores) -> None:
        self.metrics += other.metrics
        self.recall += other.recall
        self.confusion += other.confusion

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        return (
            pd.DataFrame(self.metrics, columns=METRIC_COLUMNS),
            pd.DataFrame(self.recall, columns=RECALL_COLUMNS),
            pd.DataFrame(self.confusion, columns=CONFUSION_COLUMNS),
        )


def type_order(truth: Sequence[str]) -> list[str]:
    """Types by count among ``truth`` (largest first), ties alphabetically: the order of tables and figures."""
    counts = pd.Series(list(truth), dtype=object).value_counts()
    return sorted(counts.index, key=lambda name: (-counts[name], str(name)))


def _balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean recall over the types of ``truth`` (a predicted type never held out counts as a miss, silently)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return float(balanced_accuracy_score(truth, predicted))


def classification_scores(
    truth: Sequence[str], predicted: Sequence[str], model: str, seed: int, method: str
) -> TypeScores:
    """Accuracy, balanced accuracy, macro-F1, per-type recall and the confusion matrix of predictions.

    ``truth`` and ``predicted`` are the held-out tumors' types (strings); predicted types outside ``truth``'s
    types still appear as columns of the confusion matrix, whose counts add up to the number of tumors.
    """
    truth = np.asarray(truth, dtype=object).astype(str)
    predicted = np.asarray(predicted, dtype=object).astype(str)
    order = type_order(truth)
    columns = order + sorted(set(predicted) - set(order))
    scores = TypeScores()
    key = {"model": model, "seed": seed, "method": method}
    values = {
        "n_test": float(len(truth)),
        "n_types": float(len(order)),
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": _balanced_accuracy(truth, predicted),
        "macro_f1": float(f1_score(truth, predicted, labels=order, average="macro", zero_division=0)),
    }
    scores.metrics = [{**key, "metric": name, "value": value} for name, value in values.items()]
    table = pd.crosstab(pd.Series(truth, name="true"), pd.Series(predicted, name="predicted"))
    table = table.reindex(index=order, columns=columns, fill_value=0)
    for name in order:
        n, correct = int(table.loc[name].sum()), int(table.at[name, name]) if name in table.columns else 0
        scores.recall.append({**key, "type": name, "n_test": n, "n_correct": correct, "recall": correct / n})
    for true_type in order:
        for predicted_type in columns:
            scores.confusion.append(
                {
                    **key,
                    "true_type": true_type,
                    "predicted_type": predicted_type,
                    "count": int(table.at[true_type, predicted_type]),
                }
            )
    return scores


def logistic_predictions(
    train_x: np.ndarray, train_y: Sequence[str], test_x: np.ndarray, seed: int = 0, standardize: bool = True
) -> np.ndarray:
    """Types of ``test_x`` from a multinomial logistic regression fitted on ``train_x`` / ``train_y`` only; with
    ``standardize`` both are standardized with training statistics (constant features left as they are)."""
    if standardize:
        scaler = StandardScaler().fit(train_x)
        train_x, test_x = scaler.transform(train_x), scaler.transform(test_x)
    model = LogisticRegression(max_iter=LR_MAX_ITER, random_state=seed)
    model.fit(train_x, np.asarray(train_y, dtype=str))
    return model.predict(test_x)


def _labelled(obs: pd.DataFrame, label: str, split: str) -> np.ndarray:
    return ((obs["split"] == split) & obs[label].notna()).to_numpy()


def head_predictions(adata: ad.AnnData) -> np.ndarray | None:
    """The classification head's predicted type of every tumor (argmax of its class probabilities), or None."""
    if HEAD_KEY not in adata.obsm or "class_names" not in adata.uns:
        return None
    names = np.asarray(list(adata.uns["class_names"]), dtype=object)
    probabilities = np.asarray(adata.obsm[HEAD_KEY])
    return names[np.argmax(probabilities, axis=1)].astype(str)


class TumorTypeError(ValueError):
    pass


def _check_label(obs: pd.DataFrame, label: str) -> None:
    if label not in obs.columns:
        raise TumorTypeError(
            f"evaluation.tumor_type: column {label!r} is not in the clinical table; "
            f"columns: {sorted(map(str, obs.columns))[:30]}"
        )


def score_latent(
    model: str, seed: int, adata: ad.AnnData, label: str, n_init: int = 10, use_head: bool = True
) -> TypeScores:
    """Every tumor-type figure of one latent (``obsm["X_latent"]``, obs ``split`` and ``label``): the head's
    predictions (with ``use_head``, when the latent has them), logistic regression on training latents, k-means
    with k = number of training types (seeded by ``seed``)."""
    obs = adata.obs
    _check_label(obs, label)
    latent = np.asarray(adata.obsm["X_latent"], dtype=np.float64)
    finite = np.isfinite(latent).all(axis=1)
    train, test = _labelled(obs, label, "train") & finite, _labelled(obs, label, "test") & finite
    truth = obs.loc[test, label].astype(str).to_numpy()
    scores = TypeScores()
    predicted = head_predictions(adata) if use_head else None
    if predicted is not None:
        scores.extend(classification_scores(truth, predicted[test], model, seed, "head"))
    train_y = obs.loc[train, label].astype(str).to_numpy()
    scores.extend(
        classification_scores(
            truth, logistic_predictions(latent[train], train_y, latent[test], seed), model, seed, "latent_lr"
        )
    )
    k = len(set(train_y))
    clusters = KMeans(k, n_init=n_init, random_state=seed).fit(latent[(obs["split"] == "train").to_numpy() & finite])
    agreement = label_agreement(clusters.predict(latent[test]), obs.loc[test, label])
    key = {"model": model, "seed": seed, "method": "kmeans"}
    scores.metrics += [{**key, "metric": "k", "value": float(k)}]
    scores.metrics += [{**key, "metric": metric, "value": value} for metric, value in agreement.items()]
    return scores


def score_matrix(
    name: str, values: np.ndarray, obs: pd.DataFrame, label: str, seed: int = 0, standardize: bool = True
) -> TypeScores:
    """The supervised reference: logistic regression on a normalized modality (tumors x features), fitted on its
    training tumors, scored on its held-out ones (method ``raw_lr``). A 0/1 gene matrix is best left
    unstandardized (``standardize=False``): standardizing lets genes mutated in 1 % of tumors weigh as much as
    TP53 (measured on the shared pan-cancer set: balanced accuracy 0.280 standardized vs 0.340 as 0/1)."""
    _check_label(obs, label)
    train, test = _labelled(obs, label, "train"), _labelled(obs, label, "test")
    train_y = obs.loc[train, label].astype(str).to_numpy()
    truth = obs.loc[test, label].astype(str).to_numpy()
    predicted = logistic_predictions(values[train], train_y, values[test], seed, standardize)
    return classification_scores(truth, predicted, name, seed, "raw_lr")


def within_type_survival(
    model: str,
    seed: int,
    adata: ad.AnnData,
    label: str,
    types: Sequence[str],
    survival_columns: tuple[str, str],
    k: int | None,
    k_range: tuple[int, int],
    n_init: int = 10,
    permutations: int = 1000,
    max_permutations: int = 10_000,
) -> list[dict]:
    """Subtypes within each of ``types``: k-means on that type's training latents (k, or by silhouette over
    ``k_range`` with ``k=None``), held-out tumors of the type assigned to its centroids (``cluster_sizes``: how
    many in each, as "n1 / n2 / ..."), and the log-rank p across those clusters (asymptotic and by permutation) on
    the held-out tumors with usable survival."""
    obs = adata.obs
    latent = np.asarray(adata.obsm["X_latent"], dtype=np.float64)
    finite = np.isfinite(latent).all(axis=1)
    rows = []
    for name in types:
        of_type = (obs[label].astype(str) == str(name)).to_numpy() & finite
        train = of_type & (obs["split"] == "train").to_numpy()
        test = of_type & (obs["split"] == "test").to_numpy()
        row = {"model": model, "seed": seed, "type": name, "n_train": int(train.sum()), "n_test": int(test.sum())}
        survival = SurvivalData.from_table(obs.loc[test], *survival_columns)
        usable = survival.usable()
        row |= {"n_test_evaluable": int(usable.sum()), "n_events": int(survival.event[usable].sum())}
        if train.sum() < 4 or test.sum() < 2:
            rows.append({**row, "k": np.nan, "cluster_sizes": "", "logrank_p": np.nan, "logrank_p_permutation": np.nan})
            continue
        fitted = fit_kmeans(latent[train], k, (k_range[0], min(k_range[1], int(train.sum()) - 1)), seed, n_init)
        clusters = fitted.assign(latent[test])
        permutation = permutation_logrank_p(clusters, survival, permutations, max(permutations, max_permutations), seed)
        rows.append(
            {
                **row,
                "k": fitted.k,
                # Held-out tumors per cluster: a split that sets one extreme tumor apart (UCEC's most mutated one
                # in the pan-cancer set, 61 / 1) is visible as such, not only as a p-value.
                "cluster_sizes": " / ".join(str(n) for n in np.bincount(clusters, minlength=fitted.k)),
                "logrank_p": logrank_p(clusters, survival),
                "logrank_p_permutation": permutation.p_value,
            }
        )
    return rows


@dataclass(frozen=True)
class WithinTypeSettings:
    """Subtypes within types (``within_type_survival``): the types, their survival columns (time, event), k
    (None: by silhouette over ``k_range``) and the permutation budget of the log-rank test."""

    types: Sequence[str]
    survival_columns: tuple[str, str]
    k: int | None
    k_range: tuple[int, int]
    permutations: int = 1000
    max_permutations: int = 10_000


def tumor_type_tables(
    label: str,
    latents: Iterable[tuple[str, int, str | Path]],
    normalized: Mapping[str, str | Path],
    kinds: Mapping[str, str],
    head_models: Collection[str],
    reference_seed: int,
    within_type: WithinTypeSettings | None = None,
    n_init: int = 10,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The evaluate_tumor_types step: (metrics, recall, confusion, within-type) tables.

    ``latents``: (model, seed, latent file) of every model and seed, read one at a time; ``head_models`` read out
    their classification head. Each normalized modality (``normalized``: file by modality) is scored by logistic
    regression as the supervised reference (seeded by ``reference_seed``), 0/1 calls (``kinds`` "binary")
    unstandardized (see ``score_matrix``). ``within_type``: subtypes within those types, if any.
    """
    scores, within = TypeScores(), []
    for model, seed, path in latents:
        adata = ad.read_h5ad(path)
        seed_scores = score_latent(model, seed, adata, label, n_init=n_init, use_head=model in head_models)
        scores.extend(seed_scores)
        if within_type is not None:
            within += within_type_survival(
                model,
                seed,
                adata,
                label,
                within_type.types,
                within_type.survival_columns,
                within_type.k,
                within_type.k_range,
                n_init=n_init,
                permutations=within_type.permutations,
                max_permutations=within_type.max_permutations,
            )
        found = {row["method"]: row["value"] for row in seed_scores.metrics if row["metric"] == "balanced_accuracy"}
        log.info("%s seed %s: balanced accuracy %s", model, seed, found)
    for modality, path in normalized.items():
        adata = ad.read_h5ad(path)
        values = dense_rows(adata.X).astype(np.float64)
        standardize = kinds[modality] != "binary"
        raw = score_matrix(f"raw_{modality}", values, adata.obs, label, seed=reference_seed, standardize=standardize)
        scores.extend(raw)
        log.info(
            "raw_%s (%d features): balanced accuracy %.3f",
            modality,
            adata.n_vars,
            next(r["value"] for r in raw.metrics if r["metric"] == "balanced_accuracy"),
        )
    metrics, recall, confusion = scores.frames()
    return metrics, recall, confusion, pd.DataFrame(within, columns=WITHIN_TYPE_COLUMNS)
