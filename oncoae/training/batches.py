"""Batches sliced from in-memory float32 tensors.

Omics cohorts fit in memory, so a batch is one fancy-index into each modality tensor: no per-tumor
``__getitem__`` and no collate of single rows, which on a 2-core machine would cost more than the model.
A sparse modality (mutations) stays a CSR matrix; only the batch's rows are made dense.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from oncoae.data.modality import ModalityBatchSource, dense_rows


class TumorTensors(Dataset):
    """Modality tensors of a fixed tumor list; indexing with a tensor of row indices returns a whole batch."""

    def __init__(self, source: ModalityBatchSource) -> None:
        self.modality_names = source.modality_names
        self.values = {
            name: v if scipy.sparse.issparse(v) else torch.from_numpy(dense_rows(v))
            for name, v in source.values.items()
        }
        self.presence = torch.from_numpy(source.presence)
        self.targets = {name: torch.from_numpy(np.ascontiguousarray(v)) for name, v in source.targets.items()}

    def __len__(self) -> int:
        return int(self.presence.shape[0])

    def __getitem__(self, rows: torch.Tensor) -> dict:
        batch = {
            "inputs": {name: _rows(values, rows) for name, values in self.values.items()},
            "presence": self.presence[rows],
        }
        if self.targets:
            batch["targets"] = {name: tensor[rows] for name, tensor in self.targets.items()}
        return batch


def _rows(values: torch.Tensor | scipy.sparse.csr_matrix, rows: torch.Tensor) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values[rows]
    return torch.from_numpy(dense_rows(values, rows.numpy()))


class EpochPermutationBatches(Sampler):
    """Yields index tensors of whole batches from a permutation seeded by (seed, epoch).

    Seeding per epoch (Lightning calls ``set_epoch``) makes a run resumed from a checkpoint see exactly the
    batches an uninterrupted run would have seen.

    Under DDP (``shard=True``) each rank takes every ``world_size``-th batch. Every rank must run the same number
    of optimizer steps, or the gradient all-reduce of the rank with one batch more waits forever; so, like
    torch's ``DistributedSampler`` pads samples, the batch list is padded by repeating its first batches until it
    divides evenly. ``shard=False`` (validation) gives every rank all batches, so each rank computes the same val
    loss and early stopping and best-epoch choice agree across ranks without a reduction.
    """

    def __init__(
        self, n_rows: int, batch_size: int, shuffle: bool, seed: int, drop_last: bool = False, shard: bool = True
    ) -> None:
        self.n_rows = n_rows
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.shard = shard
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rank_and_world(self) -> tuple[int, int]:
        if self.shard and torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def _all_batches(self) -> list[torch.Tensor]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.n_rows, generator=generator)
        else:
            order = torch.arange(self.n_rows)
        batches = list(torch.split(order, self.batch_size))
        # A last batch of one tumor gives a noisy step (and breaks batch norm); fold it into the previous one.
        if len(batches) > 1 and (self.drop_last or len(batches[-1]) < 2) and len(batches[-1]) < self.batch_size:
            if self.drop_last:
                batches = batches[:-1]
            else:
                batches[-2] = torch.cat([batches[-2], batches.pop()])
        return batches

    def rank_batches(self) -> list[torch.Tensor]:
        """This rank's batches of the current epoch: all of them in one process, an equal share under DDP."""
        rank, world = self._rank_and_world()
        batches = self._all_batches()
        if world > 1:
            batches = _pad_to_multiple(batches, world)
        return batches[rank::world]

    def __iter__(self) -> Iterator[torch.Tensor]:
        yield from self.rank_batches()

    def __len__(self) -> int:
        return len(self.rank_batches())


def _pad_to_multiple(batches: list[torch.Tensor], world: int) -> list[torch.Tensor]:
    """Repeat batches from the start (cycling, for fewer batches than ranks) until their count divides by world."""
    missing = -len(batches) % world
    return batches + [batches[i % len(batches)] for i in range(missing)]


def batch_loader(
    source: ModalityBatchSource, batch_size: int, shuffle: bool, seed: int, shard: bool = True
) -> DataLoader:
    """A DataLoader over whole-batch index tensors (automatic batching off, no worker processes)."""
    dataset = TumorTensors(source)
    sampler = EpochPermutationBatches(len(dataset), batch_size, shuffle=shuffle, seed=seed, shard=shard)
    return DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=0)
