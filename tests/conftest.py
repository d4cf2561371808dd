"""Shared fixtures: tiny simulated cohorts and real snakemake runs in temporary folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

# A small cohort and short training: the whole workflow runs in about a minute on 2 cores.
TINY_CONFIG = {
    "dataset": "tiny",
    "source": "simulate",
    "simulation": {
        "n_tumors": 200,
        "n_subtypes": 3,
        "seed": 3,
        "missing_fraction": 0.2,
        "modalities": {
            # Methylation carries the strongest subtype signal: the leave-one-modality-out test expects it to be
            # the largest contributor.
            "expression": {"n_features": 120, "signal_fraction": 0.3, "effect": 1.5, "nuisance_strength": 0.06},
            "methylation": {"n_features": 80, "signal_fraction": 0.3, "effect": 3.0, "nuisance_strength": 0.06},
            "mutation": {"n_features": 60, "signal_fraction": 0.05, "effect": 2.0, "nuisance_strength": 0.0},
        },
    },
    "modalities": {
        "expression": {"kind": "continuous", "normalization": {"transform": "log1p", "top_variance": 100}},
        "methylation": {"kind": "continuous", "normalization": {"transform": "mvalue"}},
        "mutation": {"kind": "binary", "normalization": {"scale": "none", "min_frequency": 0.02}},
    },
    "clinical": {"labels": ["subtype"], "survival": {"time": "os_days", "event": "os_event"}},
    "split": {"stratify": "subtype", "seed": 0},
    "seeds": [0, 1],
    "models": {
        "baselines": ["pca", "kpca"],
        "baselines_per_modality": False,
        # One variant exercises the VAE, product-of-experts fusion and the Cox head through the whole workflow.
        "autoencoders": {
            "variants": {
                "vae_cox": {
                    "architecture": {"variant": "vae", "fusion": "poe"},
                    "heads": {"cox": {"weight": 0.2}},
                    "training": {"early_stopping_monitor": "val_reconstruction_loss"},
                }
            }
        },
    },
    "architecture": {"hidden_sizes": [32], "latent_dim": 4},
    "training": {
        "max_epochs": 80,
        "patience": 10,
        "batch_size": 32,
        "learning_rate": 0.003,
        "checkpoint_every_n_epochs": 5,
    },
    "clustering": {"k": 3},
    "evaluation": {
        "permutations": 200,
        "max_permutations": 2000,
        "bootstrap": 200,
        "enrichment_columns": ["subtype", "age"],
        "leiden_resolutions": [0.5, 1.0],
        "characterize_top": 5,
    },
}


# What TINY_CONFIG builds, in the plan's order: every autoencoder (ae_guided from its label and survival), then the
# baselines.
TINY_AUTOENCODERS = ["ae_expression", "ae_methylation", "ae_mutation", "ae_multimodal", "ae_guided", "ae_vae_cox"]
TINY_BASELINES = ["pca_concat", "kpca_concat"]


def write_config(folder: Path, config: dict) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# Every snakemake a test starts imports the package from this checkout.
SNAKEMAKE_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def snakemake_command(folder: Path, config_path: Path, *extra: str, cores: int | None = 2) -> list[str]:
    """The real snakemake CLI on the project's Snakefile, working in ``folder`` (``cores=None``: none given, as
    for a cluster executor that takes ``--jobs``)."""
    command = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(folder)]
    command += ["--configfile", str(config_path)]
    if cores is not None:
        command += ["--cores", str(cores)]
    return [*command, *extra]


def run_snakemake(
    folder: Path, config_path: Path, *extra: str, check: bool = True, timeout: int = 900
) -> subprocess.CompletedProcess:
    """``snakemake_command`` run to completion; fails the test with its output unless it succeeds (or not
    ``check``)."""
    command = snakemake_command(folder, config_path, *extra)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=SNAKEMAKE_ENV)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result


def oncoae_in_process(*args: str) -> subprocess.CompletedProcess:
    """``python -m oncoae *args`` as this process runs it: the CLI's own ``main``, its stdout, stderr and log lines
    (which the CLI sends to stderr) captured, its exit status returned, argparse's exits included. Saves each call
    a new interpreter's imports (about 5 s of a 5 s encode); tests/test_cli.py runs the real ``python -m oncoae``."""
    import contextlib
    import io
    import logging

    from oncoae.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = main(list(args))
            except SystemExit as exit_:
                status = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return subprocess.CompletedProcess(["python", "-m", "oncoae", *args], status, stdout.getvalue(), stderr.getvalue())


class BackgroundRun:
    """``snakemake_command`` started at once, in the background (its stdout and stderr go to files beside
    ``folder``): runs of tiny configs are mostly serial steps that leave one of the two cores idle, so a module
    starts its independent runs side by side and waits for each where it needs it (``result``)."""

    def __init__(self, folder: Path, config_path: Path, *extra: str, timeout: int = 900) -> None:
        self.command = snakemake_command(folder, config_path, *extra)
        self.outputs = [folder.with_name(f"{folder.name}.snakemake.{stream}") for stream in ("stdout", "stderr")]
        self.deadline = time.monotonic() + timeout
        with self.outputs[0].open("w") as stdout, self.outputs[1].open("w") as stderr:
            self.process = subprocess.Popen(
                self.command, stdout=stdout, stderr=stderr, env=SNAKEMAKE_ENV, start_new_session=True
            )

    def result(self, check: bool = True) -> subprocess.CompletedProcess:
        """Waits for the run (killed once its timeout is over), as ``run_snakemake`` would have run it: fails the
        test with its output unless it succeeds (or not ``check``)."""
        try:
            self.process.wait(timeout=max(1.0, self.deadline - time.monotonic()))
        finally:
            self.stop()
        stdout, stderr = (path.read_text() for path in self.outputs)
        if check and self.process.returncode != 0:
            raise AssertionError(f"snakemake failed ({self.process.returncode}):\n{stdout[-4000:]}\n{stderr[-8000:]}")
        return subprocess.CompletedProcess(self.command, self.process.returncode, stdout, stderr)

    def stop(self) -> None:
        """Kills the run and its jobs if still running (a test failed or timed out before waiting for it)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# `make test` runs the suite on two pytest-xdist workers (-n 2): a tiny workflow run is mostly serial steps and the
# unit tests use one thread, so one worker alone leaves a core idle. A work unit is a module, so that its
# module-scoped runs (and the one SLURM cluster) start once; the modules that read the session's tiny run share one
# unit, so that it runs once. Units go out longest first (by --durations of a two-worker run on an idle machine), so
# that the two workers finish together: collection puts them in that order and the scheduler keeps it
# (--no-loadscope-reorder in pyproject.toml).
SHARED_RUN = "tiny_run"  # the fixture, and the name of the work unit of the modules that use it
SHARED_RUN_MODULES = (
    "test_attribution",
    "test_encode_cli",
    "test_export",
    "test_layout",
    "test_report_browser",
    "test_workflow",
)
LONGEST_UNITS_FIRST = (
    SHARED_RUN,
    "test_slurm",
    "test_tuning",
    "test_examples",
    "test_faults",
    "test_sources",
    "test_determinism",
    "test_gpu_check",
    "test_column_checks",
    "test_encode_maf",
    "test_pancan",
    "test_bad_inputs",
)


def work_unit(module_path: str | Path) -> str:
    """The work unit of a module's tests: the shared run's, or the module's own."""
    stem = Path(module_path).stem
    return SHARED_RUN if stem in SHARED_RUN_MODULES else stem


@pytest.hookimpl(tryfirst=True)  # before xdist's own choice of scheduler
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from xdist.scheduler import LoadFileScheduling

    class ModuleUnits(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid.split("::", 1)[0])

    return ModuleUnits(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SHARED_RUN in item.fixturenames and item.path.stem not in SHARED_RUN_MODULES:
            raise pytest.UsageError(
                f"{item.path.name} uses the {SHARED_RUN} fixture: add {item.path.stem!r} to "
                "SHARED_RUN_MODULES in tests/conftest.py, so that the run is shared with the other modules"
            )
    rank = {unit: index for index, unit in enumerate(LONGEST_UNITS_FIRST)}
    position = {path: index for index, path in enumerate(dict.fromkeys(item.path for item in items))}
    # A stable sort: a module's tests keep their order and stay together.
    items.sort(key=lambda item: (rank.get(work_unit(item.path), len(rank)), position[item.path]))


def selected(request, name: str) -> bool:
    """Whether a test this session runs is named ``name`` or uses the fixture ``name``: a module starts a run in
    the background only for tests that will wait for it."""
    return any(item.originalname == name or name in item.fixturenames for item in request.session.items)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Torch in the test process uses one thread, as a workflow job does (training.threads): the tests' networks
    of a few dozen units gain nothing from more, and on a busy machine spinning threads only burn CPU (tests/
    test_training.py took 103 s with the default two threads at a load of 5, 13 s with one). Session-wide, set
    before any fixture fits a model: results compared bit for bit come from one thread count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The whole workflow on the tiny config, run once per test session; returns its working folder."""
    folder = tmp_path_factory.mktemp("tiny_run")
    config_path = write_config(folder, TINY_CONFIG)
    run_snakemake(folder, config_path)
    return folder
