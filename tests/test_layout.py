"""The run layout (oncoae/layout.py) against a real run: every path it names exists, no file of the run escapes
it, and ``python -m oncoae encode`` finds a run's files through it alone."""

from __future__ import annotations

import copy
import inspect
import shutil
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
from snakemake.utils import validate

from oncoae import cli
from oncoae.layout import GROUPS, RunLayout
from oncoae.settings import schema
from oncoae.workflow import RunPlan, plan_run

from .conftest import REPO, TINY_CONFIG

pytestmark = pytest.mark.workflow

# Members of RunLayout that name no path of a run.
NOT_PATHS = {"root", "dataset", "of_dataset", "finished_seeds", "figures_of_kind", "figure_kind"}
# Named per job rather than per file of the plan; checked against the run's own files below.
PER_JOB = {"log", "benchmark"}


def _tiny_plan() -> RunPlan:
    return plan_run(copy.deepcopy(TINY_CONFIG), schema(), lambda c: validate(c, str(REPO / "config" / "schema.yaml")))


def _layout_members() -> set[str]:
    return {name for name, _ in inspect.getmembers(RunLayout) if not name.startswith("_")} - NOT_PATHS


def test_every_path_the_layout_names_exists_after_a_real_run(tiny_run, monkeypatch):
    monkeypatch.chdir(tiny_run)  # the plan's paths are relative to the workflow's working folder
    plan = _tiny_plan()
    files = plan.run_files()
    assert set(files) | PER_JOB == _layout_members()  # the plan names a path of every kind the layout has
    expected = {path for paths in files.values() for path in paths}
    missing = sorted(path for path in expected if not Path(path).exists())
    assert not missing
    # The tiny config has no tuning, tumor types or ingested files: those kinds are empty here, and checked by
    # the runs that build them (tests/test_tuning.py).
    assert {kind for kind, paths in files.items() if not paths} == {
        "survival_excluded",
        "ingest_summary",
        "tumor_type_table",
        "tuning",
        "tuning_worker",
        "study",
    }

    run = plan.layout
    # No file of the run escapes the layout: every one is a path the plan names, or inside a folder it names
    # (figures, the resumable work), or a step's log or benchmark file named by its rule and job.
    folders = [Path(p) for p in files["figure_dir"] + files["work"] + files["attribution_dir"]]
    for path in Path(run.root).rglob("*"):
        if path.is_dir() or str(path) in expected or any(folder in path.parents for folder in folders):
            continue
        parts = path.relative_to(run.root).with_suffix("").parts
        if parts[0] == "logs":
            assert run.log(*parts[1:]) == str(path)
        elif parts[0] == "benchmarks":
            assert run.benchmark(*parts[1:]) == str(path)
        else:
            raise AssertionError(f"{path} is not named by oncoae.layout.RunLayout")
    # Every figure has a name the layout gives, and a lookup by kind finds the plan's figures.
    for folder in ["comparison", *GROUPS]:
        for figure in Path(run.figure_dir(folder)).glob("*.png"):
            assert run.figure_kind(folder, figure) is not None, figure
    umaps = [path for group in GROUPS for path in run.figures_of_kind(group, "umap")]
    assert sorted(umaps) == sorted(plan.figures()["umap"])
    assert run.figures_of_kind("autoencoders", "kcurve") == [run.figure("autoencoders", "kcurve")]
    assert run.finished_seeds("ae_multimodal") == plan.seeds and run.finished_seeds("pca_concat") == []


class MovedRun(RunLayout):
    """Another layout of the same files: encode must find them through it, having no path of its own."""

    def model_dir(self, model: str) -> str:
        return self._path("nets", model)

    def checkpoint(self, model: str, seed) -> str:
        return self._path("nets", model, f"weights_{seed}.pt")

    def normalizer(self, modality: str) -> str:
        return self._path("fitted", f"{modality}.npz")

    def centroids(self, group: str) -> str:
        return self._path("kmeans", f"{group}.tsv")

    @property
    def split(self) -> str:
        return self._path("assignment.tsv")


def test_encode_reads_the_run_through_the_layout(tiny_run, tmp_path, monkeypatch):
    standard = RunLayout(tiny_run / "results" / "tiny")
    moved = MovedRun(tmp_path / "moved")
    model, seed = "ae_multimodal", 1
    copies = [(standard.checkpoint(model, s), moved.checkpoint(model, s)) for s in (0, 1)]
    copies += [(standard.normalizer(m), moved.normalizer(m)) for m in ("expression", "methylation", "mutation")]
    copies += [(standard.centroids("autoencoders"), moved.centroids("autoencoders")), (standard.split, moved.split)]
    for source, destination in copies:
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, destination)
    inputs = [f"{m}={standard.raw(m)}" for m in ("expression", "methylation", "mutation")]
    args = ["encode", "--run", moved.root, "--model", model, "--input", *inputs, "--assign-clusters"]

    # Through the standard layout the moved run holds no model.
    assert cli.main([*args, "--out", str(tmp_path / "none.h5ad")]) == 2

    monkeypatch.setattr(cli, "RunLayout", MovedRun)
    assert cli.main([*args, "--seed", str(seed), "--out", str(tmp_path / "moved.h5ad")]) == 0
    assert cli.main([*args, "--out", str(tmp_path / "first.h5ad")]) == 0
    encoded = ad.read_h5ad(tmp_path / "moved.h5ad")
    workflow = ad.read_h5ad(standard.latent(model, seed))
    np.testing.assert_allclose(
        encoded[workflow.obs_names].obsm["X_latent"], workflow.obsm["X_latent"], rtol=0, atol=1e-6
    )
    assert "cluster" in encoded.obs
    assert ad.read_h5ad(tmp_path / "first.h5ad").uns["seed"] == 0  # the lowest finished seed, found by the layout
