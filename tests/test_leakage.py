"""Held-out means held-out, tested by perturbation.

Each test changes the values, labels and survival of the TEST tumors of a small simulated cohort and asserts that
what the workflow fits (normalizer state, autoencoder weights and chosen epoch, pos_weight, the classifier's class
list, PCA / kernel PCA, k-means centroids and k, the Cox model) is bitwise identical: if any of it had seen a test
tumor, some bit would move. Each guarantee is paired with a power check: the same comparison does see a change
when training (or validation) tumors are perturbed, so a test that could never fail is not mistaken for one that
passes.

The data go through the functions the workflow's scripts call, with the test tumors present in their input, as in
the workflow: ``ModalityNormalizer`` on the split's training rows (scripts/normalize_modality.py),
``training_problem`` on normalized AnnData of every tumor (scripts/train_autoencoder.py),
``assemble_modalities(samples_in_split(..., "train"))`` for the baselines (scripts/fit_baseline.py), and
``cluster_latents`` / ``evaluate_seed`` on latents of every tumor (scripts/cluster_and_evaluate.py).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from lifelines.utils import concordance_index

from oncoae.baselines import BaselineExtractor, BaselineSettings
from oncoae.data.modality import assemble_modalities, latent_anndata, samples_in_split
from oncoae.data.normalize import ModalityNormalizer, NormalizationSettings
from oncoae.data.simulate import ModalitySimulation, SimulationSettings, simulate_cohort
from oncoae.data.split import make_split
from oncoae.evaluation.evaluate import ClusteringSettings, EvaluationSettings, cluster_latents, evaluate_seed
from oncoae.evaluation.survival import SurvivalData, fit_cox_risk
from oncoae.training.fit import TrainingSettings, fit_autoencoder
from oncoae.training.problem import training_problem

MODALITIES = ("expression", "methylation", "mutation")
KINDS = {"expression": "continuous", "methylation": "continuous", "mutation": "binary"}
NORMALIZATION = {
    "expression": NormalizationSettings(transform="log1p", top_variance=30),
    "methylation": NormalizationSettings(transform="mvalue"),
    "mutation": NormalizationSettings(scale="none", min_frequency=0.02),
}
ARCHITECTURE = {
    "hidden_sizes": [16],
    "latent_dim": 4,
    "activation": "relu",
    "dropout": 0.1,
    "batch_norm": True,  # running statistics are buffers in the state dict: they must not see test tumors either
    "variant": "plain",
    "fusion": "mean",
}
# Both supervised heads on, so test labels and test survival are in the input of training_problem.
HEADS = {
    "cox": 0.2,
    "classification": 0.5,
    "label": "subtype",
    "class_weights": "balanced",
    "survival": {"time": "os_days", "event": "os_event"},
}
LOSSES = {"mutation": {"pos_weight": "auto"}}
# A high learning rate on small batches: early stopping does stop (best epoch 5, stopped after epoch 7), so the
# chosen epoch is a real observable, not just the last one.
TRAINING = TrainingSettings(
    max_epochs=10,
    patience=2,
    batch_size=16,
    learning_rate=0.05,
    progress_bar=False,
    checkpoint_every_n_epochs=100,
)
NEW_CLASS = "S_test_only"


@pytest.fixture(scope="module")
def cohort():
    """Raw modalities (tumors lacking a modality included), clinical table and split of 150 simulated tumors."""
    settings = SimulationSettings(
        n_tumors=150,
        n_subtypes=3,
        seed=5,
        missing_fraction=0.15,
        modalities={
            "expression": ModalitySimulation(40, 0.3, 1.5, 0.06),
            "methylation": ModalitySimulation(30, 0.3, 2.0, 0.06),
            "mutation": ModalitySimulation(30, 0.1, 2.0, 0.0),
        },
    )
    simulated = simulate_cohort(settings)
    split = make_split(
        simulated.clinical.index,
        {"train": 0.6, "val": 0.2, "test": 0.2},
        seed=0,
        stratify=simulated.clinical["subtype"],
    ).set_index("sample")["split"]
    return simulated.modalities, simulated.clinical, split


def _tumors(split: pd.Series, which: str) -> pd.Index:
    return split.index[split.to_numpy() == which]


def _perturb_values(raw: dict[str, ad.AnnData], tumors: pd.Index) -> dict[str, ad.AnnData]:
    """Copies of the raw modalities with the rows of ``tumors`` changed, staying inside each transform's domain:
    expression scaled and shifted (with some values missing), methylation betas mirrored, mutations flipped."""
    changed = {}
    for name, adata in raw.items():
        values = adata.X.toarray() if sp.issparse(adata.X) else np.array(adata.X, dtype=np.float32)
        rows = adata.obs_names.isin(tumors)
        if name == "expression":
            values[rows] = values[rows] * 7.0 + 2.0
            values[np.flatnonzero(rows)[::3], :5] = np.nan
        else:  # betas in [0, 1] and 0/1 calls
            values[rows] = 1.0 - values[rows]
        matrix = sp.csr_matrix(values) if sp.issparse(adata.X) else values
        changed[name] = ad.AnnData(X=matrix, obs=adata.obs.copy(), var=adata.var.copy())
    return changed


def _perturb_clinical(clinical: pd.DataFrame, tumors: pd.Index) -> pd.DataFrame:
    """Labels of ``tumors`` rotated, some set to a class no other tumor has; their survival scrambled."""
    changed = clinical.copy()
    rows = changed.index.isin(tumors)
    labels = changed.loc[rows, "subtype"].to_numpy()
    labels = np.roll(labels, 1)
    labels[::4] = NEW_CLASS
    changed.loc[rows, "subtype"] = labels
    order = np.random.default_rng(1).permutation(rows.sum())
    changed.loc[rows, "os_days"] = changed.loc[rows, "os_days"].to_numpy()[order] * 3 + 17
    changed.loc[rows, "os_event"] = 1 - changed.loc[rows, "os_event"].to_numpy()
    return changed


def _perturbed(cohort, which: str):
    raw, clinical, split = cohort
    tumors = _tumors(split, which)
    return _perturb_values(raw, tumors), _perturb_clinical(clinical, tumors), split


def _fit_normalizer(raw: ad.AnnData, split: pd.Series, settings: NormalizationSettings, name: str):
    """As scripts/normalize_modality.py: fitted on the split's training rows of the raw modality, then applied to
    every tumor (the state is compared after that, so transforming test tumors must not touch it either)."""
    train = raw[split.reindex(raw.obs_names).to_numpy() == "train"]
    normalizer = ModalityNormalizer(settings, name).fit(train)
    normalizer.transform_anndata(raw)
    return normalizer


def _normalized(raw, clinical, split) -> dict[str, ad.AnnData]:
    """Normalized AnnData of every tumor (test tumors included) with clinical columns and the split in obs."""
    obs = clinical.join(split)
    adatas = {}
    for name in MODALITIES:
        normalizer = _fit_normalizer(raw[name], split, NORMALIZATION[name], name)
        adatas[name] = normalizer.transform_anndata(raw[name], obs)
    return adatas


def _state(normalizer: ModalityNormalizer) -> dict:
    return {
        "features": normalizer.features_,
        "mean": normalizer.mean_,
        "center": normalizer.center_,
        "scale": normalizer.scale_,
        **normalizer.filtering_summary(0),
    }


def _differing(first: dict, second: dict) -> list[str]:
    """Names of the entries (arrays, tensors or numbers) that are not bitwise equal, shapes included."""
    assert first.keys() == second.keys()
    return [key for key in first if not np.array_equal(np.asarray(first[key]), np.asarray(second[key]))]


NORMALIZER_CASES = [
    ("expression", NormalizationSettings(transform="log1p", top_variance=20)),
    ("expression", NormalizationSettings(transform="log2p1", scale="center", max_missing_fraction=0.1)),
    ("expression", NormalizationSettings(transform="none", scale="zscore")),
    ("methylation", NormalizationSettings(transform="mvalue")),
    ("methylation", NormalizationSettings(transform="center_beta", scale="none")),
    ("mutation", NormalizationSettings(scale="none", min_frequency=0.05)),
    ("mutation", NormalizationSettings(scale="zscore")),
]


@pytest.mark.parametrize(("name", "settings"), NORMALIZER_CASES, ids=lambda v: getattr(v, "transform", v))
def test_normalizer_state_ignores_test_tumors(cohort, name, settings):
    """Feature filters (missingness, constancy, frequency, top variance), imputation means and scaling come from
    training tumors only: scaled, shifted, partly missing or mirrored test values leave every bit of the state
    as it was, while the same change to training tumors moves it."""
    raw, _clinical, split = cohort
    reference = _state(_fit_normalizer(raw[name], split, settings, name))
    test_changed = _perturb_values(raw, _tumors(split, "test"))[name]
    moved = _differing(_state(_fit_normalizer(test_changed, split, settings, name)), reference)
    assert not moved, f"{name} normalizer: perturbed test tumors changed its {moved}"
    # Power: the comparison sees a change of training tumors.
    train_changed = _perturb_values(raw, _tumors(split, "train"))[name]
    assert _differing(_state(_fit_normalizer(train_changed, split, settings, name)), reference)


def test_training_problem_takes_pos_weight_classes_and_targets_from_training_tumors(cohort):
    """``pos_weight: auto`` (the zeros/ones ratio of the binary modality), the classification head's class list
    and its balanced class weights are computed on training tumors: flipped test mutations and a test-only class
    change none of them, and the training targets (labels, times, events) are those of training tumors only."""
    reference = training_problem(_normalized(*cohort), ARCHITECTURE, HEADS, KINDS, LOSSES)
    changed = training_problem(_normalized(*_perturbed(cohort, "test")), ARCHITECTURE, HEADS, KINDS, LOSSES)
    assert NEW_CLASS not in changed.architecture.class_names
    assert changed.architecture.class_names == reference.architecture.class_names
    assert changed.architecture.likelihood_options == reference.architecture.likelihood_options
    assert changed.architecture == reference.architecture
    assert changed.objective == reference.objective  # the balanced class weights among them
    for key in ("label", "time", "event"):
        assert np.array_equal(changed.train.targets[key], reference.train.targets[key], equal_nan=key != "label")
    # Power: training tumors with flipped mutations and a new class do change both.
    train_changed = training_problem(_normalized(*_perturbed(cohort, "train")), ARCHITECTURE, HEADS, KINDS, LOSSES)
    assert NEW_CLASS in train_changed.architecture.class_names
    weight = train_changed.architecture.likelihood_options["mutation"]["pos_weight"]
    assert weight != reference.architecture.likelihood_options["mutation"]["pos_weight"]
    assert len(train_changed.objective.class_weights) == len(reference.objective.class_weights) + 1


def _fit(adatas, work_dir):
    problem = training_problem(adatas, ARCHITECTURE, HEADS, KINDS, LOSSES)
    return fit_autoencoder(problem.train, problem.val, problem.architecture, TRAINING, 0, work_dir, problem.objective)


@pytest.fixture(scope="module")
def reference_fit(cohort, tmp_path_factory):
    return _fit(_normalized(*cohort), tmp_path_factory.mktemp("reference_fit"))


def _differing_weights(first, second) -> list[str]:
    """Names of the state-dict entries (weights and buffers) that are not bitwise equal (torch.equal)."""
    a, b = first.network.state_dict(), second.network.state_dict()
    assert a.keys() == b.keys()
    return [key for key in a if not torch.equal(a[key], b[key])]


def test_autoencoder_weights_and_chosen_epoch_ignore_test_tumors(cohort, reference_fit, tmp_path):
    """Through the workflow's own path (normalized AnnData of every tumor -> training_problem -> fit_autoencoder),
    test tumors with other values, labels and survival give the same weights (BatchNorm buffers and both heads
    included), the same best epoch and the same val curve, bit for bit."""
    changed = _fit(_normalized(*_perturbed(cohort, "test")), tmp_path / "w")
    moved = _differing_weights(changed, reference_fit)
    assert not moved, f"perturbed test tumors changed the autoencoder's {moved}"
    assert changed.best_epoch == reference_fit.best_epoch, "perturbed test tumors changed the chosen epoch"
    assert changed.best_val_loss == reference_fit.best_val_loss
    assert np.array_equal(changed.history["val_loss"].to_numpy(), reference_fit.history["val_loss"].to_numpy())


def test_validation_tumors_move_the_early_stopping_curve_and_the_chosen_epoch(cohort, reference_fit, tmp_path):
    """Power check of the test above: perturbed validation tumors do show up, in the val loss it stops on and so
    in the epoch whose weights are kept."""
    assert reference_fit.best_epoch < reference_fit.epochs_run, "early stopping never engaged: the epoch is moot"
    changed = _fit(_normalized(*_perturbed(cohort, "val")), tmp_path / "w")
    assert not np.array_equal(changed.history["val_loss"].to_numpy(), reference_fit.history["val_loss"].to_numpy())
    assert changed.best_epoch != reference_fit.best_epoch


def test_perturbed_training_tumors_change_the_weights(cohort, reference_fit, tmp_path):
    """Power check: the weight comparison does fail when training tumors change."""
    changed = _fit(_normalized(*_perturbed(cohort, "train")), tmp_path / "w")
    assert _differing_weights(changed, reference_fit)


def _baseline_state(extractor: BaselineExtractor) -> dict[str, np.ndarray]:
    estimator = extractor.estimator_
    if extractor.family == "pca":
        fitted = ["components_", "mean_"]
    else:
        fitted = ["eigenvalues_", "eigenvectors_", "X_fit_"]
    means = {f"block mean of {name}": values for name, values in extractor.means_.items()}
    return {**means, **{name: getattr(estimator, name) for name in fitted}}


def _fit_baseline(adatas, family: str, **settings) -> BaselineExtractor:
    """As scripts/fit_baseline.py: fitted on the training tumors of normalized AnnData of every tumor (a choice
    among several settings made on its validation tumors)."""
    train = assemble_modalities(adatas, samples_in_split(adatas, "train"))
    val = assemble_modalities(adatas, samples_in_split(adatas, "val"))
    # max_train_samples below the number of training tumors: kernel PCA's seeded subsample is exercised too.
    settings = BaselineSettings(**{"n_components": 5, "max_train_samples": 60, **settings})
    return BaselineExtractor(family, settings, seed=0).fit(train, val)


@pytest.mark.parametrize("family", ["pca", "kpca"])
def test_pca_and_kernel_pca_ignore_test_tumors(cohort, family):
    """PCA components and mean, kernel PCA eigenvectors and fitted tumors, and the block means that impute an
    absent modality come from training tumors only."""
    reference = _baseline_state(_fit_baseline(_normalized(*cohort), family))
    changed = _baseline_state(_fit_baseline(_normalized(*_perturbed(cohort, "test")), family))
    moved = _differing(changed, reference)
    assert not moved, f"{family}: perturbed test tumors changed its {moved}"
    train_changed = _baseline_state(_fit_baseline(_normalized(*_perturbed(cohort, "train")), family))
    assert _differing(train_changed, reference)


@pytest.mark.parametrize(
    ("family", "grid"),
    [("pca", {"n_components": [2, 5, 12]}), ("kpca", {"n_components": [3, 6], "gamma": [0.001, 0.01, 0.1]})],
)
def test_the_baselines_choice_of_components_and_gamma_ignores_test_tumors(cohort, family, grid):
    """Several settings: every candidate is scored on validation tumors; perturbed test tumors change neither the
    scores nor the choice nor the fitted state, perturbed validation tumors change the scores."""
    reference = _fit_baseline(_normalized(*cohort), family, **grid)
    assert len(reference.selection_) == len(grid["n_components"]) * len(grid.get("gamma", [None]))
    assert reference.chosen_["n_components"] in grid["n_components"]
    changed = _fit_baseline(_normalized(*_perturbed(cohort, "test")), family, **grid)
    assert changed.selection_ == reference.selection_ and changed.chosen_ == reference.chosen_
    assert not _differing(_baseline_state(changed), _baseline_state(reference))
    val_changed = _fit_baseline(_normalized(*_perturbed(cohort, "val")), family, **grid)
    assert [c["score"] for c in val_changed.selection_] != [c["score"] for c in reference.selection_]


@pytest.fixture(scope="module")
def latent(cohort):
    """PCA latents of every tumor with clinical columns, the split and has_<modality> in obs (a latent file)."""
    adatas = _normalized(*cohort)
    everyone = assemble_modalities(adatas, sorted({s for a in adatas.values() for s in a.obs_names}))
    extractor = _fit_baseline(adatas, "pca")
    _raw, clinical, split = cohort
    return latent_anndata(
        everyone.samples, extractor.transform(everyone), clinical.join(split), everyone.presence, MODALITIES
    )


def _perturb_latent(adata: ad.AnnData, which: str, survival: bool = True) -> ad.AnnData:
    """A copy with the latents (and, with ``survival``, labels and survival) of the ``which`` tumors changed."""
    changed = adata.copy()
    rows = (changed.obs["split"] == which).to_numpy()
    for key in changed.obsm:
        values = changed.obsm[key].copy()
        values[rows] = values[rows] * -4.0 + 3.0
        changed.obsm[key] = values
    if survival:
        changed.obs = _perturb_clinical(changed.obs, changed.obs_names[rows])
    return changed


@pytest.mark.parametrize("k", [3, None], ids=["k=3", "k=auto"])
def test_kmeans_centroids_and_choice_of_k_ignore_test_tumors(latent, k):
    """k-means centroids, and with ``k: auto`` the silhouette curve that picks k, are fitted on training latents:
    moved test latents change neither, moved training latents do."""
    settings = ClusteringSettings(k=k, k_range=(2, 5), n_init=4)

    def fitted(adata):
        clusters = cluster_latents("pca", {0: adata}, settings)
        return clusters.fitted[0], clusters.k_curves

    reference, reference_curve = fitted(latent)
    changed, changed_curve = fitted(_perturb_latent(latent, "test"))
    assert changed.k == reference.k, f"perturbed test tumors changed the chosen k: {reference.k} -> {changed.k}"
    assert np.array_equal(changed.model.cluster_centers_, reference.model.cluster_centers_), (
        "perturbed test tumors moved the k-means centroids"
    )
    pd.testing.assert_frame_equal(changed_curve, reference_curve, check_exact=True)
    moved, _curve = fitted(_perturb_latent(latent, "train"))
    assert not np.array_equal(moved.model.cluster_centers_, reference.model.cluster_centers_)


EVALUATION = EvaluationSettings(
    labels=["subtype"],
    survival_columns=("os_days", "os_event"),
    permutations=20,
    max_permutations=20,
    bootstrap=20,
)


def _train_only_cox(adata: ad.AnnData):
    is_train = (adata.obs["split"] == "train").to_numpy()
    survival = SurvivalData.from_table(adata.obs.loc[is_train], "os_days", "os_event")
    return fit_cox_risk(adata.obsm["X_latent"][is_train], survival, EVALUATION.cox_penalizer)


def _evaluated(adata: ad.AnnData) -> tuple[dict, list[dict]]:
    """The metrics (by name) and contribution rows that scripts/cluster_and_evaluate.py computes for one seed."""
    clusters = cluster_latents("pca", {0: adata}, ClusteringSettings(k=3, n_init=4))
    assigned = clusters.assignments.set_index("sample")["cluster"]
    rows, contributions, _leiden, _enrichment = evaluate_seed(adata, assigned, clusters.fitted[0], EVALUATION, 0)
    return {row["metric"]: row["value"] for row in rows}, contributions


def _c_index_of(risk_model, adata: ad.AnnData, rows: np.ndarray, latent_key: str = "X_latent") -> float:
    survival = SurvivalData.from_table(adata.obs.loc[rows], "os_days", "os_event")
    usable = survival.usable()
    risk = risk_model(adata.obsm[latent_key][rows][usable])
    return float(concordance_index(survival.time[usable], -risk, survival.event[usable]))


def test_cox_model_of_the_evaluation_ignores_test_tumors(latent):
    """The Cox model behind the held-out C-index (and the leave-one-modality-out C-index) is fitted on training
    latents and survival only. With test latents moved and test survival scrambled, the C-indices evaluate_seed
    reports are exactly those of the Cox model fitted on the unperturbed training tumors, scoring the perturbed
    test tumors; scrambling training survival instead moves its coefficients and the C-index."""
    with_masked = latent.copy()
    noise = np.random.default_rng(2).normal(size=latent.obsm["X_latent"].shape).astype(np.float32)
    with_masked.obsm["X_latent_without_expression"] = latent.obsm["X_latent"] + noise
    reference_cox = _train_only_cox(with_masked)
    changed = _perturb_latent(with_masked, "test")
    metrics, contributions = _evaluated(changed)
    is_test = (changed.obs["split"] == "test").to_numpy()
    expected = _c_index_of(reference_cox, changed, is_test)
    assert metrics["c_index"] == expected, (
        f"held-out c_index {metrics['c_index']!r} is not the training-only Cox model's {expected!r}"
    )
    subset = is_test & changed.obs["has_expression"].to_numpy(bool)
    (row,) = [r for r in contributions if r["metric"] == "c_index"]
    expected = (
        _c_index_of(reference_cox, changed, subset),
        _c_index_of(reference_cox, changed, subset, "X_latent_without_expression"),
    )
    assert (row["with_modality"], row["without_modality"]) == expected, (
        "leave-one-modality-out c_index is not the training-only Cox model's"
    )
    assert np.array_equal(_train_only_cox(changed).coefficients, reference_cox.coefficients)
    # Power: scrambled training survival (test tumors untouched) gives another model and another C-index.
    train_scrambled = with_masked.copy()
    train_rows = (train_scrambled.obs["split"] == "train").to_numpy()
    train_scrambled.obs = _perturb_clinical(train_scrambled.obs, train_scrambled.obs_names[train_rows])
    assert not np.array_equal(_train_only_cox(train_scrambled).coefficients, reference_cox.coefficients)
    unchanged_test_metrics, _ = _evaluated(with_masked)
    assert _evaluated(train_scrambled)[0]["c_index"] != unchanged_test_metrics["c_index"]
