"""Xena and cBioPortal sources end to end: the real workflow downloads fixture files in the real layouts from a
real HTTP server on 127.0.0.1, harmonizes them and evaluates; then re-runs offline from the cache."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from .conftest import REPO, BackgroundRun, run_snakemake, selected, write_config
from .public_fixtures import FixtureServer, cbioportal_tarball, xena_files

pytestmark = pytest.mark.workflow

# Small and fast: one seed, one autoencoder, PCA only, up to the evaluation (figures and report are covered by the
# workflow tests).
QUICK = {
    "seeds": [0],
    "models": {
        "autoencoders": {"per_modality": False, "multimodal": True},
        "baselines": ["pca"],
        "baselines_per_modality": False,
    },
    "architecture": {"hidden_sizes": [16], "latent_dim": 4},
    "training": {"max_epochs": 20, "batch_size": 16},
    "clustering": {"k": 3},
    # No test here reads the permutation p, the C-index interval or the Leiden table: few resamples, no Leiden
    # sweep (its neighbour graph costs each evaluation job seconds of numba compilation).
    "evaluation": {"permutations": 20, "max_permutations": 20, "bootstrap": 20, "leiden_resolutions": []},
    "download": {"retry": {"attempts": 2, "backoff_seconds": 0.01, "timeout_seconds": 10}},
}


def _example(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / "examples" / name).read_text())


@pytest.fixture(scope="module", autouse=True)
def cbioportal_run(request, tmp_path_factory):
    """The cBioPortal run, started with its server as the module starts (when its test is selected): it runs
    beside the Xena run, each mostly serial steps that leave one of the two cores idle."""
    if not selected(request, "test_cbioportal_source_end_to_end"):
        yield None
        return
    study = "brca_tcga_pan_can_atlas_2018"
    server = FixtureServer({f"/{study}.tar.gz": cbioportal_tarball(study)})
    try:
        config = _example("cbioportal-brca.yaml")
        config["cbioportal"]["base_url"] = server.url
        config["modalities"]["expression"]["normalization"]["top_variance"] = 30
        config.update(QUICK)
        folder = tmp_path_factory.mktemp("cbioportal")
        run = BackgroundRun(folder, write_config(folder, config), "results/cbioportal-brca/evaluation/summary.tsv")
        try:
            yield folder, run
        finally:
            run.stop()
    finally:
        server.stop()


def test_xena_source_end_to_end_and_offline_rerun(tmp_path):
    files = xena_files()
    server = FixtureServer({f"/download/{name}": body for name, body in files.items()})
    config = _example("tcga-brca-xena.yaml")
    config["xena"]["hub"] = server.url
    config["modalities"] = {"expression": config["modalities"]["expression"]}
    config["modalities"]["expression"]["normalization"]["top_variance"] = 30
    config.update(QUICK)
    path = write_config(tmp_path, config)
    target = "results/tcga-brca-xena/evaluation/summary.tsv"
    try:
        run_snakemake(tmp_path, path, target)
    finally:
        server.stop()
    out = tmp_path / "results" / "tcga-brca-xena"
    clinical = pd.read_csv(out / "data" / "clinical.tsv", sep="\t", index_col=0)
    assert "TCGA-ZZ-Z999-01" not in clinical.index  # LUAD, filtered by cancer_types
    assert set(clinical["Subtype_mRNA"].dropna()) == {"LumA", "Basal", "Her2"}
    summary = pd.read_csv(out / "evaluation" / "summary.tsv", sep="\t")
    ari = summary[(summary["metric"] == "ari") & (summary["model"] == "pca_expression")]["value"]
    assert ari.iloc[0] > 0.5  # the fixture's subtypes are well separated in expression
    manifests = list((tmp_path / "resources" / "xena").rglob("*.manifest.json"))
    assert len(manifests) == 3
    # Offline: the server is gone; a forced re-run of the steps that read the download cache (ingestion) still
    # works, and nothing is downloaded again. The steps after ingestion read only its outputs and ran above.
    ingested = [f"results/tcga-brca-xena/data/{name}" for name in ("clinical.tsv", "expression.h5ad")]
    rerun = run_snakemake(tmp_path, path, *ingested, "--forcerun", "ingest_clinical", "ingest_modality")
    jobs = set(re.findall(r"^(?:local)?rule (\w+):", rerun.stdout + rerun.stderr, re.MULTILINE))
    assert jobs == {"ingest_clinical", "ingest_modality"}, jobs


def test_cbioportal_source_end_to_end(cbioportal_run):
    folder, run = cbioportal_run
    run.result()
    out = folder / "results" / "cbioportal-brca"
    clinical = pd.read_csv(out / "data" / "clinical.tsv", sep="\t", index_col=0)
    assert set(clinical["OS_STATUS"].dropna()) <= {0.0, 1.0}
    assert clinical.index[0].count("-") == 2  # patient barcodes: molecular samples were joined at patient level
    import anndata as ad

    mutation = ad.read_h5ad(out / "data" / "mutation.h5ad")
    assert mutation.n_obs == 60  # every sequenced tumor, including the one without any mutation (a zero row)
    assert "TTN" not in mutation.var_names  # silent only
    assert (mutation.X.sum(axis=1) == 0).sum() == 1
    summary = pd.read_csv(out / "evaluation" / "summary.tsv", sep="\t")
    assert summary[(summary["metric"] == "ari")]["value"].notna().all()
