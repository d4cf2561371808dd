"""Permutation log-rank, bootstrap C-index interval and clinical enrichment, on synthetic data."""

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import concordance_index
from scipy.stats import false_discovery_control

from oncoae.evaluation.enrichment import clinical_enrichment, count_enriched
from oncoae.evaluation.survival import (
    SurvivalData,
    bootstrap_concordance_ci,
    cox_concordance,
    fit_cox_risk,
    logrank_p,
    permutation_logrank_p,
    risk_concordance,
)


def exponential_survival(rng: np.random.Generator, hazard: np.ndarray, censor_scale: float = 2.0) -> SurvivalData:
    """Exponential event times with per-tumor hazards, censored by independent exponential follow-up."""
    event_time = rng.exponential(1.0 / hazard)
    censor_time = rng.exponential(censor_scale, size=len(hazard))
    return SurvivalData(np.minimum(event_time, censor_time), (event_time <= censor_time).astype(float))


def balanced_case() -> tuple[np.ndarray, SurvivalData]:
    """3 clusters x 300 tumors, the third with a 1.3x hazard: a moderate effect."""
    rng = np.random.default_rng(1)
    clusters = np.repeat([0, 1, 2], 300)
    return clusters, exponential_survival(rng, np.array([1.0, 1.0, 1.3])[clusters])


def tiny_cluster_case(seed: int) -> tuple[np.ndarray, SurvivalData]:
    """2 clusters of 40 tumors with the same hazard, and a cluster of 2 tumors holding early deaths.

    The 2 tumors are the 5th and 11th earliest deaths of the cohort, so the effect is real but rests on 2 events.
    """
    rng = np.random.default_rng(seed)
    survival = exponential_survival(rng, np.ones(82))
    by_time = np.argsort(survival.time)
    deaths_by_time = by_time[survival.event[by_time] == 1]
    tiny = np.zeros(82, dtype=bool)
    tiny[deaths_by_time[[4, 10]]] = True
    clusters = np.full(82, 2)
    clusters[~tiny] = np.repeat([0, 1], 40)  # the times are i.i.d., so index order splits the rest at random
    return clusters, survival


# --- permutation log-rank ---------------------------------------------------------------------------------------


def test_vectorized_statistic_equals_lifelines():
    # The permutation test evaluates its own vectorized log-rank statistic; it must be lifelines' test_statistic.
    # Random labelings cover what permutations produce; rounded times give ties, low event rates give censoring.
    rng = np.random.default_rng(0)
    cases = []
    for _ in range(25):
        n, k = int(rng.integers(4, 250)), int(rng.integers(2, 6))
        times = np.round(rng.exponential(size=n), 1)
        event = (rng.random(n) < rng.uniform(0.1, 1.0)).astype(float)
        clusters = rng.integers(0, k, n)
        if event.sum() == 0 or len(np.unique(clusters)) < 2:
            continue
        cases.append((clusters, SurvivalData(times, event)))
    assert len(cases) >= 15
    cases += [balanced_case(), tiny_cluster_case(0)]
    # A cluster censored before the first death has no one at risk at any event time: a singular V (pinv).
    cases.append((np.array([0, 0, 1, 1, 1, 2, 2]), SurvivalData(np.arange(1.0, 8.0), np.array([0, 0, 1, 1, 0, 1, 1]))))
    for clusters, survival in cases:
        ours = permutation_logrank_p(clusters, survival, n_permutations=1, max_permutations=1)
        reference = multivariate_logrank_test(survival.time, clusters, survival.event).test_statistic
        assert ours.statistic == pytest.approx(reference, rel=1e-8, abs=1e-8)


def test_permutation_p_agrees_with_asymptotic_p_on_a_large_balanced_case():
    clusters, survival = balanced_case()
    asymptotic = logrank_p(clusters, survival)
    assert 1e-2 <= asymptotic <= 1e-1  # a p-value where a factor of 3 is a meaningful comparison
    result = permutation_logrank_p(clusters, survival, n_permutations=2000, seed=0)
    assert result.n_permutations_run == 2000  # p is well above 10/2000: no escalation needed
    assert asymptotic / 3 <= result.p_value <= 3 * asymptotic


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_permutation_p_is_larger_than_asymptotic_p_with_a_tiny_cluster(seed):
    # Expected direction: the chi-square approximation of the log-rank statistic needs many expected events per
    # group. In a 2-tumor cluster (O - E)^2 / V rests on at most 2 events with E and V near 0.1, so the statistic's
    # null distribution is discrete with a far heavier right tail than chi-square: two early deaths in the tiny
    # cluster give a statistic the chi-square calls extremely unlikely, while under relabeling quite a few pairs of
    # tumors do as well. The asymptotic p is anti-conservative (too small); the permutation p, exact given the
    # observed times, is larger. Over 20 data seeds the ratio was 32-122; the test asks for 10.
    clusters, survival = tiny_cluster_case(seed)
    asymptotic = logrank_p(clusters, survival)
    result = permutation_logrank_p(clusters, survival, n_permutations=1000, seed=seed)
    exceedances = result.p_value * (1 + result.n_permutations_run) - 1
    assert exceedances >= 10  # resolved, not bounded below by 1 / (1 + permutations)
    assert asymptotic < 1e-3
    assert result.p_value > 10 * asymptotic


def test_permutations_escalate_for_small_p():
    rng = np.random.default_rng(3)
    clusters = np.repeat([0, 1], 30)
    survival = exponential_survival(rng, np.array([1.0, 5.0])[clusters])
    result = permutation_logrank_p(clusters, survival, n_permutations=100, max_permutations=10_000, seed=0)
    assert result.n_permutations_run > 100
    assert result.n_permutations_run <= 10_000
    assert result.p_value < 1 / 100
    assert result.p_value >= 1 / (1 + result.n_permutations_run)


def test_permutation_p_is_reproducible_with_the_seed():
    clusters, survival = balanced_case()
    first = permutation_logrank_p(clusters, survival, n_permutations=500, seed=7)
    again = permutation_logrank_p(clusters, survival, n_permutations=500, seed=7)
    other = permutation_logrank_p(clusters, survival, n_permutations=500, seed=8)
    assert first == again
    assert other.p_value != first.p_value
    assert other.statistic == first.statistic


def test_permutation_p_is_nan_with_one_cluster_or_no_events():
    survival = SurvivalData(np.arange(1.0, 11.0), np.ones(10))
    result = permutation_logrank_p(np.zeros(10, dtype=int), survival)
    assert np.isnan(result.p_value) and result.n_permutations_run == 0
    censored = SurvivalData(np.arange(1.0, 11.0), np.zeros(10))
    assert np.isnan(permutation_logrank_p(np.repeat([0, 1], 5), censored).p_value)


# --- bootstrap C-index interval ---------------------------------------------------------------------------------


def latent_cohort(rng: np.random.Generator, n: int) -> tuple[np.ndarray, SurvivalData]:
    """(n, 3) latents whose first dimension raises the hazard."""
    latent = rng.normal(size=(n, 3))
    return latent, exponential_survival(rng, np.exp(0.8 * latent[:, 0]))


def test_bootstrap_interval_contains_the_c_index_and_shrinks_with_more_test_tumors():
    rng = np.random.default_rng(0)
    train_latent, train_survival = latent_cohort(rng, 300)
    widths = []
    for n_test in (40, 400):
        test_latent, test_survival = latent_cohort(rng, n_test)
        ci = bootstrap_concordance_ci(
            train_latent, train_survival, test_latent, test_survival, penalizer=0.1, n_boot=200, seed=0
        )
        assert ci.low <= ci.c_index <= ci.high
        assert ci.n_boot == 200
        # Same point estimate as cox_concordance: the two share the fitted model.
        assert ci.c_index == pytest.approx(
            cox_concordance(train_latent, train_survival, test_latent, test_survival, penalizer=0.1)
        )
        widths.append(ci.high - ci.low)
    assert widths[1] < widths[0] / 2  # about 1/sqrt(10) expected


def test_cox_model_is_fitted_once_on_training_tumors_only(monkeypatch):
    rng = np.random.default_rng(1)
    train_latent, train_survival = latent_cohort(rng, 200)
    test_latent, test_survival = latent_cohort(rng, 80)
    fitted_times = []
    original_fit = CoxPHFitter.fit

    def spy(self, frame, *args, **kwargs):
        fitted_times.append(frame["time"].to_numpy().copy())
        return original_fit(self, frame, *args, **kwargs)

    monkeypatch.setattr(CoxPHFitter, "fit", spy)
    ci = bootstrap_concordance_ci(train_latent, train_survival, test_latent, test_survival, 0.1, n_boot=50, seed=0)
    assert len(fitted_times) == 1
    np.testing.assert_array_equal(fitted_times[0], train_survival.time)

    # Other test outcomes leave the fitted risk on the fixed test latent unchanged: only the C-index moves.
    risk = fit_cox_risk(train_latent, train_survival, 0.1)(test_latent)
    shuffled = SurvivalData(rng.permutation(test_survival.time), rng.permutation(test_survival.event))
    moved = bootstrap_concordance_ci(train_latent, train_survival, test_latent, shuffled, 0.1, n_boot=50, seed=0)
    np.testing.assert_allclose(fit_cox_risk(train_latent, train_survival, 0.1)(test_latent), risk)
    assert ci.c_index == pytest.approx(concordance_index(test_survival.time, -risk, test_survival.event))
    assert moved.c_index == pytest.approx(concordance_index(shuffled.time, -risk, shuffled.event))


def test_bootstrap_interval_is_nan_without_test_events():
    rng = np.random.default_rng(2)
    train_latent, train_survival = latent_cohort(rng, 100)
    test_latent = rng.normal(size=(20, 3))
    no_events = SurvivalData(np.ones(20), np.zeros(20))
    ci = bootstrap_concordance_ci(train_latent, train_survival, test_latent, no_events, 0.1, n_boot=10)
    assert np.isnan(ci.c_index) and np.isnan(ci.low) and ci.n_boot == 0


def test_risk_concordance_scores_usable_tumors_with_a_finite_score_and_is_nan_without_two_of_them():
    """The one held-out C-index of a risk score (evaluation and the tuning metric val_c_index)."""
    rng = np.random.default_rng(3)
    time, event, risk = rng.exponential(1.0, 30), (rng.random(30) < 0.6).astype(float), rng.normal(size=30)
    time[0], event[1], risk[2] = np.nan, np.nan, np.nan
    usable = np.arange(30) >= 3
    expected = concordance_index(time[usable], -risk[usable], event[usable])
    assert risk_concordance(risk, SurvivalData(time, event)) == pytest.approx(expected)
    assert np.isnan(risk_concordance(risk[2:4], SurvivalData(time[2:4], event[2:4])))  # one usable tumor
    assert np.isnan(risk_concordance(risk, SurvivalData(time, np.zeros(30))))  # no event


# --- clinical enrichment ----------------------------------------------------------------------------------------


def clinical_case() -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(0)
    clusters = np.repeat([0, 1, 2], 100)
    subtype_odds = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    clinical = pd.DataFrame(
        {
            "subtype": [rng.choice(["LumA", "LumB", "Basal"], p=subtype_odds[c]) for c in clusters],
            "sex": rng.choice(["F", "M"], size=300),
            "age": rng.normal(60, 10, 300) + 8 * clusters,
            "weight": rng.normal(70, 10, 300),
            "stage": rng.integers(1, 5, 300),
            "center": "site_a",
        }
    )
    clinical.loc[:9, "age"] = np.nan
    return clusters, clinical


def test_clinical_enrichment_finds_associated_columns():
    clusters, clinical = clinical_case()
    columns = ["subtype", "sex", "age", "weight", "stage", "center"]
    table = clinical_enrichment(clusters, clinical, columns).set_index("column")
    assert list(table.index) == columns
    assert table.loc["subtype", "test"] == "chi2" and table.loc["subtype", "enriched"]
    assert table.loc["sex", "test"] == "chi2" and not table.loc["sex", "enriched"]
    assert table.loc["age", "test"] == "kruskal" and table.loc["age", "enriched"]
    assert table.loc["age", "n"] == 290  # missing ages left out
    assert table.loc["weight", "test"] == "kruskal" and not table.loc["weight", "enriched"]
    assert table.loc["stage", "test"] == "chi2"  # 4 numeric values: categories
    # One value: no test, no adjustment, not enriched.
    assert np.isnan(table.loc["center", "p_value"]) and np.isnan(table.loc["center", "p_adjusted"])
    assert not table.loc["center", "enriched"]
    tested = table["p_value"].notna()
    np.testing.assert_allclose(
        table.loc[tested, "p_adjusted"], false_discovery_control(table.loc[tested, "p_value"], method="bh")
    )
    assert count_enriched(table) == 2


def test_clinical_enrichment_names_a_missing_column():
    clusters, clinical = clinical_case()
    with pytest.raises(ValueError, match="'grade'"):
        clinical_enrichment(clusters, clinical, ["subtype", "grade"])
