"""Real Lightning training on tiny problems."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from oncoae.data.modality import ModalityBatchSource, assemble_modalities
from oncoae.models.networks import ArchitectureSpec
from oncoae.training.fit import TrainingSettings, fit_autoencoder
from oncoae.training.task import NonFiniteLossError, ObjectiveSettings


def _low_rank_source(n: int, seed: int, scale: float = 1.0) -> ModalityBatchSource:
    """Two modalities driven by 3 factors; survival hazard rises with the first factor."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 3))
    loadings = np.random.default_rng(99).normal(size=(3, 30))
    rna = (factors @ loadings + 0.1 * rng.normal(size=(n, 30))) * scale
    logits = factors @ np.random.default_rng(98).normal(size=(3, 10))
    mutations = (rng.random((n, 10)) < 1 / (1 + np.exp(-logits))).astype(np.float32)
    presence = np.ones((n, 2), dtype=bool)
    presence[: n // 5, 1] = False  # a fifth lacks mutation data
    mutations[~presence[:, 1]] = 0
    event_time = rng.exponential(np.exp(-1.5 * factors[:, 0]))
    censor_time = rng.exponential(2.0, size=n)
    targets = {
        "time": np.minimum(event_time, censor_time).astype(np.float32),
        "event": (event_time <= censor_time).astype(np.float32),
    }
    return ModalityBatchSource(
        [f"t{i}" for i in range(n)], {"rna": rna.astype(np.float32), "mut": mutations}, presence, targets
    )


SPEC = ArchitectureSpec(
    {"rna": (30, "continuous"), "mut": (10, "binary")}, hidden_sizes=[16], latent_dim=3, dropout=0.0
)


def test_loss_decreases_on_a_learnable_problem(tmp_path):
    settings = TrainingSettings(
        max_epochs=40, patience=40, batch_size=32, learning_rate=3e-3, weight_decay=0.0, progress_bar=False
    )
    result = fit_autoencoder(_low_rank_source(256, 0), _low_rank_source(64, 1), SPEC, settings, 0, tmp_path / "w")
    val = result.history["val_loss"].dropna().to_numpy()
    assert val[-1] < 0.5 * val[0]
    assert result.history["train_loss"].dropna().iloc[-1] < result.history["train_loss"].dropna().iloc[0]
    assert result.best_epoch == int(result.history.loc[result.history["val_loss"].idxmin(), "epoch"])


def test_same_seed_gives_identical_weights(tmp_path):
    settings = TrainingSettings(max_epochs=5, batch_size=32, progress_bar=False, modality_dropout=0.3)
    train, val = _low_rank_source(128, 0), _low_rank_source(32, 1)
    first = fit_autoencoder(train, val, SPEC, settings, 7, tmp_path / "a").network.state_dict()
    second = fit_autoencoder(train, val, SPEC, settings, 7, tmp_path / "b").network.state_dict()
    other = fit_autoencoder(train, val, SPEC, settings, 8, tmp_path / "c").network.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_a_sparse_modality_trains_exactly_as_its_dense_copy(tmp_path):
    """Mutations stay a CSR matrix until a batch is cut; the batches, and so the weights, must not differ."""
    settings = TrainingSettings(max_epochs=4, batch_size=32, progress_bar=False)
    train, val = _low_rank_source(128, 0), _low_rank_source(32, 1)
    sparse_train, sparse_val = (
        ModalityBatchSource(s.samples, {**s.values, "mut": sp.csr_matrix(s.values["mut"])}, s.presence, s.targets)
        for s in (train, val)
    )
    dense = fit_autoencoder(train, val, SPEC, settings, 3, tmp_path / "dense").network.state_dict()
    from_sparse = fit_autoencoder(sparse_train, sparse_val, SPEC, settings, 3, tmp_path / "sparse").network.state_dict()
    assert all(torch.equal(dense[k], from_sparse[k]) for k in dense)


def test_assembling_a_sparse_modality_keeps_it_sparse_with_empty_rows_for_absent_tumors():
    calls = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float32))
    adata = ad.AnnData(calls, obs=pd.DataFrame(index=["a", "b", "c"]), var=pd.DataFrame(index=["g1", "g2", "g3"]))
    source = assemble_modalities({"mut": adata}, ["c", "x", "a"])
    assert sp.issparse(source.values["mut"])
    np.testing.assert_array_equal(source.dense("mut"), [[0, 0, 1], [0, 0, 0], [0, 1, 0]])
    assert source.presence[:, 0].tolist() == [True, False, True]


def test_non_finite_loss_names_the_modality_and_epoch(tmp_path):
    settings = TrainingSettings(
        max_epochs=50, batch_size=32, learning_rate=1e6, weight_decay=0.0, fused_optimizer=False, progress_bar=False
    )
    # Only rna is scaled to 1e18, so its loss is the culprit, from the first epoch on.
    with pytest.raises(NonFiniteLossError, match=r"^non-finite train loss in modality 'rna' at epoch 0; lower"):
        fit_autoencoder(
            _low_rank_source(128, 0, scale=1e18), _low_rank_source(32, 1, scale=1e18), SPEC, settings, 0, tmp_path / "w"
        )


@pytest.mark.parametrize(
    ("variant", "objective"),
    [
        ({"variant": "vae", "fusion": "poe"}, ObjectiveSettings(beta=0.5, kl_warmup_epochs=5)),
        ({"variant": "denoising", "fusion": "concat"}, ObjectiveSettings(input_dropout=0.2, input_noise=0.1)),
    ],
    ids=["vae-poe", "denoising-concat"],
)
def test_variants_learn_the_problem(tmp_path, variant, objective):
    spec = ArchitectureSpec(dict(SPEC.modalities), hidden_sizes=[16], latent_dim=3, dropout=0.0, **variant)
    settings = TrainingSettings(
        max_epochs=40, patience=40, batch_size=32, learning_rate=3e-3, weight_decay=0.0, progress_bar=False
    )
    result = fit_autoencoder(
        _low_rank_source(256, 0), _low_rank_source(64, 1), spec, settings, 0, tmp_path / "w", objective=objective
    )
    recon = result.history["val_reconstruction_loss"].dropna().to_numpy()
    assert recon[-1] < 0.6 * recon[0]
    if spec.variant == "vae":
        assert result.history["val_loss_kl"].notna().all()


def test_cox_head_learns_risk_from_training_tumors_only(tmp_path):
    """Trained on training tumors, the head ranks unseen tumors by their hazard."""
    from lifelines.utils import concordance_index

    spec = ArchitectureSpec(dict(SPEC.modalities), hidden_sizes=[16], latent_dim=3, dropout=0.0, cox_head=True)
    settings = TrainingSettings(
        max_epochs=30, patience=30, batch_size=64, learning_rate=3e-3, weight_decay=0.0, progress_bar=False
    )
    train, val, test = _low_rank_source(512, 0), _low_rank_source(64, 1), _low_rank_source(300, 2)
    network = fit_autoencoder(
        train, val, spec, settings, 0, tmp_path / "w", objective=ObjectiveSettings(cox_weight=1.0)
    ).network
    inputs = {name: torch.from_numpy(values) for name, values in test.values.items()}
    with torch.no_grad():
        risk = network(inputs, torch.from_numpy(test.presence)).risk.numpy()
    c_index = concordance_index(test.targets["time"], -risk, test.targets["event"])
    assert c_index > 0.7  # the true hazard (factor 0) reaches about 0.75 here
