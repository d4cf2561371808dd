"""Reconstruction losses matched to each data kind.

Every loss is the mean over features, so a 20,000-feature modality does not drown a 200-feature one, and is
returned per tumor so that absent modalities can be masked out by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch.nn import functional as F

# Data kinds and their likelihood. "continuous" covers log-expression, M-values, copy-number calls and protein.
DATA_KINDS = ("continuous", "binary")


def per_tumor_reconstruction_loss(kind: str, reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Loss per tumor (shape: batch) between a decoder output and its target (both batch x features)."""
    if kind == "continuous":
        return F.mse_loss(reconstruction, target, reduction="none").mean(dim=1)
    if kind == "binary":
        return F.binary_cross_entropy_with_logits(reconstruction, target, reduction="none").mean(dim=1)
    raise ValueError(f"unknown data kind {kind!r}; expected one of {DATA_KINDS}")


def reconstruct_values(kind: str, decoder_output: torch.Tensor) -> torch.Tensor:
    """Decoder output on the data scale (probabilities for binary data)."""
    return torch.sigmoid(decoder_output) if kind == "binary" else decoder_output


@dataclass
class LossTerms:
    """The loss of one batch: the total to optimize and each modality's mean over the tumors that have it."""

    total: torch.Tensor
    per_modality: dict[str, torch.Tensor]


def masked_reconstruction_loss(
    kinds: Mapping[str, str],
    reconstructions: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    presence: torch.Tensor,
    modality_weights: Mapping[str, float] | None = None,
) -> LossTerms:
    """Reconstruction loss that counts only the modalities each tumor has.

    ``presence`` is batch x M (in the order of ``kinds``). Each modality contributes the mean of its per-tumor
    losses over the tumors that have it, times its weight.
    """
    per_modality: dict[str, torch.Tensor] = {}
    total = presence.new_zeros((), dtype=torch.float32)
    for index, (name, kind) in enumerate(kinds.items()):
        mask = presence[:, index].to(torch.float32)
        count = mask.sum()
        if count == 0:
            continue
        per_tumor = per_tumor_reconstruction_loss(kind, reconstructions[name], targets[name])
        modality_loss = (per_tumor * mask).sum() / count
        per_modality[name] = modality_loss
        weight = 1.0 if modality_weights is None else float(modality_weights.get(name, 1.0))
        total = total + weight * modality_loss
    return LossTerms(total=total, per_modality=per_modality)
