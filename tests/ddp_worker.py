"""Trains a tiny multi-modal autoencoder with ``strategy: ddp`` on CPU (gloo): run as a script by tests/test_ddp.py.

Lightning's DDP launcher starts rank 1 by running this same script again, so everything here is deterministic
and each rank writes ``rank<k>.pt``: its final weights and its number of training batches per epoch. Rank 0 also
saves ``model.pt`` the way the workflow's training step does, and the latent it computes in memory.

Usage: python tests/ddp_worker.py OUT_DIR [N_TRAIN] [ACCELERATOR] (cpu, the default, or gpu: benchmarks/gpu_check.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from oncoae.data.modality import ModalityBatchSource
from oncoae.models.checkpoint import save_model
from oncoae.models.networks import ArchitectureSpec
from oncoae.training.fit import TrainingSettings, fit_autoencoder

SPEC = ArchitectureSpec({"rna": (24, "continuous"), "mut": (8, "binary")}, hidden_sizes=[16], latent_dim=3, dropout=0.1)
BATCH_SIZE = 16


def tiny_source(n: int, seed: int) -> ModalityBatchSource:
    """Two modalities from 3 factors; a fifth of the tumors lack mutation data."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 3))
    rna = factors @ np.random.default_rng(99).normal(size=(3, 24)) + 0.1 * rng.normal(size=(n, 24))
    mutations = (rng.random((n, 8)) < 0.2).astype(np.float32)
    presence = np.ones((n, 2), dtype=bool)
    presence[: n // 5, 1] = False
    mutations[~presence[:, 1]] = 0
    return ModalityBatchSource([f"t{i}" for i in range(n)], {"rna": rna.astype(np.float32), "mut": mutations}, presence)


class CountBatches(Callback):
    """Training batches this rank ran, per epoch."""

    def __init__(self) -> None:
        self.per_epoch: list[int] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.per_epoch.append(0)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_index) -> None:
        self.per_epoch[-1] += 1


def main(out_dir: Path, n_train: int, accelerator: str = "cpu") -> None:
    torch.set_num_threads(1)
    train, val = tiny_source(n_train, 0), tiny_source(40, 1)
    settings = TrainingSettings(
        max_epochs=6,
        patience=6,
        batch_size=BATCH_SIZE,
        accelerator=accelerator,
        devices=2,
        strategy="ddp",
        progress_bar=False,
        checkpoint_every_n_epochs=2,
        modality_dropout=0.2,
    )
    counter = CountBatches()
    result = fit_autoencoder(train, val, SPEC, settings, 5, out_dir / "work", callbacks=[counter])
    state = {k: v.clone() for k, v in result.network.state_dict().items()}
    torch.save(
        {"state_dict": state, "batches": counter.per_epoch, "best_epoch": result.best_epoch},
        out_dir / f"rank{result.global_rank}.pt",
    )
    if result.global_rank == 0:
        save_model(result.network, out_dir / "model.pt")
        with torch.no_grad():
            inputs = {name: torch.from_numpy(train.dense(name)) for name in train.modality_names}
            latent = result.network.encode(inputs, torch.from_numpy(train.presence))
        torch.save(latent, out_dir / "latent.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 101, *sys.argv[3:4])
