"""The summary's best model is chosen on validation tumors: test tumors cannot move the choice.

Three models' latents of one small cohort go through what scripts/cluster_and_evaluate.py runs (k-means on
training latents, ``evaluate_model``) and then ``choose_models``. Rewriting the test tumors' labels and survival
so that another model becomes the best on test tumors leaves the choice (and every validation row) unchanged; the
same rewrite applied to validation tumors does change it, so the test has power.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from oncoae.evaluation.evaluate import ClusteringSettings, EvaluationSettings, cluster_latents, evaluate_model
from oncoae.evaluation.ranking import VALIDATION_PREFIX, choose_models
from oncoae.report.comparison import best_model_sentence

N_TUMORS = 240
SEEDS = (0, 1)
CLUSTERING = ClusteringSettings(k=3, n_init=4)
SETTINGS = EvaluationSettings(
    labels=["subtype"], survival_columns=("os_days", "os_event"), permutations=20, max_permutations=20, bootstrap=20
)


def _cohort() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Clinical table and three latents: ``sharp`` separates the three subtypes well, ``blurred`` less well,
    ``noise`` not at all; risk follows the subtype, so the same order holds for survival."""
    rng = np.random.default_rng(7)
    subtype = rng.integers(0, 3, N_TUMORS)
    split = np.array(["train"] * 150 + ["val"] * 40 + ["test"] * 50)
    obs = pd.DataFrame(
        {
            "split": split,
            "subtype": pd.Categorical([f"S{s}" for s in subtype]),
            "os_days": rng.exponential(1000 / (1 + subtype)),
            "os_event": rng.random(N_TUMORS) < 0.7,
        },
        index=[f"T{i:03d}" for i in range(N_TUMORS)],
    )
    centres = np.eye(3, 4) * 4
    latents = {
        "sharp": centres[subtype] + rng.normal(0, 0.6, (N_TUMORS, 4)),
        "blurred": centres[subtype] + rng.normal(0, 2.5, (N_TUMORS, 4)),
        "noise": rng.normal(0, 1, (N_TUMORS, 4)),
    }
    return obs, latents


def _summary(obs: pd.DataFrame, latents: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    frames, assignments = [], {}
    for model, latent in latents.items():
        adatas = {}
        for seed in SEEDS:
            adata = ad.AnnData(obs=obs.copy())
            adata.obsm["X_latent"] = latent.astype(np.float32)
            adatas[seed] = adata
        clusters = cluster_latents(model, adatas, CLUSTERING)
        frames.append(evaluate_model(model, adatas, clusters, SETTINGS).metrics)
        assignments[model] = clusters.assignments
    return pd.concat(frames, ignore_index=True), assignments


def _rewrite(obs: pd.DataFrame, split: str, assignments: pd.DataFrame) -> pd.DataFrame:
    """The tumors of ``split`` get the noise model's seed-0 clusters as their subtype (the noise model becomes
    perfect there), and survival reversed against the subtype (every Cox model fitted on training tumors, where
    risk rises with the subtype, now ranks them backwards, except the noise model's, which ranks them by chance)."""
    changed = obs.copy()
    clusters = assignments[assignments["seed"] == 0].set_index("sample")["cluster"]
    rows = changed["split"] == split
    picked = clusters.reindex(changed.index[rows]).to_numpy()
    original = changed.loc[rows, "subtype"].cat.codes.to_numpy()
    changed["subtype"] = changed["subtype"].cat.add_categories(["N0", "N1", "N2"])
    changed.loc[rows, "subtype"] = [f"N{c}" for c in picked]
    changed.loc[rows, "os_days"] = 100.0 + 1000.0 * original + np.arange(rows.sum())
    changed.loc[rows, "os_event"] = True
    return changed


@pytest.fixture(scope="module")
def cohort():
    obs, latents = _cohort()
    summary, assignments = _summary(obs, latents)
    return obs, latents, summary, assignments


def _validation_rows(summary: pd.DataFrame) -> pd.DataFrame:
    rows = summary[summary["metric"].str.startswith(VALIDATION_PREFIX)]
    return rows.sort_values(["model", "seed", "metric", "label"]).reset_index(drop=True)


def test_validation_metrics_are_in_the_summary(cohort):
    _, _, summary, _ = cohort
    metrics = set(summary["metric"])
    assert {"val_ari", "val_nmi", "val_ami", "val_c_index"} <= metrics
    sharp = summary[(summary["model"] == "sharp") & (summary["metric"] == "val_ari")]["value"]
    noise = summary[(summary["model"] == "noise") & (summary["metric"] == "val_ari")]["value"]
    assert sharp.min() > 0.5 > 0.1 > noise.max()


def test_changing_test_tumors_cannot_change_the_chosen_model(cohort):
    obs, latents, summary, assignments = cohort
    before = {c.question: c for c in choose_models(summary, {"subtypes": "subtype", "survival": "os_days"})}
    assert before["subtypes"].chosen == before["survival"].chosen == "sharp"

    changed_summary, _ = _summary(_rewrite(obs, "test", assignments["noise"]), latents)
    after = {c.question: c for c in choose_models(changed_summary, {"subtypes": "subtype", "survival": "os_days"})}
    # The rewrite does reach the test figures: the noise model is now the best on test tumors ...
    assert after["subtypes"].test_best.model == "noise"
    assert after["survival"].test_best.model == "noise"
    # ... and the choice, made on validation tumors, does not move, nor does any validation figure.
    assert after["subtypes"].chosen == after["survival"].chosen == "sharp"
    pd.testing.assert_frame_equal(_validation_rows(summary), _validation_rows(changed_summary), check_exact=True)
    assert "the best on test tumors, a reference only: noise" in best_model_sentence(after["subtypes"])


def test_changing_validation_tumors_changes_the_choice(cohort):
    """Power: the same rewrite on validation tumors moves the choice to the noise model."""
    obs, latents, _, assignments = cohort
    changed_summary, _ = _summary(_rewrite(obs, "val", assignments["noise"]), latents)
    after = {c.question: c for c in choose_models(changed_summary, {"subtypes": "subtype", "survival": "os_days"})}
    assert after["subtypes"].chosen == after["survival"].chosen == "noise"
