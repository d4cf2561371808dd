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


# --- permutation log-rank ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermutationResult:
    """Permutation log-rank test: p_value = (1 + #{permuted >= observed}) / (1 + n_permutations_run).

    statistic is the observed multivariate log-rank chi-square statistic (as lifelines' test_statistic).
    """

    p_value: float
    n_permutations_run: int
    statistic: float


class _LogrankStatistic:
    """Multivariate log-rank statistic for many labelings of one fixed set of (time, event).

    Under label permutation the pooled quantities (event times t_i, deaths d_i, number at risk n_i) do not change;
    only the per-group numbers at risk n_ij and observed events O_j do. So the pooled part is precomputed once and
    the statistic is evaluated for a whole batch of labelings with array operations. The formulas are those of
    lifelines' multivariate_logrank_test (unweighted): Z_j = O_j - sum_i n_ij d_i / n_i,
    V_jj = sum_i c_i n_ij (n_i - n_ij), V_jl = -sum_i c_i n_ij n_il with c_i = d_i (n_i - d_i) / (n_i^2 (n_i - 1))
    (the ratio set to 1 when n_i = 1), U = Z' pinv(V) Z over all groups but one. Only event times enter: c_i and
    d_i vanish elsewhere. tests/test_survival_stats.py checks U equals lifelines' test_statistic to 1e-8.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, n_groups: int) -> None:
        self.order = np.argsort(time, kind="stable")
        sorted_time = time[self.order]
        self.is_event = event[self.order] != 0  # lifelines counts an event where event_observed is truthy
        n = len(sorted_time)
        _, first = np.unique(sorted_time, return_index=True)  # first sorted position of each distinct time
        deaths = np.add.reduceat(self.is_event.astype(float), first)
        at_risk = (n - first).astype(float)  # sorted by time: everyone from that position on is at risk
        has_death = deaths > 0
        positions = first[has_death]
        d, n_i = deaths[has_death], at_risk[has_death]
        ratio = np.ones_like(n_i)
        np.divide(n_i - d, n_i - 1, out=ratio, where=n_i > 1)
        factor = ratio * d / n_i**2
        self.m = len(positions)
        # A tumor is at risk at every event time up to and including its own time. Numbering event times from the
        # last (slot 0) to the first (slot m-1), it is at risk at every slot >= its own, so per-group counts of
        # tumors by slot, cumulated over slots, are the n_ij. Tumors before the first event time are never counted.
        last_event = np.searchsorted(positions, np.arange(n), side="right") - 1
        self.counted = last_event >= 0
        self.slot = (self.m - 1 - last_event)[self.counted]
        self.hazard = (d / n_i)[::-1].copy()  # per slot, like the cumulated counts
        self.factor = factor[::-1].copy()
        self.factor_total = (factor * n_i)[::-1].copy()
        self.n_groups = n_groups
        # Bound the (batch, groups, slots) count arrays to a few million entries.
        self.batch = max(1, 4_000_000 // max(1, n * n_groups))

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        """codes: (B, n) integer group codes 0..n_groups-1, tumors in time-sorted order -> (B,) statistics."""
        b, k, m = len(codes), self.n_groups, self.m
        group = np.arange(b)[:, None] * k + codes  # one bincount bin per (labeling, group)
        observed = np.bincount(group[:, self.is_event].ravel(), minlength=b * k).reshape(b, k)
        cell = (group[:, self.counted] * m + self.slot).ravel()
        # Cumulate in integers (exact, and much faster than a float cumsum over an int array), then cast.
        at_risk = np.cumsum(np.bincount(cell, minlength=b * k * m).reshape(b, k, m), axis=2).astype(float)
        z = (observed - at_risk @ self.hazard)[:, : k - 1]
        at_risk = at_risk[:, : k - 1]
        v = -np.einsum("bjm,blm->bjl", at_risk * self.factor, at_risk)
        diagonal = np.arange(k - 1)
        v[:, diagonal, diagonal] += at_risk @ self.factor_total
        return np.einsum("bj,bjl,bl->b", z, np.linalg.pinv(v), z)


def permutation_logrank_p(
    clusters: np.ndarray,
    survival: SurvivalData,
    n_permutations: int = 1000,
    max_permutations: int = 100_000,
    seed: int = 0,
) -> PermutationResult:
    """Permutation p-value of the multivariate log-rank test across clusters.

    clusters: (n,) cluster labels of the tumors; survival: their (n,) times and events. Tumors with unusable
    survival or a missing label are left out. The labels are shuffled among the remaining tumors (seeded numpy
    Generator), which keeps cluster sizes, and the log-rank statistic is recomputed per shuffle. Unlike the
    asymptotic chi-square p of logrank_p, this stays valid with tiny clusters or few events.

    Starts with n_permutations; while fewer than 10 permuted statistics reach the observed one (a p-value that
    small is poorly resolved) and fewer than max_permutations have run, runs ten times as many in total, keeping
    the earlier ones. Returns NaN p (and 0 permutations) with fewer than 2 clusters or no events.
    """
    if n_permutations < 1 or max_permutations < n_permutations:
        raise ValueError(f"need 1 <= n_permutations <= max_permutations, got {n_permutations}, {max_permutations}")
    clusters = np.asarray(clusters)
    ok = survival.usable() & ~pd.isna(clusters)
    labels, codes = np.unique(clusters[ok], return_inverse=True)
    time, event = survival.time[ok], survival.event[ok]
    if len(labels) < 2 or not np.any(event != 0):
        return PermutationResult(float("nan"), 0, float("nan"))
    statistic = _LogrankStatistic(time, event, len(labels))
    codes = codes[statistic.order]
    observed = float(statistic(codes[None, :])[0])
    # Permutations that reproduce the observed grouping give the same statistic up to rounding; count them.
    threshold = observed - 1e-9 * max(1.0, abs(observed))
    rng = np.random.default_rng(seed)
    n_run, exceed, target = 0, 0, n_permutations
    while True:
        while n_run < target:
            size = min(statistic.batch, target - n_run)
            shuffled = rng.permuted(np.broadcast_to(codes, (size, len(codes))), axis=1)
            exceed += int(np.count_nonzero(statistic(shuffled) >= threshold))
            n_run += size
        if exceed >= 10 or n_run >= max_permutations:
            break
        target = min(10 * n_run, max_permutations)
    return PermutationResult((1 + exceed) / (1 + n_run), n_run, observed)


# --- Cox model on latents ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoxRiskModel:
    """Ridge-penalized Cox model fitted on training latents; call it on (n, d) latents for (n,) partial hazards."""

    model: CoxPHFitter
    center: np.ndarray
    scale: np.ndarray

    @property
    def columns(self) -> list[str]:
        return [f"z{i}" for i in range(len(self.center))]

    @property
    def coefficients(self) -> np.ndarray:
        """(d,) log hazard ratios per standardized latent dimension."""
        return self.model.params_.to_numpy()

    def __call__(self, latent: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame((latent - self.center) / self.scale, columns=self.columns)
        return self.model.predict_partial_hazard(frame).to_numpy()


def fit_cox_risk(train_latent: np.ndarray, train_survival: SurvivalData, penalizer: float) -> CoxRiskModel:
    """Fit the Cox model on the usable training tumors only: (n, d) latents and their survival -> risk scorer.

    Latent dimensions are standardized with training statistics so the penalty treats them alike. Raises
    ValueError with fewer than 2 training events.
    """
    ok = train_survival.usable()
    if train_survival.event[ok].sum() < 2:
        raise ValueError("a Cox model needs at least 2 events among the training tumors")
    center = train_latent[ok].mean(axis=0)
    scale = train_latent[ok].std(axis=0)
    scale[scale == 0] = 1.0
    columns = [f"z{i}" for i in range(train_latent.shape[1])]
    frame = pd.DataFrame((train_latent[ok] - center) / scale, columns=columns)
    frame["time"] = train_survival.time[ok]
    frame["event"] = train_survival.event[ok]
    model = CoxPHFitter(penalizer=penalizer).fit(frame, duration_col="time", event_col="event")
    return CoxRiskModel(model, center, scale)


def _can_score(train_survival: SurvivalData, test_survival: SurvivalData) -> bool:
    train_ok, test_ok = train_survival.usable(), test_survival.usable()
    return train_survival.event[train_ok].sum() >= 2 and test_survival.event[test_ok].sum() >= 1


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
    if not _can_score(train_survival, test_survival):
        return float("nan")
    risk_model = fit_cox_risk(train_latent, train_survival, penalizer)
    test_ok = test_survival.usable()
    risk = risk_model(test_latent[test_ok])
    return float(concordance_index(test_survival.time[test_ok], -risk, test_survival.event[test_ok]))


def risk_concordance(risk: np.ndarray, survival: SurvivalData) -> float:
    """Harrell's C-index of a risk score (higher = earlier event) over the tumors with usable survival and a
    finite score; NaN with fewer than two of them or without an event among them."""
    usable = survival.usable() & np.isfinite(risk)
    if usable.sum() < 2 or survival.event[usable].sum() == 0:
        return float("nan")
    return float(concordance_index(survival.time[usable], -risk[usable], survival.event[usable]))


@dataclass(frozen=True)
class ConcordanceCI:
    """Test C-index with a percentile bootstrap interval; n_boot counts the resamples that had a C-index."""

    c_index: float
    low: float
    high: float
    n_boot: int


def bootstrap_concordance_ci(
    train_latent: np.ndarray,
    train_survival: SurvivalData,
    test_latent: np.ndarray,
    test_survival: SurvivalData,
    penalizer: float,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> ConcordanceCI:
    """C-index of cox_concordance with a percentile bootstrap confidence interval over test tumors.

    train_latent (n_train, d) / test_latent (n_test, d) with their survival. The Cox model is fitted once, on
    training tumors; the bootstrap resamples test tumors with their fixed risk scores (seeded), so the interval
    reflects the finite test set, not refitting. Resamples without a comparable pair are skipped. All NaN (and
    n_boot 0) when cox_concordance is NaN.
    """
    if not _can_score(train_survival, test_survival):
        return ConcordanceCI(float("nan"), float("nan"), float("nan"), 0)
    risk_model = fit_cox_risk(train_latent, train_survival, penalizer)
    return bootstrap_risk_concordance(risk_model, test_latent, test_survival, n_boot, level, seed)


def bootstrap_risk_concordance(
    risk_model: CoxRiskModel,
    test_latent: np.ndarray,
    test_survival: SurvivalData,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> ConcordanceCI:
    """bootstrap_concordance_ci with the Cox model already fitted on training tumors (``fit_cox_risk``), for a
    caller that scores other tumors with the same model. All NaN without a usable test event."""
    if n_boot < 1 or not 0 < level < 1:
        raise ValueError(f"need n_boot >= 1 and 0 < level < 1, got {n_boot}, {level}")
    test_ok = test_survival.usable()
    if test_survival.event[test_ok].sum() < 1:
        return ConcordanceCI(float("nan"), float("nan"), float("nan"), 0)
    time, event = test_survival.time[test_ok], test_survival.event[test_ok]
    risk = risk_model(test_latent[test_ok])
    c_index = float(concordance_index(time, -risk, event))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(time), len(time))
        try:
            values.append(concordance_index(time[pick], -risk[pick], event[pick]))
        except ZeroDivisionError:  # lifelines: no admissible pairs (e.g. a resample without events)
            continue
    if not values:
        return ConcordanceCI(c_index, float("nan"), float("nan"), 0)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return ConcordanceCI(c_index, float(low), float(high), len(values))
