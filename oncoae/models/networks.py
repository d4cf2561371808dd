"""Autoencoder networks: plain torch ``nn.Module``s, no I/O and no training logic.

An autoencoder is an encoder f(x) = z and a decoder q(z) = x̂. The multi-modal model has one encoder and one
decoder per modality around one joint latent space; with a single modality it is exactly the plain autoencoder,
so per-modality and multi-modal models share one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}


@dataclass
class ArchitectureSpec:
    """Everything needed to rebuild a network from a checkpoint.

    ``modalities`` maps modality name -> (number of input features, data kind).
    """

    modalities: dict[str, tuple[int, str]]
    hidden_sizes: list[int] = field(default_factory=lambda: [128])
    latent_dim: int = 16
    activation: str = "relu"
    dropout: float = 0.3
    batch_norm: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping) -> ArchitectureSpec:
        values = dict(values)
        values["modalities"] = {name: (int(n), str(kind)) for name, (n, kind) in values["modalities"].items()}
        values["hidden_sizes"] = [int(h) for h in values["hidden_sizes"]]
        return cls(**values)


def mlp(sizes: Sequence[int], activation: str, dropout: float, batch_norm: bool) -> nn.Sequential:
    """Linear layers of ``sizes``, with activation (and dropout) between them but not after the last one."""
    layers: list[nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if index < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class MultiModalAutoencoder(nn.Module):
    """One encoder and one decoder per modality around a joint latent space.

    Fusion is the presence-masked mean of the per-modality codes: a tumor lacking a modality is encoded from the
    modalities it has, never from zeros that pretend to be measurements.
    """

    def __init__(self, spec: ArchitectureSpec) -> None:
        super().__init__()
        self.spec = spec
        self.modality_names = list(spec.modalities)
        hidden = list(spec.hidden_sizes)
        self.encoders = nn.ModuleDict(
            {
                name: mlp([n_features, *hidden, spec.latent_dim], spec.activation, spec.dropout, spec.batch_norm)
                for name, (n_features, _kind) in spec.modalities.items()
            }
        )
        self.decoders = nn.ModuleDict(
            {
                name: mlp(
                    [spec.latent_dim, *reversed(hidden), n_features], spec.activation, spec.dropout, spec.batch_norm
                )
                for name, (n_features, _kind) in spec.modalities.items()
            }
        )

    def encode(self, inputs: Mapping[str, torch.Tensor], presence: torch.Tensor) -> torch.Tensor:
        """Joint latent z (batch x latent_dim) from per-modality inputs (batch x features) and presence (batch x M).

        A tumor with no modality present gets a zero latent; callers must not pass such tumors.
        """
        codes = torch.stack([self.encoders[name](inputs[name]) for name in self.modality_names], dim=1)
        weights = presence.to(codes.dtype).unsqueeze(-1)
        return (codes * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)

    def decode(self, latent: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-modality reconstructions (for binary data: logits)."""
        return {name: self.decoders[name](latent) for name in self.modality_names}

    def forward(self, inputs: Mapping[str, torch.Tensor], presence: torch.Tensor):
        latent = self.encode(inputs, presence)
        return latent, self.decode(latent)
