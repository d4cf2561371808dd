"""Two clean runs of the workflow give the same bytes: the seeds in the config are all the randomness there is."""

from __future__ import annotations

import copy

import anndata as ad
import numpy as np
import pytest

from .conftest import TINY_CONFIG, run_snakemake, write_config

pytestmark = pytest.mark.workflow

# Smaller than TINY_CONFIG: one seed, a few epochs, one autoencoder (the multi-modal one) and one baseline (PCA),
# stopped at the evaluation summary (no figures, no report).
CONFIG = copy.deepcopy(TINY_CONFIG)
CONFIG["dataset"] = "determinism"
CONFIG["simulation"]["n_tumors"] = 120
CONFIG["seeds"] = [0]
CONFIG["models"] = {
    "autoencoders": {"per_modality": False, "multimodal": True, "variants": {}},
    "baselines": ["pca"],
    "baselines_per_modality": False,
}
CONFIG["training"] = {**CONFIG["training"], "max_epochs": 6, "patience": 3}
CONFIG["evaluation"] = {**CONFIG["evaluation"], "permutations": 50, "max_permutations": 50, "bootstrap": 50}
OUT = f"results/{CONFIG['dataset']}"
TARGET = f"{OUT}/evaluation/summary.tsv"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    folders = []
    for name in ("first", "second"):
        folder = tmp_path_factory.mktemp(name)
        run_snakemake(folder, write_config(folder, CONFIG), TARGET, timeout=300)
        folders.append(folder)
    return folders


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
