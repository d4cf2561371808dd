"""The Lightning training plan: objective, corruption, KL warm-up, logging and the non-finite guard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import lightning.pytorch as pl
import torch

from oncoae.models.heads import classification_loss, cox_partial_likelihood_loss
from oncoae.models.likelihoods import LossTerms, masked_reconstruction_loss
from oncoae.models.networks import ArchitectureSpec, MultiModalAutoencoder
from oncoae.models.prior import gaussian_kl_divergence
from oncoae.settings import TrainingSettings


class NonFiniteLossError(RuntimeError):
    """Training produced NaN or Inf; the message names the modality (or term) and the epoch."""


@dataclass
class ObjectiveSettings:
    """What the model is trained to do besides reconstruct (all off by default: the plain autoencoder).

    ``input_dropout`` / ``input_noise``: denoising corruption of the encoder inputs (masking probability; Gaussian
    sd, continuous modalities only). ``beta`` / ``kl_warmup_epochs``: the VAE's KL weight and its linear warm-up.
    ``cox_weight`` / ``classification_weight``: weights of the supervised heads' losses. ``class_weights``: one
    weight per class of the classification head's cross-entropy (None: every tumor weighs the same).
    """

    input_dropout: float = 0.0
    input_noise: float = 0.0
    beta: float = 1.0
    kl_warmup_epochs: int = 0
    cox_weight: float = 0.0
    classification_weight: float = 0.0
    class_weights: list[float] | None = None


MODALITY_WEIGHTINGS = ("features", "equal")


def reconstruction_weights(
    spec: ArchitectureSpec, weighting: str = "features", modality_weights: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Each modality's weight on its per-feature mean reconstruction loss.

    ``features``: in proportion to its number of features (the widest modality weighs 1), so every feature counts
    the same, as in one autoencoder or PCA on the concatenated features; a 250-gene mutation panel then does not
    weigh as much as 1,000 methylation probes. ``equal``: 1 per modality. ``modality_weights`` multiply either.
    """
    if weighting not in MODALITY_WEIGHTINGS:
        raise ValueError(f"unknown modality_weighting {weighting!r}; expected one of {MODALITY_WEIGHTINGS}")
    widths = {name: n for name, (n, _kind) in spec.modalities.items()}
    widest = max(widths.values())
    extra = modality_weights or {}
    return {
        name: (width / widest if weighting == "features" else 1.0) * float(extra.get(name, 1.0))
        for name, width in widths.items()
    }


class AutoencoderTask(pl.LightningModule):
    """Trains a ``MultiModalAutoencoder`` on reconstruction of the modalities each tumor has (plus heads).

    ``architecture``: ``ArchitectureSpec.to_dict()``; ``training``: ``TrainingSettings.to_dict()`` (the learning
    rate, weight decay, fused optimizer, modality dropout and weighting are read from it; keys left out take the
    schema's defaults); ``objective``: ``ObjectiveSettings`` as a dict (None: the plain autoencoder's).
    """

    def __init__(self, architecture: dict, training: dict | None = None, objective: dict | None = None) -> None:
        super().__init__()
        # Plain dicts only, so checkpoints stay loadable with torch.load(weights_only=True).
        self.save_hyperparameters()
        self.spec = ArchitectureSpec.from_dict(architecture)
        self.network = MultiModalAutoencoder(self.spec)
        self.settings = TrainingSettings.from_config(training)
        self.objective = ObjectiveSettings(**(objective or {}))
        modality_weighting = self.settings.modality_weighting
        self.loss_weights = reconstruction_weights(
            self.spec, modality_weighting, self.settings.modality_weights or None
        )
        # Reconstruction terms are per-feature means; dividing the KL (a sum over latent dimensions) by the width
        # that makes the weighted reconstruction a per-feature figure puts both on one scale, so beta = 1 is the
        # usual evidence lower bound of a unit-variance Gaussian decoder, whatever the number of features.
        widths = [n for n, _kind in self.spec.modalities.values()]
        per_feature_width = max(widths) if modality_weighting == "features" else sum(widths) / len(widths)
        self.kl_scale = 1.0 / per_feature_width
        # A buffer, so the weights follow the model to its device; not persistent: the hyperparameters hold them.
        weights = self.objective.class_weights
        self.register_buffer(
            "class_weights", torch.tensor(weights, dtype=torch.float32) if weights else None, persistent=False
        )

    def forward(self, inputs, presence):
        return self.network(inputs, presence)

    def _encoder_presence(self, presence: torch.Tensor) -> torch.Tensor:
        """Modality dropout: hide whole present modalities from the encoders, at random, while training.

        Every tumor keeps at least one modality, and the loss still scores the reconstruction of all modalities
        the tumor has, so the joint latent learns to predict a hidden modality from the others.
        """
        rate = float(self.settings.modality_dropout)
        if not self.training or rate <= 0 or presence.shape[1] < 2:
            return presence
        keep = presence & (torch.rand(presence.shape, device=presence.device) >= rate)
        emptied = ~keep.any(dim=1)
        keep[emptied] = presence[emptied]
        return keep

    def _corrupt(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Denoising corruption of what the encoders see; the loss still scores the clean data."""
        objective = self.objective
        if not self.training or (objective.input_dropout <= 0 and objective.input_noise <= 0):
            return inputs
        corrupted = {}
        for name, values in inputs.items():
            if objective.input_dropout > 0:
                values = values * (torch.rand_like(values) >= objective.input_dropout)
            if objective.input_noise > 0 and self.spec.modalities[name][1] == "continuous":
                values = values + objective.input_noise * torch.randn_like(values)
            corrupted[name] = values
        return corrupted

    def kl_weight(self, stage: str) -> float:
        """beta, ramped up linearly over the warm-up epochs while training. Validation always uses the full beta,
        so val losses of different epochs are comparable and early stopping does not favour warm-up epochs."""
        beta = self.objective.beta
        warmup = self.objective.kl_warmup_epochs
        if stage != "train" or warmup <= 0:
            return beta
        return beta * min(1.0, (self.current_epoch + 1) / warmup)

    def compute_loss(self, batch: dict, stage: str) -> LossTerms:
        """Every loss term of one batch (structured), with the total to optimize."""
        output = self.network(self._corrupt(batch["inputs"]), self._encoder_presence(batch["presence"]))
        terms = masked_reconstruction_loss(
            self.network.likelihoods,
            output.reconstructions,
            batch["inputs"],
            batch["presence"],
            self.loss_weights,
        )
        total = terms.reconstruction
        targets = batch.get("targets", {})
        if output.log_var is not None:
            terms.extra["kl"] = gaussian_kl_divergence(output.mean, output.log_var)
            total = total + self.kl_weight(stage) * self.kl_scale * terms.extra["kl"]
        if output.risk is not None and self.objective.cox_weight > 0:
            terms.extra["cox"] = cox_partial_likelihood_loss(output.risk, targets["time"], targets["event"])
            total = total + self.objective.cox_weight * terms.extra["cox"]
        if output.class_logits is not None and self.objective.classification_weight > 0:
            terms.extra["classification"] = classification_loss(
                output.class_logits, targets["label"], self.class_weights
            )
            total = total + self.objective.classification_weight * terms.extra["classification"]
        terms.total = total
        return terms

    def _step(self, batch: dict, stage: str) -> torch.Tensor:
        terms = self.compute_loss(batch, stage)
        batch_size = int(batch["presence"].shape[0])
        if not torch.isfinite(terms.total):
            parts = {**terms.per_modality, **terms.extra}
            culprit = next((name for name, value in parts.items() if not torch.isfinite(value)), "?")
            raise NonFiniteLossError(
                f"non-finite {stage} loss in modality {culprit!r} at epoch {self.current_epoch}; lower "
                "training.learning_rate, set training.gradient_clip_val, or check that modality's input"
            )
        if stage == "train":
            # The epoch's mean training loss is summed here and logged once per epoch (on_train_epoch_end): each
            # self.log call costs about a millisecond, a sizeable share of a step of these small models (see
            # benchmarks/results/throughput.md). Term-by-term values are logged for validation only.
            self._train_loss_sum += terms.total.detach() * batch_size
            self._train_loss_count += batch_size
            return terms.total
        if stage == "val":
            for name, value in {**terms.per_modality, **terms.extra}.items():
                self.log(f"{stage}_loss_{name}", value, on_step=False, on_epoch=True, batch_size=batch_size)
            self.log(
                f"{stage}_reconstruction_loss",
                terms.reconstruction,
                on_step=False,
                on_epoch=True,
                batch_size=batch_size,
            )
        self.log(f"{stage}_loss", terms.total, on_step=False, on_epoch=True, prog_bar=True, batch_size=batch_size)
        return terms.total

    def on_train_epoch_start(self) -> None:
        self._train_loss_sum = torch.zeros((), device=self.device)
        self._train_loss_count = 0

    def on_train_epoch_end(self) -> None:
        if self._train_loss_count:
            # Under DDP the mean over ranks (validation needs no reduction: every rank sees all val tumors).
            mean = self._train_loss_sum / self._train_loss_count
            self.log("train_loss", mean, on_epoch=True, prog_bar=True, sync_dist=True)

    def training_step(self, batch, batch_index):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_index):
        return self._step(batch, "val")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Dropout, corruption and modality dropout draw from the global RNGs, the CPU's and, on a GPU, the
        # device's; restoring them makes a resumed run identical. Under DDP each rank's RNGs have drawn for
        # batches of their own, so every rank's state is kept (Lightning calls this hook on every rank; the
        # gather is collective, and rank 0 writes the file).
        cpu_state = torch.get_rng_state()
        checkpoint["torch_rng_state"] = cpu_state
        checkpoint["rank_cpu_rng_states"] = self._gather_states(cpu_state)
        root = self.trainer.strategy.root_device
        if root.type == "cuda":
            checkpoint["rank_cuda_rng_states"] = self._gather_states(torch.cuda.get_rng_state(root))

    def _gather_states(self, state: torch.Tensor) -> torch.Tensor:
        """One row per rank (a single row in one process)."""
        if self.trainer.world_size == 1:
            return state.unsqueeze(0)
        # NCCL gathers only device tensors; gloo takes either.
        local = state.to(self.trainer.strategy.root_device)
        gathered = [torch.empty_like(local) for _ in range(self.trainer.world_size)]
        torch.distributed.all_gather(gathered, local)
        return torch.stack(gathered).cpu()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if self._trainer is None:  # loaded for its weights alone (LightningModule.load_from_checkpoint)
            return
        rank, world = self.trainer.global_rank, self.trainer.world_size
        cpu_states = checkpoint.get("rank_cpu_rng_states")
        if cpu_states is not None and len(cpu_states) == world:
            torch.set_rng_state(cpu_states[rank])
        elif "torch_rng_state" in checkpoint:  # checkpoints of earlier versions, or another number of ranks
            torch.set_rng_state(checkpoint["torch_rng_state"])
        cuda_states = checkpoint.get("rank_cuda_rng_states")
        root = self.trainer.strategy.root_device
        if cuda_states is not None and root.type == "cuda" and len(cuda_states) == world:
            torch.cuda.set_rng_state(cuda_states[rank], root)

    def configure_optimizers(self):
        # The fused Adam kernel (CPU and CUDA) is markedly faster per step on these small MLPs; see benchmarks/.
        return torch.optim.Adam(
            self.parameters(),
            lr=self.settings.learning_rate,
            weight_decay=self.settings.weight_decay,
            fused=bool(self.settings.fused_optimizer),
        )
