"""Options of the binary (mutation) likelihood beyond pos_weight and focal_gamma: the per-tumor L2 scaling of what
the encoder sees (``modalities.<name>.loss.input_scaling``), which leaves the scored 0/1 calls untouched."""

from __future__ import annotations

import copy

import pytest
import torch

from oncoae.models.checkpoint import load_model, save_model
from oncoae.models.likelihoods import BernoulliLikelihood, make_likelihood
from oncoae.models.networks import ArchitectureSpec, MultiModalAutoencoder

from .conftest import REPO, TINY_CONFIG

CALLS = torch.tensor([[1.0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 0, 1]])


def test_l2_input_scaling_gives_each_mutated_tumor_unit_norm_and_keeps_empty_rows_zero():
    scaled = BernoulliLikelihood(input_scaling="l2").encoder_input(CALLS)
    assert torch.allclose(scaled.norm(dim=1), torch.tensor([1.0, 1.0, 0.0, 1.0]))
    assert torch.allclose(scaled[1], torch.full((4,), 0.5))  # 4 mutated genes: 1 / sqrt(4)
    assert torch.equal(BernoulliLikelihood().encoder_input(CALLS), CALLS)  # the default is today's identity


def test_l2_input_scaling_leaves_the_loss_on_the_calls_themselves():
    logits = torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
    plain, scaled = BernoulliLikelihood(pos_weight=3.0), BernoulliLikelihood(pos_weight=3.0, input_scaling="l2")
    assert torch.allclose(plain.per_tumor_loss(logits, CALLS), scaled.per_tumor_loss(logits, CALLS))


def test_make_likelihood_passes_input_scaling_and_rejects_an_unknown_one():
    assert make_likelihood("binary", 4, {"input_scaling": "l2"}).input_scaling == "l2"
    assert make_likelihood("binary", 4, {}).input_scaling == "none"
    with pytest.raises(ValueError, match="input_scaling"):
        make_likelihood("binary", 4, {"input_scaling": "l1"})


def _network(scaling: str | None) -> MultiModalAutoencoder:
    torch.manual_seed(0)
    options = {} if scaling is None else {"input_scaling": scaling}
    spec = ArchitectureSpec(
        modalities={"mutation": (4, "binary")},
        hidden_sizes=[8],
        latent_dim=3,
        dropout=0.0,
        likelihood_options={"mutation": options},
    )
    return MultiModalAutoencoder(spec).eval()


def test_the_encoder_of_an_l2_scaled_modality_sees_only_the_pattern_and_the_option_survives_saving(tmp_path):
    presence = torch.ones(2, 1, dtype=torch.bool)
    few_and_many = {"mutation": torch.tensor([[0.0, 1, 0, 1], [1, 1, 1, 1]])}
    pattern_twice = {"mutation": torch.tensor([[0.0, 2, 0, 2], [2, 2, 2, 2]])}
    scaled = _network("l2")
    with torch.no_grad():
        assert torch.allclose(scaled.encode(few_and_many, presence), scaled.encode(pattern_twice, presence))
        plain = _network(None)
        assert not torch.allclose(plain.encode(few_and_many, presence), plain.encode(pattern_twice, presence))
        save_model(scaled, tmp_path / "model.pt")
        loaded, _ = load_model(tmp_path / "model.pt")
        assert loaded.likelihoods["mutation"].input_scaling == "l2"
        assert torch.allclose(loaded.encode(few_and_many, presence), scaled.encode(few_and_many, presence))


def test_schema_accepts_l2_rejects_others_and_adds_no_default():
    from snakemake.utils import validate

    schema = str(REPO / "config" / "schema.yaml")
    config = copy.deepcopy(TINY_CONFIG)
    validate(config, schema, set_default=True)
    for modality in config["modalities"].values():
        assert "input_scaling" not in modality["loss"]  # existing models' training params stay as they were
    config = copy.deepcopy(TINY_CONFIG)
    name = "mutation"
    config["modalities"][name]["loss"] = {"input_scaling": "l2"}
    validate(config, schema, set_default=True)
    config["modalities"][name]["loss"] = {"input_scaling": "l1"}
    with pytest.raises(Exception, match="l1"):
        validate(config, schema, set_default=True)
