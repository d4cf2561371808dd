"""Reconstruction likelihoods matched to each data kind, as small ``nn.Module``s.

| kind        | data                                   | likelihood                                        |
|-------------|----------------------------------------|---------------------------------------------------|
| continuous  | log-expression, M-values, CNV, protein | Gaussian with unit variance (MSE)                 |
| binary      | somatic mutation calls 0/1             | Bernoulli with logits; optional pos_weight, focal |
|             |                                        | and a per-tumor L2 scaling of the encoder input   |
| beta        | methylation beta values in [0, 1]      | Beta, mean from the decoder, learned precision    |
| counts      | raw read counts                        | negative binomial, learned per-feature dispersion |

(Methylation as logit-Gaussian is the ``mvalue`` transform with kind ``continuous``.)

Every loss is the mean over features, so a 20,000-feature modality does not drown a 200-feature one, and is
returned per tumor so that absent modalities can be masked out by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

DATA_KINDS = ("continuous", "binary", "beta", "counts")
# What the encoder of a binary modality sees: the calls as they are, or each tumor's row scaled to unit L2 norm.
INPUT_SCALINGS = ("none", "l2")

# Beta values of exactly 0 or 1 have zero density under most Beta distributions; arrays often contain them.
BETA_EPSILON = 1e-4


class Likelihood(nn.Module):
    """The reconstruction model of one modality: decoder output -> per-tumor loss and data-scale values."""

    def encoder_input(self, values: torch.Tensor) -> torch.Tensor:
        """What the encoder sees of the data (e.g. log counts); the loss always scores the data itself."""
        return values

    def per_tumor_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        """The reconstruction on the data scale."""
        return output


class GaussianLikelihood(Likelihood):
    def per_tumor_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, target, reduction="none").mean(dim=1)


class BernoulliLikelihood(Likelihood):
    """Bernoulli with logits. Mutation matrices are >95 % zeros: ``pos_weight`` up-weights the rare ones, and
    a focal exponent ``focal_gamma`` > 0 down-weights the many easy zeros instead.

    ``input_scaling="l2"`` divides each tumor's encoder input by its L2 norm over the modality's features (for
    0/1 calls: the square root of the number of mutated genes), so that a hypermutated tumor's row of ones does
    not dominate the encoder; the loss still scores the 0/1 calls themselves. A tumor without a call stays 0.
    """

    def __init__(self, pos_weight: float | None = None, focal_gamma: float = 0.0, input_scaling: str = "none") -> None:
        super().__init__()
        if input_scaling not in INPUT_SCALINGS:
            raise ValueError(f"unknown input_scaling {input_scaling!r}; expected one of {INPUT_SCALINGS}")
        self.focal_gamma = float(focal_gamma)
        self.input_scaling = input_scaling
        self.register_buffer("pos_weight", torch.tensor(float(pos_weight)) if pos_weight else None)

    def encoder_input(self, values: torch.Tensor) -> torch.Tensor:
        if self.input_scaling == "l2":
            return values / values.pow(2).sum(dim=1, keepdim=True).clamp_min(1.0).sqrt()
        return values

    def per_tumor_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(output, target, pos_weight=self.pos_weight, reduction="none")
        if self.focal_gamma > 0:
            probability = torch.sigmoid(output)
            p_true = probability * target + (1 - probability) * (1 - target)
            loss = (1 - p_true).pow(self.focal_gamma) * loss
        return loss.mean(dim=1)

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output)


class BetaLikelihood(Likelihood):
    """Beta(mu * phi, (1 - mu) * phi): mu = sigmoid(decoder output), phi a learned precision per feature."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.log_precision = nn.Parameter(torch.full((n_features,), math.log(10.0)))

    def per_tumor_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mu = torch.sigmoid(output).clamp(BETA_EPSILON, 1 - BETA_EPSILON)
        precision = self.log_precision.clamp(-5.0, 12.0).exp()
        alpha, beta = mu * precision, (1 - mu) * precision
        x = target.clamp(BETA_EPSILON, 1 - BETA_EPSILON)
        log_density = (
            torch.lgamma(precision)
            - torch.lgamma(alpha)
            - torch.lgamma(beta)
            + (alpha - 1) * torch.log(x)
            + (beta - 1) * torch.log1p(-x)
        )
        return -log_density.mean(dim=1)

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output)


class NegativeBinomialLikelihood(Likelihood):
    """NB(mean, theta): mean = softplus(decoder output), theta a learned inverse dispersion per feature.

    The encoder sees log1p(counts), so raw counts need no transform of their own.
    """

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.log_theta = nn.Parameter(torch.zeros(n_features))

    def encoder_input(self, values: torch.Tensor) -> torch.Tensor:
        return torch.log1p(values)

    def per_tumor_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mean = F.softplus(output) + 1e-6
        theta = self.log_theta.clamp(-10.0, 10.0).exp()
        log_theta_mean = torch.log(theta + mean)
        log_probability = (
            torch.lgamma(target + theta)
            - torch.lgamma(theta)
            - torch.lgamma(target + 1)
            + theta * (torch.log(theta) - log_theta_mean)
            + target * (torch.log(mean) - log_theta_mean)
        )
        return -log_probability.mean(dim=1)

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        return F.softplus(output)


def make_likelihood(kind: str, n_features: int, options: Mapping | None = None) -> Likelihood:
    """The likelihood of a data kind; ``options`` are the modality's ``loss`` settings (binary data only)."""
    options = dict(options or {})
    if kind == "continuous":
        return GaussianLikelihood()
    if kind == "binary":
        return BernoulliLikelihood(
            options.get("pos_weight"),
            float(options.get("focal_gamma") or 0.0),
            str(options.get("input_scaling") or "none"),
        )
    if kind == "beta":
        return BetaLikelihood(n_features)
    if kind == "counts":
        return NegativeBinomialLikelihood(n_features)
    raise ValueError(f"unknown data kind {kind!r}; expected one of {DATA_KINDS}")


@dataclass
class LossTerms:
    """The loss of one batch, term by term.

    ``total`` is what is optimized; ``reconstruction`` its weighted reconstruction part; ``per_modality`` each
    modality's mean over the tumors that have it; ``extra`` the KL and supervised-head terms (unweighted).
    """

    total: torch.Tensor
    reconstruction: torch.Tensor
    per_modality: dict[str, torch.Tensor]
    extra: dict[str, torch.Tensor] = field(default_factory=dict)


def masked_reconstruction_loss(
    likelihoods: Mapping[str, Likelihood],
    reconstructions: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    presence: torch.Tensor,
    modality_weights: Mapping[str, float] | None = None,
) -> LossTerms:
    """Reconstruction loss that counts only the modalities each tumor has.

    ``presence`` is batch x M (in the order of ``likelihoods``). Each modality contributes the mean of its
    per-tumor losses over the tumors that have it, times its weight.
    """
    per_modality: dict[str, torch.Tensor] = {}
    total = presence.new_zeros((), dtype=torch.float32)
    for index, (name, likelihood) in enumerate(likelihoods.items()):
        mask = presence[:, index].to(torch.float32)
        count = mask.sum()
        if count == 0:
            continue
        per_tumor = likelihood.per_tumor_loss(reconstructions[name], targets[name])
        # where() rather than a product: the placeholder rows of absent tumors may score Inf (e.g. log(0) under a
        # Beta likelihood), and Inf * 0 would poison the sum.
        modality_loss = torch.where(mask > 0, per_tumor, torch.zeros_like(per_tumor)).sum() / count
        per_modality[name] = modality_loss
        weight = 1.0 if modality_weights is None else float(modality_weights.get(name, 1.0))
        total = total + weight * modality_loss
    return LossTerms(total=total, reconstruction=total, per_modality=per_modality)
