"""DDP for real: two CPU processes (gloo) train one model through Lightning's launcher, as on a multi-GPU node."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import torch

from oncoae.models.checkpoint import load_model
from oncoae.training.batches import _pad_to_multiple

from .conftest import REPO

WORKER = Path(__file__).with_name("ddp_worker.py")
# 101 training tumors in batches of 16 make 7 batches: an odd count that two ranks cannot share evenly.
N_TRAIN = 101


def _start_ddp(out_dir: Path) -> subprocess.Popen:
    """One DDP run in the background: rank 0, which launches rank 1 (in its process group)."""
    out_dir.mkdir()
    with (out_dir / "stderr.log").open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, str(WORKER), str(out_dir), str(N_TRAIN)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            start_new_session=True,
        )


def _ranks(process: subprocess.Popen, out_dir: Path) -> tuple[dict, dict]:
    # A rank with one batch more would wait forever in the gradient all-reduce: the timeout turns that into a fail.
    try:
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, (out_dir / "stderr.log").read_text()[-4000:]
    return tuple(torch.load(out_dir / f"rank{rank}.pt", weights_only=True) for rank in (0, 1))


def test_two_ddp_ranks_see_equal_batch_counts_end_equal_and_are_reproducible(tmp_path):
    # The second run (reproducibility) starts beside the first: their slow starts (imports, rank 1's launch, the
    # process group) overlap; what each computes cannot.
    first, second = _start_ddp(tmp_path / "first"), _start_ddp(tmp_path / "second")
    try:
        rank0, rank1 = _ranks(first, tmp_path / "first")
        again, _ = _ranks(second, tmp_path / "second")
    finally:
        for process in (first, second):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    # 7 batches padded to 8: 4 per rank in every epoch (unequal shards would give 4 and 3).
    assert rank0["batches"] == rank1["batches"] == [4] * 6
    assert rank0["best_epoch"] == rank1["best_epoch"]
    assert rank0["state_dict"].keys() == rank1["state_dict"].keys()
    for name, value in rank0["state_dict"].items():
        assert torch.equal(value, rank1["state_dict"][name]), name

    for name, value in rank0["state_dict"].items():
        assert torch.equal(value, again["state_dict"][name]), f"second DDP run differs in {name}"

    # The saved model.pt is an ordinary single-process model: loaded alone it encodes exactly as rank 0 did.
    from .ddp_worker import tiny_source

    network, _extra = load_model(tmp_path / "first" / "model.pt")
    train = tiny_source(N_TRAIN, 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            inputs = {name: torch.from_numpy(train.dense(name)) for name in train.modality_names}
            latent = network.encode(inputs, torch.from_numpy(train.presence))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(latent, torch.load(tmp_path / "first" / "latent.pt", weights_only=True))


def test_padding_repeats_leading_batches_up_to_a_multiple_of_the_ranks():
    batches = [torch.tensor([i]) for i in range(7)]
    padded = _pad_to_multiple(batches, 2)
    assert [int(b) for b in padded] == [0, 1, 2, 3, 4, 5, 6, 0]
    assert len(_pad_to_multiple(batches, 7)) == 7
    # Fewer batches than ranks: cycle, so every rank still gets one.
    assert [int(b) for b in _pad_to_multiple(batches[:2], 5)] == [0, 1, 0, 1, 0]
