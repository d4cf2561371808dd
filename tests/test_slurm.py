"""The workflow on a real one-node SLURM cluster through the executor plugin and the project's profile.

The test fails (it never skips) where no cluster can be started: .ci/run installs slurm-wlm and munge.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from . import slurm_cluster
from .conftest import REPO, TINY_CONFIG, run_snakemake, write_config

pytestmark = pytest.mark.workflow

SMALL = copy.deepcopy(TINY_CONFIG)
SMALL.update(
    {
        "dataset": "hpc",
        "seeds": [0],
        "models": {
            "autoencoders": {"per_modality": False, "multimodal": True},
            "baselines": ["pca"],
            "baselines_per_modality": False,
        },
    }
)
# Up to the evaluation summary: figures and the report are drawn the same way on SLURM and add only jobs.
SUMMARY = "results/hpc/evaluation/summary.tsv"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = slurm_cluster.available()
    assert reason is None, f"cannot start a SLURM cluster here: {reason}"
    instance = slurm_cluster.OneNodeCluster(tmp_path_factory.mktemp("slurm"))
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


def test_workflow_runs_through_slurm_and_matches_a_local_run(cluster, tmp_path):
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    on_slurm.mkdir()
    local.mkdir()
    result = run_snakemake(
        on_slurm,
        write_config(on_slurm, SMALL),
        "--profile",
        str(REPO / "profiles" / "slurm"),
        "--slurm-no-account",
        "--slurm-status-command",
        "squeue",
        "--slurm-keep-successful-logs",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--latency-wait",
        "5",
        "--jobs",
        "4",
        SUMMARY,
        timeout=1200,
    )
    output = result.stdout + result.stderr
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", output)
    training = [(job_id, log) for job_id, log in submitted if "/rule_train_autoencoder/" in log]
    assert training, output[-3000:]
    for job_id, log in training:
        # slurmd itself wrote the job's output, and slurmctld knows the job as completed.
        assert Path(log.rstrip(").")).exists(), log
        state = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
        assert "JobState=COMPLETED" in state, state
    assert len(submitted) >= 7  # every job of the DAG went through sbatch, not only training

    run_snakemake(local, write_config(local, SMALL), SUMMARY)
    slurm_summary = pd.read_csv(on_slurm / "results" / "hpc" / "evaluation" / "summary.tsv", sep="\t")
    local_summary = pd.read_csv(local / "results" / "hpc" / "evaluation" / "summary.tsv", sep="\t")
    pd.testing.assert_frame_equal(slurm_summary, local_summary)
