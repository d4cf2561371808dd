"""Survival across clusters and from latents, with lifelines."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import concordance_index

log = logging.getLogger(__name__)


@dataclass
class SurvivalData:
    time: np.ndarray
    event: np.ndarray

    @classmethod
    def from_table(cls, table: pd.DataFrame, time_column: str, event_column: str) -> SurvivalData:
        return cls(table[time_column].to_numpy(float), table[event_column].to_numpy(float))

    def usable(self) -> np.ndarray:
        return np.isfinite(self.time) & np.isfinite(self.event) & (self.time >= 0)


def logrank_p(clusters: np.ndarray, survival: SurvivalData) -> float:
    """Multivariate log-rank p-value across clusters (asymptotic chi-square); NaN with fewer than 2 groups."""
    ok = survival.usable()
    if len(np.unique(clusters[ok])) < 2 or survival.event[ok].sum() == 0:
        return float("nan")
    result = multivariate_logrank_test(survival.time[ok], clusters[ok], survival.event[ok])
    return float(result.p_value)


def cox_concordance(
    train_latent: np.ndarray,
    train_survival: SurvivalData,
    test_latent: np.ndarray,
    test_survival: SurvivalData,
    penalizer: float,
) -> float:
    """C-index on test tumors of a ridge-penalized Cox model fitted on training latents only.

    Latent dimensions are standardized with training statistics so the penalty treats them alike.
    """
    train_ok, test_ok = train_survival.usable(), test_survival.usable()
    if train_survival.event[train_ok].sum() < 2 or test_survival.event[test_ok].sum() < 1:
        return float("nan")
    center = train_latent[train_ok].mean(axis=0)
    scale = train_latent[train_ok].std(axis=0)
    scale[scale == 0] = 1.0
    columns = [f"z{i}" for i in range(train_latent.shape[1])]
    frame = pd.DataFrame((train_latent[train_ok] - center) / scale, columns=columns)
    frame["time"] = train_survival.time[train_ok]
    frame["event"] = train_survival.event[train_ok]
    model = CoxPHFitter(penalizer=penalizer).fit(frame, duration_col="time", event_col="event")
    test_frame = pd.DataFrame((test_latent[test_ok] - center) / scale, columns=columns)
    risk = model.predict_partial_hazard(test_frame).to_numpy()
    return float(concordance_index(test_survival.time[test_ok], -risk, test_survival.event[test_ok]))
