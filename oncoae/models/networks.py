"""Autoencoder networks: plain torch ``nn.Module``s, no I/O and no training logic.

An autoencoder is an encoder f(x) = z and a decoder q(z) = x̂. The multi-modal model has one encoder and one
decoder per modality around one joint latent space; with a single modality it is exactly the plain autoencoder,
so per-modality and multi-modal models share one implementation.

Variants (``ArchitectureSpec.variant``):

* ``plain``: deterministic encoder, the reference model;
* ``denoising``: the same network; training corrupts its inputs (see ``oncoae.training.task``);
* ``vae``: encoders give a mean and a log-variance; encoding uses the mean.

Fusion of the per-modality encoders into one latent (``ArchitectureSpec.fusion``), each ignoring absent
modalities through the presence mask:

* ``mean``: the presence-masked mean of per-modality latents;
* ``concat``: per-modality codes, zeroed where absent, concatenated with the presence mask into a joint encoder;
* ``poe``: product of Gaussian experts with a standard-normal prior expert (VAE only), as in the MVAE.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from oncoae.models.likelihoods import DATA_KINDS, make_likelihood

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}
VARIANTS = ("plain", "denoising", "vae")
FUSIONS = ("mean", "concat", "poe")
# Log-variances outside this range only arise from divergence; clamping keeps exp() finite.
LOG_VAR_RANGE = (-10.0, 10.0)


class ArchitectureError(ValueError):
    pass


@dataclass
class ArchitectureSpec:
    """Everything needed to rebuild a network from a checkpoint.

    ``modalities`` maps modality name -> (number of input features, data kind); ``likelihood_options`` holds a
    modality's ``loss`` settings (binary: pos_weight, focal_gamma). ``cox_head`` adds a linear risk score on the
    latent; ``class_names`` (non-empty) adds a classification head over those classes.
    """

    modalities: dict[str, tuple[int, str]]
    hidden_sizes: list[int] = field(default_factory=lambda: [128])
    latent_dim: int = 16
    activation: str = "relu"
    dropout: float = 0.3
    batch_norm: bool = False
    variant: str = "plain"
    fusion: str = "mean"
    likelihood_options: dict[str, dict] = field(default_factory=dict)
    cox_head: bool = False
    class_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ArchitectureError(f"unknown variant {self.variant!r}; expected one of {VARIANTS}")
        if self.fusion not in FUSIONS:
            raise ArchitectureError(f"unknown fusion {self.fusion!r}; expected one of {FUSIONS}")
        if self.fusion == "poe" and self.variant != "vae":
            raise ArchitectureError("fusion 'poe' (product of experts) needs variant 'vae'")
        if self.fusion == "concat" and not self.hidden_sizes:
            raise ArchitectureError("fusion 'concat' needs at least one hidden layer (the per-modality code)")
        for name, (_n, kind) in self.modalities.items():
            if kind not in DATA_KINDS:
                raise ArchitectureError(f"modality {name!r}: unknown data kind {kind!r}; expected one of {DATA_KINDS}")

    @property
    def is_variational(self) -> bool:
        return self.variant == "vae"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping) -> ArchitectureSpec:
        values = dict(values)
        values["modalities"] = {name: (int(n), str(kind)) for name, (n, kind) in values["modalities"].items()}
        values["hidden_sizes"] = [int(h) for h in values["hidden_sizes"]]
        return cls(**values)


def mlp(
    sizes: Sequence[int], activation: str, dropout: float, batch_norm: bool, last_activation=False
) -> nn.Sequential:
    """Linear layers of ``sizes``, with activation (and dropout) between them, and after the last if asked."""
    layers: list[nn.Module] = []
    n_layers = len(sizes) - 1
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if index < n_layers - 1 or last_activation:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


@dataclass
class AutoencoderOutput:
    """One forward pass. ``latent`` is what the decoders and heads saw (a sample while a VAE trains, else the
    mean); ``mean`` is the encoding; ``log_var`` is None for deterministic variants. ``reconstructions`` are
    decoder outputs (logits for binary data); ``risk`` (batch) and ``class_logits`` exist with their heads."""

    latent: torch.Tensor
    mean: torch.Tensor
    log_var: torch.Tensor | None
    reconstructions: dict[str, torch.Tensor]
    risk: torch.Tensor | None = None
    class_logits: torch.Tensor | None = None


class MultiModalAutoencoder(nn.Module):
    """Per-modality encoders and decoders around one joint latent space, fused with a presence mask.

    A tumor lacking a modality is encoded from the modalities it has, never from zeros that pretend to be
    measurements.
    """

    def __init__(self, spec: ArchitectureSpec) -> None:
        super().__init__()
        self.spec = spec
        self.modality_names = list(spec.modalities)
        hidden = list(spec.hidden_sizes)
        code_size = spec.latent_dim * (2 if spec.is_variational else 1)
        layer = dict(activation=spec.activation, dropout=spec.dropout, batch_norm=spec.batch_norm)
        if spec.fusion == "concat":
            self.encoders = nn.ModuleDict(
                {name: mlp([n, *hidden], **layer, last_activation=True) for name, (n, _k) in spec.modalities.items()}
            )
            # The presence bits tell the joint encoder which zeroed codes mean "absent".
            n_modalities = len(spec.modalities)
            self.joint_encoder = nn.Linear(n_modalities * hidden[-1] + n_modalities, code_size)
        else:
            self.encoders = nn.ModuleDict(
                {name: mlp([n, *hidden, code_size], **layer) for name, (n, _k) in spec.modalities.items()}
            )
        self.decoders = nn.ModuleDict(
            {name: mlp([spec.latent_dim, *reversed(hidden), n], **layer) for name, (n, _k) in spec.modalities.items()}
        )
        self.likelihoods = nn.ModuleDict(
            {
                name: make_likelihood(kind, n, spec.likelihood_options.get(name))
                for name, (n, kind) in spec.modalities.items()
            }
        )
        # The Cox partial likelihood rewards ever larger risk scores once tumors are ranked; on the raw latent the
        # encoder would stretch one direction until it dominates the latent (and every clustering of it). The
        # head therefore sees the latent standardized by batch statistics (running statistics when encoding).
        # No bias: the partial likelihood is invariant to a constant shift of the risk.
        self.cox_head = (
            nn.Sequential(nn.BatchNorm1d(spec.latent_dim, affine=False), nn.Linear(spec.latent_dim, 1, bias=False))
            if spec.cox_head
            else None
        )
        self.classifier = nn.Linear(spec.latent_dim, len(spec.class_names)) if spec.class_names else None

    def _fuse(
        self, inputs: Mapping[str, torch.Tensor], presence: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        weights = presence.to(torch.float32).unsqueeze(-1)  # batch x M x 1
        codes = torch.stack(
            [self.encoders[name](self.likelihoods[name].encoder_input(inputs[name])) for name in self.modality_names],
            dim=1,
        )  # batch x M x code
        if self.spec.fusion == "concat":
            joint = self.joint_encoder(torch.cat([(codes * weights).flatten(1), weights.squeeze(-1)], dim=1))
            if not self.spec.is_variational:
                return joint, None
            mean, log_var = joint.chunk(2, dim=-1)
            return mean, log_var.clamp(*LOG_VAR_RANGE)
        if not self.spec.is_variational:
            return (codes * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0), None
        means, log_vars = codes.chunk(2, dim=-1)
        log_vars = log_vars.clamp(*LOG_VAR_RANGE)
        if self.spec.fusion == "poe":
            precisions = torch.exp(-log_vars) * weights
            total_precision = 1.0 + precisions.sum(dim=1)  # the prior expert N(0, I) has precision 1
            mean = (means * precisions).sum(dim=1) / total_precision
            return mean, -torch.log(total_precision)
        count = weights.sum(dim=1).clamp_min(1.0)
        mean = (means * weights).sum(dim=1) / count
        variance = (log_vars.exp() * weights).sum(dim=1) / count
        return mean, torch.log(variance.clamp_min(1e-8))

    def encode(self, inputs: Mapping[str, torch.Tensor], presence: torch.Tensor) -> torch.Tensor:
        """Joint latent (batch x latent_dim) from per-modality inputs (batch x features) and presence (batch x M).

        For a VAE this is the posterior mean. A tumor with no modality present gets the prior (or zero) latent;
        callers must not pass such tumors.
        """
        return self._fuse(inputs, presence)[0]

    def decode(self, latent: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-modality decoder outputs (for binary data: logits)."""
        return {name: self.decoders[name](latent) for name in self.modality_names}

    def forward(self, inputs: Mapping[str, torch.Tensor], presence: torch.Tensor) -> AutoencoderOutput:
        mean, log_var = self._fuse(inputs, presence)
        latent = mean
        if log_var is not None and self.training:
            latent = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        return AutoencoderOutput(
            latent=latent,
            mean=mean,
            log_var=log_var,
            reconstructions=self.decode(latent),
            risk=self.cox_head(latent).squeeze(-1) if self.cox_head is not None else None,
            class_logits=self.classifier(latent) if self.classifier is not None else None,
        )
