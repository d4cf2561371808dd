"""The Lightning training plan: optimizer, loss bookkeeping, logging and the non-finite guard."""

from __future__ import annotations

import lightning.pytorch as pl
import torch

from oncoae.models.likelihoods import masked_reconstruction_loss
from oncoae.models.networks import ArchitectureSpec, MultiModalAutoencoder


class NonFiniteLossError(RuntimeError):
    """Training produced NaN or Inf; the message names the modality and the epoch."""


class AutoencoderTask(pl.LightningModule):
    """Trains a ``MultiModalAutoencoder`` on reconstruction of the modalities each tumor has."""

    def __init__(
        self,
        architecture: dict,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        modality_weights: dict[str, float] | None = None,
        fused_optimizer: bool = True,
        modality_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        # Plain dicts only, so checkpoints stay loadable with torch.load(weights_only=True).
        self.save_hyperparameters()
        self.spec = ArchitectureSpec.from_dict(architecture)
        self.network = MultiModalAutoencoder(self.spec)
        self.kinds = {name: kind for name, (_n, kind) in self.spec.modalities.items()}

    def forward(self, inputs, presence):
        return self.network(inputs, presence)

    def _encoder_presence(self, presence: torch.Tensor) -> torch.Tensor:
        """Modality dropout: hide whole present modalities from the encoders, at random, while training.

        Every tumor keeps at least one modality, and the loss still scores the reconstruction of all modalities
        the tumor has, so the joint latent learns to predict a hidden modality from the others.
        """
        rate = float(self.hparams.modality_dropout)
        if not self.training or rate <= 0 or presence.shape[1] < 2:
            return presence
        keep = presence & (torch.rand(presence.shape, device=presence.device) >= rate)
        emptied = ~keep.any(dim=1)
        keep[emptied] = presence[emptied]
        return keep

    def _loss(self, batch: dict, stage: str):
        encoder_presence = self._encoder_presence(batch["presence"])
        _latent, reconstructions = self.network(batch["inputs"], encoder_presence)
        terms = masked_reconstruction_loss(
            self.kinds, reconstructions, batch["inputs"], batch["presence"], self.hparams.modality_weights
        )
        batch_size = int(batch["presence"].shape[0])
        if not torch.isfinite(terms.total):
            culprit = next((name for name, value in terms.per_modality.items() if not torch.isfinite(value)), "?")
            raise NonFiniteLossError(
                f"non-finite {stage} loss in modality {culprit!r} at epoch {self.current_epoch}; lower "
                "training.learning_rate, set training.gradient_clip_val, or check that modality's input"
            )
        # Per-modality terms only for validation: each self.log call costs about a millisecond, which on these
        # small models is a sizeable share of a training step.
        if stage == "val":
            for name, value in terms.per_modality.items():
                self.log(f"{stage}_loss_{name}", value, on_step=False, on_epoch=True, batch_size=batch_size)
        self.log(f"{stage}_loss", terms.total, on_step=False, on_epoch=True, prog_bar=True, batch_size=batch_size)
        return terms.total

    def training_step(self, batch, batch_index):
        return self._loss(batch, "train")

    def validation_step(self, batch, batch_index):
        return self._loss(batch, "val")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Dropout and modality dropout draw from the global RNG; restoring it makes a resumed run identical.
        checkpoint["torch_rng_state"] = torch.get_rng_state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "torch_rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["torch_rng_state"])

    def configure_optimizers(self):
        # The fused Adam kernel (CPU and CUDA) is markedly faster per step on these small MLPs; see benchmarks/.
        return torch.optim.Adam(
            self.parameters(),
            lr=self.hparams.learning_rate,
            weight_decay=self.hparams.weight_decay,
            fused=bool(self.hparams.fused_optimizer),
        )
