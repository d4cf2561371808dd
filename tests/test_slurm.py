"""The workflow on a real one-node SLURM cluster through the executor plugin and the project's profile.

The test fails (it never skips) where no cluster can be started: .ci/run installs slurm-wlm and munge.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml

from . import slurm_cluster
from .conftest import REPO, SNAKEMAKE_ENV, TINY_CONFIG, run_snakemake, snakemake_command, write_config

pytestmark = pytest.mark.workflow

SMALL = copy.deepcopy(TINY_CONFIG)
SMALL.update(
    {
        "dataset": "hpc",
        "seeds": [0],
        "models": {
            "autoencoders": {"per_modality": False, "multimodal": True, "guided": {"enabled": False}},
            "baselines": ["pca"],
            "baselines_per_modality": False,
        },
        # Nothing here reads the permutation p, the C-index interval or the Leiden table (the summary is compared
        # byte for byte, whatever it holds): few resamples and no Leiden sweep, whose neighbour graph costs each
        # evaluation job seconds of numba compilation. Shorter jobs also wait less for the plugin's status checks,
        # whose interval grows by 10 s after each check that finds no job finished.
        "evaluation": {
            **TINY_CONFIG["evaluation"],
            "permutations": 50,
            "max_permutations": 50,
            "bootstrap": 50,
            "leiden_resolutions": [],
        },
    }
)
# Up to the evaluation summary: figures and the report are drawn the same way on SLURM and add only jobs.
SUMMARY = "results/hpc/evaluation/summary.tsv"
MODEL = "results/hpc/models/ae_multimodal/seed0/model.pt"
BASELINE = "results/hpc/latent/pca_concat/baseline.h5ad"
CHECKPOINT = "results/hpc/.work/train/ae_multimodal/seed0/checkpoints/last.ckpt"
# The plugin's options for this cluster (no accounting database: squeue answers status queries).
PROFILE = REPO / "profiles" / "slurm"
SLURM_OPTIONS = [
    "--slurm-no-account",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--latency-wait",
    "5",
]


def _copy_run(source: Path, target: Path, *remove: str) -> Path:
    """A copy of a finished run (Snakemake's metadata included) without ``remove``, so only those are redone."""
    shutil.copytree(source, target, symlinks=True)
    for relative in remove:
        path = target / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return target


def _snakemake_on_slurm(folder: Path, config: dict, *extra: str, profile: Path = PROFILE) -> subprocess.Popen:
    config_path = write_config(folder, config)
    command = snakemake_command(
        folder, config_path, "--jobs", "2", "--profile", str(profile), *SLURM_OPTIONS, *extra, cores=None
    )
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=SNAKEMAKE_ENV, start_new_session=True
    )


def _job_of_rule(rule: str) -> str | None:
    """The SLURM id of the queued or running job of ``rule`` (the plugin puts the rule in the job comment)."""
    queue = subprocess.run(["squeue", "-h", "-o", "%i %k"], capture_output=True, text=True).stdout.split("\n")
    ids = [line.split()[0] for line in queue if f" rule_{rule}" in line]
    return ids[0] if ids else None


def _job_state(job_id: str) -> dict[str, str]:
    shown = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
    return dict(re.findall(r"(\w+)=(\S*)", shown))


def _wait(condition, timeout: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"snakemake ended (rc {process.returncode}) while waiting for {what}:\n{process.stdout.read()[-4000:]}"
            )
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _stop(process: subprocess.Popen, signum: int = signal.SIGTERM) -> None:
    """End snakemake (it cancels its SLURM jobs on SIGTERM) and whatever it left in the queue."""
    os.killpg(process.pid, signum)
    try:
        process.communicate(timeout=60)  # read its output, or a full pipe would keep it from exiting
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
    subprocess.run(["scancel", "--user", "root"], capture_output=True, timeout=30)


def _checkpoint_epoch(folder: Path) -> int:
    try:
        return int(torch.load(folder / CHECKPOINT, map_location="cpu", weights_only=True)["epoch"])
    except Exception:  # not written yet, or being written
        return -1


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


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    """SMALL run locally up to the summary: the reference of SLURM runs, and the upstream they start from."""
    folder = tmp_path_factory.mktemp("local")
    run_snakemake(folder, write_config(folder, SMALL), SUMMARY)
    return folder


def test_workflow_runs_through_slurm_and_matches_a_local_run(cluster, request, tmp_path):
    on_slurm = tmp_path / "slurm"
    on_slurm.mkdir()
    command = snakemake_command(
        on_slurm,
        write_config(on_slurm, SMALL),
        "--profile",
        str(PROFILE),
        *SLURM_OPTIONS,
        "--slurm-keep-successful-logs",
        "--jobs",
        "4",
        SUMMARY,
    )
    console = tmp_path / "slurm_run.log"
    with console.open("w") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, text=True, env=SNAKEMAKE_ENV, start_new_session=True
        )
    # The SLURM run spends most of its time waiting for the plugin's next status check, and the local reference
    # run (the module's fixture, reused by the other tests) needs none of it: it runs meanwhile.
    try:
        local_run = request.getfixturevalue("local_run")
        process.wait(timeout=1200)
    finally:
        if process.poll() is None:
            _stop(process)
    output = console.read_text()
    assert process.returncode == 0, f"snakemake on SLURM failed ({process.returncode}):\n{output[-8000:]}"
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", output)
    training = [(job_id, log) for job_id, log in submitted if "/rule_train_autoencoder/" in log]
    assert training, output[-3000:]
    for job_id, log in training:
        # slurmd itself wrote the job's output, and slurmctld knows the job as completed.
        assert Path(log.rstrip(").")).exists(), log
        state = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
        assert "JobState=COMPLETED" in state, state
    assert len(submitted) >= 7  # every job of the DAG went through sbatch, not only training

    # The same bytes, not merely close numbers: jobs on SLURM run the same code on the same inputs.
    assert (on_slurm / SUMMARY).read_bytes() == (local_run / SUMMARY).read_bytes()


def test_only_training_jobs_ask_slurm_for_a_gpu(cluster, local_run, tmp_path):
    """With training.accelerator gpu, the sbatch call of training (and only of training) asks for one GPU with the
    profile's cpus_per_gpu. The node is drained, so the jobs are accepted and checked but never run."""
    config = copy.deepcopy(SMALL)
    config["training"]["accelerator"] = "gpu"
    folder = _copy_run(local_run, tmp_path / "gpu", BASELINE)
    cluster.set_node_state("DRAIN")
    try:
        process = _snakemake_on_slurm(folder, config, "--verbose", MODEL, BASELINE)
        calls: dict[str, str] = {}

        def both_submitted() -> bool:
            line = process.stdout.readline()
            if line.startswith("sbatch call:"):
                rule = re.search(r"--comment '?rule_(\w+?)(?:_wildcards|'|\s)", line).group(1)
                calls[rule] = line
            return {"train_autoencoder", "fit_baseline"} <= calls.keys()

        _wait(both_submitted, 120, "the sbatch calls of training and the baseline", process)
    finally:
        # Its jobs never ran and are cancelled below: no need to wait for snakemake's own shutdown.
        _stop(process, signal.SIGKILL)
        cluster.set_node_state("RESUME")
    assert "--gpus=1" in calls["train_autoencoder"] and "--cpus-per-gpu=4" in calls["train_autoencoder"]
    assert "--gpu" not in calls["fit_baseline"] and "cpus-per-gpu" not in calls["fit_baseline"]
    assert "--cpus-per-task" in calls["fit_baseline"]


def test_usr1_requeues_training_which_resumes_to_the_weights_of_an_uninterrupted_run(cluster, local_run, tmp_path):
    """SLURM's warning signal (what --signal=USR1@N sends before the time limit; here sent at once with scancel):
    training finishes its epoch, checkpoints and requeues its own job; the requeued job resumes from the checkpoint
    and ends with exactly the weights of the local run."""
    folder = _copy_run(local_run, tmp_path / "requeue", MODEL, "results/hpc/.work/train")
    # The profile with its optional requeue line switched on, as the README tells users to.
    profile = tmp_path / "profile"
    profile.mkdir()
    settings = yaml.safe_load((PROFILE / "config.yaml").read_text())
    settings["set-resources"]["train_autoencoder"]["slurm_extra"] = "'--signal=USR1@60 --requeue'"
    (profile / "config.yaml").write_text(yaml.safe_dump(settings))
    process = _snakemake_on_slurm(folder, SMALL, MODEL, profile=profile)
    try:
        job_id = _wait(lambda: _job_of_rule("train_autoencoder"), 60, "the training job", process)
        _wait(lambda: _checkpoint_epoch(folder) >= 4, 120, "the first checkpoint of training", process)
        subprocess.run(["scancel", "--signal=USR1", job_id], check=True, timeout=30)

        # A requeued job waits about two minutes before it may start again; start it now.
        def requeued() -> bool:
            state = _job_state(job_id)
            return state.get("Restarts") == "1" and state.get("JobState") == "PENDING"

        _wait(requeued, 60, "the job to be requeued", process)
        subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True, timeout=30)
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            _stop(process)
    assert process.returncode == 0, output[-4000:]
    assert _job_state(job_id)["JobState"] == "COMPLETED"
    log = (folder / "results/hpc/logs/train_autoencoder/ae_multimodal/seed0.log").read_text()
    assert "resuming from" in log
    expected = torch.load(local_run / MODEL, weights_only=True)["state_dict"]
    resumed = torch.load(folder / MODEL, weights_only=True)["state_dict"]
    assert expected.keys() == resumed.keys()
    for name in expected:
        assert torch.equal(expected[name], resumed[name]), name
