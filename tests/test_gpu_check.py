"""benchmarks/gpu_check.sh in its dry-run mode: every step of the GPU check runs, on the CPU, at tiny sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import REPO

pytestmark = pytest.mark.workflow


def test_gpu_check_dry_run_writes_its_results(tmp_path):
    work, results = tmp_path / "work", tmp_path / "results"
    completed = subprocess.run(
        [
            "bash",
            str(REPO / "benchmarks" / "gpu_check.sh"),
            "--dry-run",
            "--work",
            str(work),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(REPO)},
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    result = json.loads((results / "gpu.json").read_text())
    assert result["quick"] is True  # marked as a smoke run, never to be read as a measurement
    quality = result["quality"]
    assert quality["accelerator"] == "cpu" and len(quality["ari"]["cpu"]) == 2  # two seeds of the workflow
    assert all(-1.0 <= ari <= 1.0 for ari in quality["ari"]["cpu"]) and quality["agrees"]
    cases = {(row["device"], row["batch_size"], row["precision"]) for row in result["throughput"]}
    assert cases == {("cpu", b, p) for b in (128, 1024) for p in ("32-true", "bf16-mixed")}
    assert all(row["samples_per_s"] > 0 for row in result["throughput"])
    assert result["ddp"]["ran"] is False and "DDP needs 2" in result["ddp"]["reason"]
    assert "Training-step throughput" in (results / "gpu.md").read_text()
