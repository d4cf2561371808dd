"""The shared real TCGA data sets through the whole workflow, with their example configs (trimmed for time)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml

from .conftest import REPO, BackgroundRun, run_snakemake, selected, write_config

pytestmark = pytest.mark.workflow
SHARED = REPO.parent / "shared" / "data"


def _trimmed_example(name: str) -> dict:
    config = yaml.safe_load((REPO / "config" / "examples" / name).read_text())
    # Example paths are relative to the project root; the test runs elsewhere.
    config["clinical"]["path"] = str((REPO / config["clinical"]["path"]).resolve())
    for spec in config["modalities"].values():
        spec["path"] = str((REPO / spec["path"]).resolve())
    config["seeds"] = [0]
    config.setdefault("models", {})
    config["models"].update(
        {
            # The headline model alone (ae_guided: the multi-modal network with the PAM50 and Cox heads).
            "autoencoders": {"per_modality": False, "multimodal": False},
            "baselines": ["pca"],
            "baselines_per_modality": False,
        }
    )
    config.setdefault("training", {}).update({"max_epochs": 40})
    # Neither test reads the permutation p or the C-index interval: few resamples.
    config["evaluation"] = {"permutations": 20, "max_permutations": 20, "bootstrap": 20}
    return config


@pytest.fixture(scope="module", autouse=True)
def cna_rppa_run(request, tmp_path_factory):
    """The cna-rppa run, started as the module starts (when its test is selected): it runs beside the mixomics
    run, each mostly serial steps that leave one of the two cores idle."""
    if not selected(request, "test_cna_rppa_runs_end_to_end"):
        yield None
        return
    config = _trimmed_example("tcga-brca-cna-rppa.yaml")
    # Up to the evaluation: the figures and the report are covered by the mixomics test, and so are Leiden
    # clusters of real data (the sweep's neighbour graph costs each evaluation job seconds of numba compilation).
    config["evaluation"]["leiden_resolutions"] = []
    folder = tmp_path_factory.mktemp("cna_rppa")
    run = BackgroundRun(folder, write_config(folder, config), "results/tcga-brca-cna-rppa/evaluation/summary.tsv")
    yield folder, run
    run.stop()


def test_mixomics_held_out_tumors_without_protein_are_encoded(tmp_path):
    assert (SHARED / "tcga-brca-mixomics").is_dir(), "../shared/data must sit beside the project"
    path = write_config(tmp_path, _trimmed_example("tcga-brca-mixomics.yaml"))
    run_snakemake(tmp_path, path)
    out = tmp_path / "results" / "tcga-brca-mixomics"
    split = pd.read_csv(out / "split.tsv", sep="\t").set_index("sample")["split"]
    assert (split == "test").sum() == 69  # the given split
    latent = ad.read_h5ad(out / "latent" / "ae_guided" / "seed0.h5ad")
    test = latent[latent.obs["split"] == "test"]
    assert test.n_obs == 69
    assert not test.obs["has_protein"].astype(bool).any()  # none of them has protein
    assert np.isfinite(test.obsm["X_latent"]).all()
    summary = pd.read_csv(out / "evaluation" / "summary.tsv", sep="\t")
    pca = summary[(summary["model"] == "pca_mrna_mirna") & (summary["metric"] == "ari")]["value"].iloc[0]
    assert 0.2 < pca < 0.6  # the published PCA(16) + k-means reference is 0.37
    for metric in ("ari", "nmi", "logrank_p", "c_index"):
        value = summary[(summary["model"] == "ae_guided") & (summary["metric"] == metric)]["value"].iloc[0]
        assert np.isfinite(value), metric
    assert "pam50" in (out / "report.html").read_text()


def test_cna_rppa_runs_end_to_end(cna_rppa_run):
    folder, run = cna_rppa_run
    run.result()
    out = folder / "results" / "tcga-brca-cna-rppa"
    split = pd.read_csv(out / "split.tsv", sep="\t")
    assert len(split) == 873 and (split["split"] == "test").sum() == 219
    summary = pd.read_csv(out / "evaluation" / "summary.tsv", sep="\t")
    ari = summary[(summary["model"] == "pca_concat") & (summary["metric"] == "ari")]["value"].iloc[0]
    assert 0.05 < ari < 0.4  # the published reference is 0.19
    c_index = summary[(summary["model"] == "ae_guided") & (summary["metric"] == "c_index")]["value"].iloc[0]
    assert 0.4 < c_index < 0.8
