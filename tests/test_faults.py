"""Fault injection: a training job killed with SIGKILL resumes from its checkpoint and ends exactly where an
uninterrupted run ends."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import time

import pandas as pd
import pytest
import torch

from .conftest import REPO, SNAKEMAKE, TINY_CONFIG, run_snakemake, write_config

pytestmark = pytest.mark.workflow

MODEL = "results/tiny/models/ae_multimodal/seed0/model.pt"
WORK = "results/tiny/.work/train/ae_multimodal/seed0"


def _config() -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    # Long enough to be killed in the middle; checkpoints every 2 epochs.
    config["training"].update({"max_epochs": 150, "patience": 150, "checkpoint_every_n_epochs": 2})
    config["seeds"] = [0]
    return config


def _last_checkpoint_epoch(folder) -> int:
    path = folder / WORK / "checkpoints" / "last.ckpt"
    if not path.exists():
        return -1
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])
    except Exception:  # being written right now
        return -1


def test_killed_training_resumes_to_identical_results(tmp_path):
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    reference.mkdir()
    interrupted.mkdir()
    run_snakemake(reference, write_config(reference, _config()), MODEL)

    config_path = write_config(interrupted, _config())
    command = [
        SNAKEMAKE,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(interrupted),
        "--configfile",
        str(config_path),
        "--cores",
        "2",
        MODEL,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        start_new_session=True,
    )
    deadline = time.time() + 240
    while _last_checkpoint_epoch(interrupted) < 10 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "training finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = _last_checkpoint_epoch(interrupted)
    assert 10 <= killed_at < 149
    assert not (interrupted / MODEL).exists()

    # A killed snakemake leaves its lock behind; --unlock is the documented first step after a crash.
    run_snakemake(interrupted, config_path, "--unlock")
    run_snakemake(interrupted, config_path, MODEL)
    log = (interrupted / "results/tiny/logs/train_autoencoder/ae_multimodal/seed0.log").read_text()
    assert "resuming from" in log

    expected = torch.load(reference / MODEL, weights_only=True)["state_dict"]
    resumed = torch.load(interrupted / MODEL, weights_only=True)["state_dict"]
    assert expected.keys() == resumed.keys()
    for name in expected:
        assert torch.equal(expected[name], resumed[name]), name
    history = "results/tiny/models/ae_multimodal/seed0/history.tsv"
    pd.testing.assert_frame_equal(
        pd.read_csv(reference / history, sep="\t"), pd.read_csv(interrupted / history, sep="\t")
    )
