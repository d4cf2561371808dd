"""What a run's fitted outputs depend on: the seeds in the config and the training tumors, nothing else.

Two clean runs give the same bytes (the seeds are all the randomness there is), and a run whose test tumors have
other values, labels and survival fits the same normalizers, weights, chosen epoch, baselines and k-means, through
the workflow's own scripts (the in-process tests/test_leakage.py cannot see a script that fits on the wrong rows).
Three runs, all on the simulated cohort as local files with a given split and run side by side: two clean ones,
the first of which is also the unperturbed side of the held-out comparison, and one with the test tumors
perturbed. (The simulator itself is seeded: tests/test_simulate.py; a simulated run's summary is byte-identical on
SLURM and locally: tests/test_slurm.py.)
"""

from __future__ import annotations

import copy
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from oncoae.data.simulate import SimulationSettings, simulate_cohort
from oncoae.data.split import make_split
from oncoae.models.checkpoint import load_model

from .conftest import TINY_CONFIG, BackgroundRun, selected, write_config

pytestmark = pytest.mark.workflow

# Smaller than TINY_CONFIG: one seed, a few epochs, one autoencoder (the multi-modal one) and one baseline (PCA),
# stopped at the evaluation summary (no figures, no report), without the Leiden sweep (its table is compared
# nowhere here; its neighbour graph costs each evaluation job about 6 s of numba compilation).
CONFIG = copy.deepcopy(TINY_CONFIG)
CONFIG["dataset"] = "determinism"
CONFIG["simulation"]["n_tumors"] = 120
CONFIG["seeds"] = [0]
CONFIG["models"] = {
    "autoencoders": {"per_modality": False, "multimodal": True, "guided": {"enabled": False}, "variants": {}},
    "baselines": ["pca"],
    "baselines_per_modality": False,
}
CONFIG["training"] = {**CONFIG["training"], "max_epochs": 6, "patience": 3}
CONFIG["evaluation"] = {
    **CONFIG["evaluation"],
    "permutations": 50,
    "max_permutations": 50,
    "bootstrap": 50,
    "leiden_resolutions": [],
}
OUT = f"results/{CONFIG['dataset']}"
TARGET = f"{OUT}/evaluation/summary.tsv"


def _write_local_dataset(folder: Path, perturb_test: bool) -> dict:
    """The tiny simulated cohort as local files with a given train/test split; with ``perturb_test``, the test
    tumors' expression is scaled and shifted, their methylation betas and mutation calls mirrored, their labels
    rotated (some to a class nobody else has) and their survival scrambled."""
    cohort = simulate_cohort(SimulationSettings.from_config(CONFIG["simulation"]))
    clinical = cohort.clinical.copy()
    split = make_split(clinical.index, {"train": 0.75, "test": 0.25}, seed=0, stratify=clinical["subtype"])
    clinical["given_split"] = split.set_index("sample")["split"].reindex(clinical.index)
    test = clinical.index[clinical["given_split"] == "test"]
    config = copy.deepcopy(CONFIG)
    config.pop("simulation")
    config.update(source="local", split={"column": "given_split", "stratify": "subtype", "seed": 0})
    for name, adata in cohort.modalities.items():
        values = adata.X.toarray() if sp.issparse(adata.X) else np.array(adata.X)
        if perturb_test:
            rows = adata.obs_names.isin(test)
            values[rows] = values[rows] * 7.0 + 2.0 if name == "expression" else 1.0 - values[rows]
        matrix = sp.csr_matrix(values) if sp.issparse(adata.X) else values
        path = folder / f"{name}.h5ad"
        ad.AnnData(matrix, obs=adata.obs, var=adata.var).write_h5ad(path)
        config["modalities"][name]["path"] = str(path)
        config["modalities"][name]["kind"] = "binary" if name == "mutation" else "continuous"
    if perturb_test:
        rows = clinical.index.isin(test)
        labels = np.roll(clinical.loc[rows, "subtype"].to_numpy(), 1)
        labels[::4] = "S_test_only"
        clinical.loc[rows, "subtype"] = labels
        order = np.random.default_rng(1).permutation(rows.sum())
        clinical.loc[rows, "os_days"] = clinical.loc[rows, "os_days"].to_numpy()[order] * 3 + 17
        clinical.loc[rows, "os_event"] = 1 - clinical.loc[rows, "os_event"].to_numpy()
    clinical.to_csv(folder / "clinical.tsv", sep="\t", index_label="sample")
    config["clinical"] = {**config["clinical"], "path": str(folder / "clinical.tsv")}
    return config


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory) -> dict[str, Path]:
    """The module's runs, started side by side and awaited together: the first clean run (always), the second
    (for the two-run tests) and the one with perturbed test tumors (for the held-out test)."""
    wanted = {"first": False}
    if selected(request, "two_runs"):
        wanted["second"] = False
    if selected(request, "held_out_runs"):
        wanted["test_perturbed"] = True
    started = {}
    try:
        for name, perturb_test in wanted.items():
            folder = tmp_path_factory.mktemp(name)
            config = _write_local_dataset(folder, perturb_test)
            started[name] = (folder, BackgroundRun(folder, write_config(folder, config), TARGET, timeout=600))
        for _folder, run in started.values():
            run.result()
    finally:
        for _folder, run in started.values():
            run.stop()
    return {name: folder for name, (folder, _run) in started.items()}


@pytest.fixture(scope="module")
def two_runs(runs):
    """Two clean runs in separate folders on the cohort as local files (see ``_write_local_dataset``); the first
    is also the unperturbed run of ``held_out_runs``."""
    return [runs["first"], runs["second"]]


@pytest.fixture(scope="module")
def held_out_runs(runs):
    """The workflow on the local files, as simulated (the first clean run) and with the test tumors perturbed."""
    return [runs["first"] / OUT, runs["test_perturbed"] / OUT]


def test_two_clean_runs_give_byte_identical_summary_and_clusters(two_runs):
    """The evaluation summary and every cluster table (assignments, k selection, centroids) are byte for byte
    the same in two runs in separate folders."""
    first, second = (folder / OUT for folder in two_runs)
    tables = ["evaluation/summary.tsv", *sorted(str(p.relative_to(first)) for p in first.glob("clusters/*.tsv"))]
    assert {"clusters/autoencoders.tsv", "clusters/baselines.centroids.tsv"} <= set(tables)
    differing = [name for name in tables if (first / name).read_bytes() != (second / name).read_bytes()]
    assert not differing, f"two clean runs wrote different bytes to {differing}"
    assert len((first / "evaluation/summary.tsv").read_text().splitlines()) > 10


def test_two_clean_runs_give_bitwise_identical_latents(two_runs):
    """obsm["X_latent"] of every latent file (the autoencoder's seed and the PCA baseline) is bitwise identical."""
    first, second = (folder / OUT for folder in two_runs)
    latents = sorted(str(p.relative_to(first)) for p in first.glob("latent/*/*.h5ad"))
    assert latents == ["latent/ae_multimodal/seed0.h5ad", "latent/pca_concat/baseline.h5ad"]
    for name in latents:
        a, b = (ad.read_h5ad(run / name).obsm["X_latent"] for run in (first, second))
        assert np.isfinite(a).all() and a.std() > 0, f"{name}: a degenerate latent proves nothing"
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{name}: the latents of two clean runs differ"


def test_a_run_with_other_test_tumors_fits_the_same_things(held_out_runs):
    """Through the workflow's scripts: normalizers (state), the autoencoder (weights, buffers, chosen epoch, val
    curve), k-means (centroids, silhouette by k) and the latents of training and validation tumors are bitwise
    those of the run whose test tumors were left alone; the test tumors' latents do differ (the change arrived)."""
    original, changed = held_out_runs
    split = pd.read_csv(original / "split.tsv", sep="\t").set_index("sample")["split"]
    assert split.equals(pd.read_csv(changed / "split.tsv", sep="\t").set_index("sample")["split"])
    for name in ("expression", "methylation", "mutation"):
        path = f"normalized/{name}.normalizer.npz"
        with np.load(original / path) as a, np.load(changed / path) as b:
            moved = [key for key in a.files if not np.array_equal(a[key], b[key])]
        assert not moved, f"perturbed test tumors changed the {name} normalizer's {moved}"
    (network_a, extra_a), (network_b, extra_b) = (
        load_model(out / "models/ae_multimodal/seed0/model.pt") for out in held_out_runs
    )
    state_a, state_b = network_a.state_dict(), network_b.state_dict()
    moved = [key for key in state_a if not torch.equal(state_a[key], state_b[key])]
    assert not moved, f"perturbed test tumors changed the autoencoder's {moved}"
    assert extra_a["best_epoch"] == extra_b["best_epoch"]
    same_bytes = [
        "models/ae_multimodal/seed0/history.tsv",
        "clusters/autoencoders.centroids.tsv",
        "clusters/autoencoders.k_selection.tsv",
        "clusters/baselines.centroids.tsv",
        "clusters/baselines.k_selection.tsv",
    ]
    differing = [name for name in same_bytes if (original / name).read_bytes() != (changed / name).read_bytes()]
    assert not differing, f"perturbed test tumors changed {differing}"
    for name in ("latent/ae_multimodal/seed0.h5ad", "latent/pca_concat/baseline.h5ad"):
        a, b = (ad.read_h5ad(out / name) for out in held_out_runs)
        assert list(a.obs_names) == list(b.obs_names)
        is_test = split.reindex(a.obs_names).to_numpy() == "test"
        assert np.array_equal(a.obsm["X_latent"][~is_test], b.obsm["X_latent"][~is_test]), (
            f"{name}: perturbed test tumors moved the latents of training and validation tumors"
        )
        assert not np.array_equal(a.obsm["X_latent"][is_test], b.obsm["X_latent"][is_test])
