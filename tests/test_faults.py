"""Fault injection: a training job killed with SIGKILL resumes from its checkpoint and ends exactly where an
uninterrupted run ends, early stopping included."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest
import torch

from .conftest import SNAKEMAKE_ENV, TINY_CONFIG, run_snakemake, snakemake_command, write_config

pytestmark = pytest.mark.workflow

MODEL = "results/tiny/models/ae_multimodal/seed0/model.pt"
WORK = "results/tiny/.work/train/ae_multimodal/seed0"
LOG = "results/tiny/logs/train_autoencoder/ae_multimodal/seed0.log"


def _config() -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    # Early stopping (patience 20) ends this run at about epoch 55, well before max_epochs; checkpoints every 2
    # epochs give the test points to kill at inside the last patience window.
    config["training"].update({"max_epochs": 150, "patience": 20, "checkpoint_every_n_epochs": 2})
    config["seeds"] = [0]
    return config


def _checkpoint_state(folder) -> tuple[int, int]:
    """(epoch, early stopping's count of epochs without improvement) of the last checkpoint; (-1, -1) if none."""
    path = folder / WORK / "checkpoints" / "last.ckpt"
    if not path.exists():
        return -1, -1
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # being written right now
        return -1, -1
    waits = [state["wait_count"] for key, state in checkpoint["callbacks"].items() if key.startswith("EarlyStopping")]
    return int(checkpoint["epoch"]), int(waits[0])


def test_killed_training_resumes_to_identical_results(tmp_path):
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    reference.mkdir()
    run_snakemake(reference, write_config(reference, _config()), MODEL)
    # The interrupted run starts from a copy of the reference's upstream steps (Snakemake's metadata included),
    # without anything of this training job: only training runs there, and it is the job under test.
    shutil.copytree(reference, interrupted, symlinks=True)
    for relative in (MODEL.rsplit("/", 1)[0], WORK, LOG, "results/tiny/benchmarks/train_autoencoder"):
        path = interrupted / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    history = "results/tiny/models/ae_multimodal/seed0/history.tsv"
    reference_history = pd.read_csv(reference / history, sep="\t")
    reference_epochs = len(reference_history)
    assert reference_epochs < 150, "the reference must end by early stopping, or its state is never exercised"
    best_epoch = int(reference_history.loc[reference_history["val_loss"].idxmin(), "epoch"])

    config_path = write_config(interrupted, _config())
    process = subprocess.Popen(
        snakemake_command(interrupted, config_path, MODEL),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=SNAKEMAKE_ENV,
        start_new_session=True,
    )
    # Kill inside the last patience window, after the best epoch: there the checkpoint holds early stopping
    # mid-count, and no later improvement resets it. A resumed run that lost the count or the best score would
    # train past the reference's last epoch.
    deadline = time.time() + 240

    def waiting() -> bool:
        epoch, _wait = _checkpoint_state(interrupted)
        return epoch <= max(best_epoch, 10)

    while waiting() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "training finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at, wait_at_kill = _checkpoint_state(interrupted)
    assert best_epoch < killed_at < reference_epochs - 1 and wait_at_kill >= 1, (killed_at, wait_at_kill)
    assert not (interrupted / MODEL).exists()

    # A killed snakemake leaves its lock behind; --unlock is the documented first step after a crash.
    run_snakemake(interrupted, config_path, "--unlock")
    run_snakemake(interrupted, config_path, MODEL)
    log = (interrupted / LOG).read_text()
    assert "resuming from" in log

    expected = torch.load(reference / MODEL, weights_only=True)["state_dict"]
    resumed = torch.load(interrupted / MODEL, weights_only=True)["state_dict"]
    assert expected.keys() == resumed.keys()
    for name in expected:
        assert torch.equal(expected[name], resumed[name]), name
    pd.testing.assert_frame_equal(
        pd.read_csv(reference / history, sep="\t"), pd.read_csv(interrupted / history, sep="\t"), check_exact=True
    )
