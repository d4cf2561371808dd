"""The VAE's standard-normal prior: the KL divergence of the encoders' Gaussian posterior from it (a pure
function of tensors)."""

from __future__ import annotations

import torch


def gaussian_kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) summed over latent dimensions, averaged over tumors.

    ``mean`` and ``log_var`` have shape (tumors, latent dimensions).
    """
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1).mean()
