"""Which model is best for subtypes and for survival: chosen on validation tumors, reported on test tumors.

Picking the model with the best test figure makes the test tumors part of a fit (the choice of model), and the
figure quoted for it is then biased upwards by the choice, most on small cohorts where models are close. The
choice is made on validation tumors instead, with the same train-fitted k-means centroids and Cox model that
score the test tumors (``val_<metric>`` rows of summary.tsv); the chosen model's test figure is the one to quote.
The model with the best test figure is still named, as a reference, never as the choice.

Validation tumors are carved from the training side of the split: they stop the autoencoders' training early and
score hyperparameter trials, and are in no other fit (normalizers, PCA/kPCA, centroids and Cox models see training
tumors only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

VALIDATION_PREFIX = "val_"
# (question, metric): the metric that answers each question; higher is better for both.
QUESTIONS = (("subtypes", "ari"), ("survival", "c_index"))


def metric_statistics(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and number of seeds per (model, metric, label)."""
    frame = summary.copy()
    frame["label"] = frame["label"].fillna("")
    return frame.groupby(["model", "metric", "label"])["value"].agg(mean="mean", sd="std", n="count").reset_index()


def tie_margin(*sds: float) -> float:
    """The seed-to-seed sd that decides a tie: the larger of the two models' (a deterministic baseline has 0)."""
    finite = [sd for sd in sds if not np.isnan(sd)]
    return max(finite) if finite else 0.0


@dataclass(frozen=True)
class Standing:
    """One model's mean, sd and number of seeds on one metric."""

    model: str
    mean: float
    sd: float
    n: int


@dataclass(frozen=True)
class ModelChoice:
    """The answer to one question. ``chosen`` is best on validation tumors (None without validation rows),
    ``test`` its test figure, ``validation`` its validation figure and ``tied`` the models within one seed sd of
    it on validation; ``test_best`` is the best on test tumors, a reference only."""

    question: str
    metric: str
    label: str
    chosen: str | None
    validation: Standing | None
    test: Standing | None
    test_best: Standing | None
    tied: list[Standing] = field(default_factory=list)


def _standings(stats: pd.DataFrame, metric: str, label: str) -> list[Standing]:
    rows = stats[(stats["metric"] == metric) & (stats["label"] == label)].dropna(subset=["mean"])
    rows = rows.sort_values(["mean", "model"], ascending=[False, True])
    return [Standing(r.model, float(r.mean), float(r.sd), int(r.n)) for r in rows.itertuples()]


def choose_models(summary: pd.DataFrame, labels: dict[str, str | None]) -> list[ModelChoice]:
    """One ModelChoice per question whose label is set (``labels``: question -> summary label, e.g.
    {"subtypes": "pam50", "survival": "os_days"}) and that has test rows. Ties on validation keep the
    alphabetically first model, so the choice is deterministic."""
    stats = metric_statistics(summary)
    choices = []
    for question, metric in QUESTIONS:
        label = labels.get(question)
        if label is None:
            continue
        on_test = _standings(stats, metric, label)
        if not on_test:
            continue
        test_by_model = {s.model: s for s in on_test}
        on_validation = [s for s in _standings(stats, VALIDATION_PREFIX + metric, label) if s.model in test_by_model]
        chosen = on_validation[0] if on_validation else None
        tied = [s for s in on_validation[1:] if chosen.mean - s.mean <= tie_margin(chosen.sd, s.sd)] if chosen else []
        choices.append(
            ModelChoice(
                question=question,
                metric=metric,
                label=label,
                chosen=chosen.model if chosen else None,
                validation=chosen,
                test=test_by_model[chosen.model] if chosen else None,
                test_best=on_test[0],
                tied=tied,
            )
        )
    return choices
