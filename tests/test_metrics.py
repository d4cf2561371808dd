"""Metrics against values computed by hand."""

import numpy as np
import pandas as pd
import pytest

from oncoae.evaluation.clustering import fit_kmeans
from oncoae.evaluation.metrics import label_agreement
from oncoae.evaluation.survival import SurvivalData, cox_concordance, logrank_p


def test_ari_and_nmi_hand_computed():
    # Perfect agreement up to relabelling.
    perfect = label_agreement(np.array([1, 1, 0, 0]), pd.Series(["a", "a", "b", "b"]))
    assert perfect["ari"] == pytest.approx(1.0) and perfect["nmi"] == pytest.approx(1.0)
    # Crossed 2x2 design: contingency [[1,1],[1,1]]; sum C(nij,2)=0, row/col terms 2 each, C(4,2)=6:
    # ARI = (0 - 2*2/6) / ((2+2)/2 - 2*2/6) = -0.5; the clusters carry no information, so NMI = 0.
    crossed = label_agreement(np.array([0, 1, 0, 1]), pd.Series(["a", "a", "b", "b"]))
    assert crossed["ari"] == pytest.approx(-0.5)
    assert crossed["nmi"] == pytest.approx(0.0, abs=1e-12)


def test_unknown_labels_are_left_out():
    result = label_agreement(np.array([0, 0, 1, 1, 1]), pd.Series(["a", "a", "b", "b", None]))
    assert result["ari"] == pytest.approx(1.0)


def test_logrank_hand_computed_two_groups():
    # Group A dies at t=1 and t=2, group B is censored at t=3 (2 each). At t=1: 4 at risk, 2 in A, 1 death:
    # E_A = 0.5, V = 1*(2/4)*(2/4)*(3/3) = 0.25. At t=2: 3 at risk, 1 in A, 1 death: E_A = 1/3,
    # V = 1*(1/3)*(2/3)*(2/2) = 2/9. O_A - E_A = 2 - 5/6 = 7/6; chi2 = (7/6)^2 / (0.25 + 2/9) = 2.8824.
    survival = SurvivalData(np.array([1.0, 2.0, 3.0, 3.0]), np.array([1, 1, 0, 0]))
    p = logrank_p(np.array([0, 0, 1, 1]), survival)
    from scipy.stats import chi2

    assert p == pytest.approx(chi2.sf((7 / 6) ** 2 / (0.25 + 2 / 9), df=1), rel=1e-6)


def test_cox_concordance_on_a_perfectly_ordered_latent():
    rng = np.random.default_rng(0)
    risk = rng.normal(size=200)
    time = np.exp(-2 * risk) * 100
    train = SurvivalData(time[:150], np.ones(150))
    test = SurvivalData(time[150:], np.ones(50))
    latent = risk[:, None]
    assert cox_concordance(latent[:150], train, latent[150:], test, penalizer=0.01) == pytest.approx(1.0)


def test_kmeans_centroids_come_from_training_latents_only():
    rng = np.random.default_rng(0)
    train = np.concatenate([rng.normal(-5, 1, (50, 2)), rng.normal(5, 1, (50, 2))])
    fitted = fit_kmeans(train, k=2, k_range=(2, 4), seed=0)
    centroids = fitted.model.cluster_centers_.copy()
    fitted.assign(rng.normal(100, 1, (10, 2)))  # assigning held-out tumors fits nothing
    np.testing.assert_array_equal(centroids, fitted.model.cluster_centers_)


def test_k_is_chosen_by_silhouette_on_training_latents():
    rng = np.random.default_rng(1)
    train = np.concatenate([rng.normal(c, 0.3, (40, 2)) for c in ((0, 0), (6, 0), (0, 6))])
    fitted = fit_kmeans(train, k=None, k_range=(2, 6), seed=0)
    assert fitted.k == 3
    assert set(fitted.silhouette_by_k) == {2, 3, 4, 5, 6}
