"""The networks, likelihoods and head losses, on hand-sized tensors."""

import math

import numpy as np
import pytest
import torch

from oncoae.models.heads import classification_loss, cox_partial_likelihood_loss
from oncoae.models.likelihoods import (
    BernoulliLikelihood,
    BetaLikelihood,
    GaussianLikelihood,
    NegativeBinomialLikelihood,
    masked_reconstruction_loss,
)
from oncoae.models.networks import ArchitectureError, ArchitectureSpec, MultiModalAutoencoder
from oncoae.models.prior import gaussian_kl_divergence
from oncoae.training.problem import balanced_class_weights
from oncoae.training.task import AutoencoderTask, reconstruction_weights

MODALITIES = {"rna": (7, "continuous"), "mut": (5, "binary")}


def _network(latent_dim=3, **spec):
    torch.manual_seed(0)
    spec = ArchitectureSpec(dict(MODALITIES), hidden_sizes=[6], latent_dim=latent_dim, dropout=0.0, **spec)
    return MultiModalAutoencoder(spec).eval()


VARIANTS = [
    {},
    {"variant": "denoising"},
    {"fusion": "concat"},
    {"variant": "vae"},
    {"variant": "vae", "fusion": "poe"},
    {"variant": "vae", "fusion": "concat"},
    {"cox_head": True, "class_names": ["A", "B", "C"]},
]


@pytest.mark.parametrize("spec", VARIANTS, ids=lambda s: "-".join(map(str, s.values())) or "plain")
def test_every_variant_has_the_documented_shapes(spec):
    network = _network(**spec)
    inputs = {"rna": torch.randn(4, 7), "mut": torch.randint(0, 2, (4, 5)).float()}
    output = network(inputs, torch.ones(4, 2, dtype=torch.bool))
    assert output.latent.shape == output.mean.shape == (4, 3)
    assert output.reconstructions["rna"].shape == (4, 7) and output.reconstructions["mut"].shape == (4, 5)
    assert (output.log_var is not None) == (spec.get("variant") == "vae")
    assert (output.risk is not None) == spec.get("cox_head", False)
    if spec.get("class_names"):
        assert output.class_logits.shape == (4, 3)
    # In eval mode a VAE encodes by its posterior mean: encode() and the decoded latent agree.
    assert torch.equal(network.encode(inputs, torch.ones(4, 2, dtype=torch.bool)), output.latent)


@pytest.mark.parametrize("spec", VARIANTS, ids=lambda s: "-".join(map(str, s.values())) or "plain")
def test_absent_modality_does_not_touch_the_latent_whatever_the_fusion(spec):
    network = _network(**spec)
    presence = torch.tensor([[True, False]])
    rna = torch.randn(1, 7)
    first = network.encode({"rna": rna, "mut": torch.zeros(1, 5)}, presence)
    second = network.encode({"rna": rna, "mut": torch.ones(1, 5) * 100}, presence)
    assert torch.equal(first, second)


def test_mean_fusion_of_one_present_modality_is_its_code():
    network = _network()
    rna = torch.randn(1, 7)
    latent = network.encode({"rna": rna, "mut": torch.zeros(1, 5)}, torch.tensor([[True, False]]))
    # Exactly: the absent modality's code enters with weight 0 and the mean divides by 1.
    assert torch.equal(latent, network.encoders["rna"](rna))


def test_product_of_experts_combines_precisions_with_the_prior():
    network = _network(variant="vae", fusion="poe")
    inputs = {"rna": torch.randn(1, 7), "mut": torch.ones(1, 5)}
    mean_rna, log_var_rna = network.encoders["rna"](inputs["rna"]).chunk(2, dim=-1)
    mean_mut, log_var_mut = network.encoders["mut"](inputs["mut"]).chunk(2, dim=-1)
    precision_rna, precision_mut = torch.exp(-log_var_rna), torch.exp(-log_var_mut)
    expected_precision = 1 + precision_rna + precision_mut
    expected_mean = (mean_rna * precision_rna + mean_mut * precision_mut) / expected_precision
    output = network(inputs, torch.ones(1, 2, dtype=torch.bool))
    torch.testing.assert_close(output.mean, expected_mean)
    torch.testing.assert_close(output.log_var, -torch.log(expected_precision))


def test_architecture_rejects_impossible_combinations():
    with pytest.raises(ArchitectureError, match=r"^fusion 'poe' \(product of experts\) needs variant 'vae'$"):
        ArchitectureSpec(dict(MODALITIES), fusion="poe")
    with pytest.raises(ArchitectureError, match=r"^fusion 'concat' needs at least one hidden layer"):
        ArchitectureSpec(dict(MODALITIES), fusion="concat", hidden_sizes=[])
    with pytest.raises(ArchitectureError, match=r"^modality 'rna': unknown data kind 'poisson'; expected one of"):
        ArchitectureSpec({"rna": (3, "poisson")})


def test_loss_counts_only_present_modalities():
    likelihoods = {"rna": GaussianLikelihood(), "mut": BernoulliLikelihood()}
    targets = {"rna": torch.zeros(2, 3), "mut": torch.zeros(2, 2)}
    reconstructions = {"rna": torch.ones(2, 3), "mut": torch.full((2, 2), 1000.0)}
    presence = torch.tensor([[True, False], [True, False]])
    terms = masked_reconstruction_loss(likelihoods, reconstructions, targets, presence)
    assert terms.total.item() == 1.0  # MSE of ones vs zeros; the huge mutation logits never count
    assert set(terms.per_modality) == {"rna"}


def test_absent_rows_scoring_infinity_do_not_poison_the_loss():
    likelihoods = {"meth": BetaLikelihood(2), "rna": GaussianLikelihood()}
    targets = {"meth": torch.tensor([[0.3, 0.6], [0.0, 0.0]]), "rna": torch.zeros(2, 1)}
    reconstructions = {"meth": torch.tensor([[0.0, 0.0], [-1e4, 1e4]]), "rna": torch.zeros(2, 1)}
    presence = torch.tensor([[True, True], [False, True]])
    assert torch.isfinite(masked_reconstruction_loss(likelihoods, reconstructions, targets, presence).total)


def test_losses_are_per_feature_means_so_width_does_not_dominate():
    likelihoods = {"wide": GaussianLikelihood(), "narrow": GaussianLikelihood()}
    targets = {"wide": torch.zeros(1, 2000), "narrow": torch.zeros(1, 20)}
    reconstructions = {"wide": torch.ones(1, 2000), "narrow": torch.ones(1, 20)}
    terms = masked_reconstruction_loss(likelihoods, reconstructions, targets, torch.ones(1, 2, dtype=torch.bool))
    assert terms.per_modality["wide"].item() == terms.per_modality["narrow"].item() == 1.0


def test_by_default_every_feature_weighs_the_same_across_modalities():
    spec = ArchitectureSpec({"rna": (1000, "continuous"), "mut": (250, "binary")}, hidden_sizes=[8], latent_dim=2)
    assert reconstruction_weights(spec) == {"rna": 1.0, "mut": 0.25}
    assert reconstruction_weights(spec, "equal") == {"rna": 1.0, "mut": 1.0}
    assert reconstruction_weights(spec, "features", {"mut": 2.0}) == {"rna": 1.0, "mut": 0.5}
    # The task's loss is the weighted sum of per-feature means: a sum over all features over the widest width.
    task = AutoencoderTask(spec.to_dict())
    targets = {"rna": torch.zeros(4, 1000), "mut": torch.zeros(4, 250)}
    terms = masked_reconstruction_loss(
        task.network.likelihoods,
        {"rna": torch.ones(4, 1000), "mut": torch.zeros(4, 250)},
        targets,
        torch.ones(4, 2, dtype=torch.bool),
        task.loss_weights,
    )
    assert terms.total.item() == pytest.approx(1.0 + 0.25 * terms.per_modality["mut"].item())


def test_beta_and_negative_binomial_match_torch_distributions():
    torch.manual_seed(1)
    output, x = torch.randn(3, 4), torch.rand(3, 4).clamp(0.05, 0.95)
    beta = BetaLikelihood(4)
    mu, precision = torch.sigmoid(output), beta.log_precision.exp()
    expected = -torch.distributions.Beta(mu * precision, (1 - mu) * precision).log_prob(x).mean(dim=1)
    torch.testing.assert_close(beta.per_tumor_loss(output, x), expected)

    counts = torch.poisson(torch.full((3, 4), 5.0))
    nb = NegativeBinomialLikelihood(4)
    with torch.no_grad():
        nb.log_theta.copy_(torch.tensor([0.0, 1.0, -1.0, 2.0]))
    mean, theta = torch.nn.functional.softplus(output) + 1e-6, nb.log_theta.exp()
    expected = -torch.distributions.NegativeBinomial(theta, probs=mean / (mean + theta)).log_prob(counts).mean(dim=1)
    torch.testing.assert_close(nb.per_tumor_loss(output, counts), expected)
    assert torch.equal(nb.encoder_input(counts), torch.log1p(counts))


def test_bernoulli_pos_weight_and_focal_options():
    logits, target = torch.tensor([[0.0, 0.0, 3.0]]), torch.tensor([[1.0, 0.0, 0.0]])
    plain = BernoulliLikelihood().per_tumor_loss(logits, target)
    weighted = BernoulliLikelihood(pos_weight=10.0).per_tumor_loss(logits, target)
    expected = (10 * math.log(2) + math.log(2) + math.log1p(math.exp(3.0))) / 3
    assert weighted.item() == pytest.approx(expected, rel=1e-5)
    # Focal loss shrinks well-classified entries the most: a confident correct zero nearly vanishes.
    easy = BernoulliLikelihood(focal_gamma=2.0).per_tumor_loss(torch.tensor([[-6.0]]), torch.tensor([[0.0]]))
    hard = BernoulliLikelihood(focal_gamma=2.0).per_tumor_loss(torch.tensor([[6.0]]), torch.tensor([[0.0]]))
    assert easy.item() < 1e-6 < hard.item() and plain.item() > 0


def test_cox_loss_is_the_negative_partial_likelihood():
    risk = torch.tensor([0.5, -0.2, 1.0, 0.0])
    time = torch.tensor([5.0, 8.0, 2.0, float("nan")])
    event = torch.tensor([1.0, 0.0, 1.0, 1.0])
    # Events at t=2 (risk set: all three usable) and t=5 (risk set: the t=5 and t=8 tumors).
    by_hand = (
        -(
            (1.0 - math.log(math.exp(0.5) + math.exp(-0.2) + math.exp(1.0)))
            + (0.5 - math.log(math.exp(0.5) + math.exp(-0.2)))
        )
        / 2
    )
    assert cox_partial_likelihood_loss(risk, time, event).item() == pytest.approx(by_hand, rel=1e-6)
    # Ranking risk against survival time lowers the loss.
    assert cox_partial_likelihood_loss(-risk, time, event) > cox_partial_likelihood_loss(risk, time, event)
    assert cox_partial_likelihood_loss(risk, time, torch.zeros(4)).item() == 0.0


def test_class_weights_weigh_each_tumor_by_its_class_and_balance_the_training_counts():
    logits = torch.tensor([[2.0, 0.0], [0.0, 5.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, -1])
    per_tumor = [math.log1p(math.exp(-2.0)), math.log1p(math.exp(-5.0))]
    weighted = classification_loss(logits, labels, torch.tensor([1.0, 3.0])).item()
    assert weighted == pytest.approx((per_tumor[0] + 3 * per_tumor[1]) / 4, rel=1e-6)
    # scikit-learn's "balanced": known tumors / (classes x count); unknown labels (-1) count nowhere.
    assert balanced_class_weights(np.array([0, 0, 0, 1, -1]), 2) == pytest.approx([4 / 6, 4 / 2])


def test_classification_loss_ignores_unknown_labels_and_kl_is_zero_at_the_prior():
    logits = torch.tensor([[2.0, 0.0], [0.0, 5.0]])
    assert classification_loss(logits, torch.tensor([0, -1])).item() == pytest.approx(math.log1p(math.exp(-2.0)))
    assert classification_loss(logits, torch.tensor([-1, -1])).item() == 0.0
    assert gaussian_kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0
    assert gaussian_kl_divergence(torch.ones(3, 4), torch.zeros(3, 4)).item() == pytest.approx(2.0)
