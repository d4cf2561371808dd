import numpy as np
import pandas as pd
import scipy.sparse as sp

from oncoae.data.simulate import ModalitySimulation, SimulationSettings, simulate_cohort
from oncoae.data.split import make_split


def _small(**overrides):
    settings = SimulationSettings(n_tumors=200, **overrides)
    settings.modalities = {
        "expression": ModalitySimulation(50, 0.2, 0.6, 0.06),
        "methylation": ModalitySimulation(40, 0.2, 0.6, 0.06),
        "copy_number": ModalitySimulation(60, 0.2, 0.6, 0.06),
        "mutation": ModalitySimulation(30, 0.1, 1.0, 0.0),
    }
    return settings


def test_same_seed_same_data_other_seed_other_data():
    first, second = simulate_cohort(_small(seed=1)), simulate_cohort(_small(seed=1))
    other = simulate_cohort(_small(seed=2))
    for name in first.modalities:
        pd.testing.assert_frame_equal(first.table(name), second.table(name), check_exact=True)
    assert not first.table("expression").equals(other.table("expression"))


def test_values_look_like_their_data_kinds():
    cohort = simulate_cohort(_small())
    expression = cohort.table("expression").to_numpy()
    methylation = cohort.table("methylation").to_numpy()
    copy_number = cohort.table("copy_number").to_numpy()
    mutation = cohort.table("mutation").to_numpy()
    assert expression.min() >= 0 and expression.max() > 10  # TPM-like, skewed
    assert methylation.min() >= 0 and methylation.max() <= 1
    assert set(np.unique(copy_number)) <= {-2.0, -1.0, 0.0, 1.0, 2.0}
    assert set(np.unique(mutation)) <= {0.0, 1.0} and mutation.mean() < 0.2  # sparse


def test_whole_modalities_are_missing_at_the_configured_rate_and_never_all():
    cohort = simulate_cohort(_small(missing_fraction=0.3))
    samples = cohort.clinical.index
    presence = pd.DataFrame(
        {name: samples.isin(adata.obs_names) for name, adata in cohort.modalities.items()}, index=samples
    )
    assert presence.any(axis=1).all()
    assert (~presence.all(axis=1)).mean() == np.float64(0.3)


def test_ground_truth_and_survival_are_in_the_clinical_table():
    clinical = simulate_cohort(_small()).clinical
    assert set(clinical["subtype"]) == {"S1", "S2", "S3", "S4"}
    assert (clinical["os_days"] > 0).all() and set(clinical["os_event"]) <= {0, 1}
    assert 0.2 < clinical["os_event"].mean() < 0.9


def test_stratified_split_is_seeded_and_keeps_proportions():
    clinical = simulate_cohort(_small()).clinical
    fractions = {"train": 0.6, "val": 0.15, "test": 0.25}
    first = make_split(clinical.index, fractions, seed=0, stratify=clinical["subtype"])
    again = make_split(clinical.index, fractions, seed=0, stratify=clinical["subtype"])
    pd.testing.assert_frame_equal(first, again)
    counts = first["split"].value_counts()
    assert counts["test"] == 50 and counts["val"] == 30 and counts["train"] == 120
    test_share = clinical.loc[first.loc[first["split"] == "test", "sample"], "subtype"].value_counts(normalize=True)
    overall = clinical["subtype"].value_counts(normalize=True)
    assert (test_share - overall).abs().max() < 0.05


def test_a_given_split_keeps_its_test_tumors():
    samples = pd.Index([f"p{i}" for i in range(40)])
    given = pd.Series(["test" if i % 4 == 0 else "train" for i in range(40)], index=samples, name="given")
    table = make_split(samples, {"train": 0.6, "val": 0.15, "test": 0.25}, seed=0, given=given)
    assert set(table.loc[table["split"] == "test", "sample"]) == set(samples[given == "test"])
    assert (table["split"] == "val").sum() > 0


def test_generating_in_row_blocks_gives_the_bytes_of_one_block(monkeypatch):
    """Large cohorts are generated a block of tumors at a time to bound memory; the data must not depend on it."""
    whole = simulate_cohort(_small(missing_fraction=0.2))
    monkeypatch.setattr("oncoae.data.simulate.ROW_BLOCK", 7)
    blocked = simulate_cohort(_small(missing_fraction=0.2))
    for name in whole.modalities:
        pd.testing.assert_frame_equal(whole.table(name), blocked.table(name), check_exact=True)
    pd.testing.assert_frame_equal(whole.clinical, blocked.clinical, check_exact=True)


def test_mutations_are_simulated_as_a_sparse_matrix():
    cohort = simulate_cohort(_small())
    assert sp.issparse(cohort.modalities["mutation"].X)
    assert not sp.issparse(cohort.modalities["expression"].X)
    assert cohort.modalities["mutation"].X.dtype == np.float32
