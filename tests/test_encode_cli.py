"""``python -m oncoae encode``: new tumors through a finished run's normalizers, model and clusters."""

from __future__ import annotations

import subprocess
import sys

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from oncoae.data.modality import anndata_to_table
from oncoae.data.normalize import ModalityNormalizer

from .conftest import REPO

pytestmark = pytest.mark.workflow


def encode(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "oncoae", "encode", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(("model", "seed"), [("ae_multimodal", 1), ("ae_vae_cox", 0)])
def test_encode_reproduces_the_workflow_latents_and_clusters_exactly(tiny_run, tmp_path, model, seed):
    run = tiny_run / "results" / "tiny"
    inputs = [f"{m}={run / 'data' / f'{m}.h5ad'}" for m in ("expression", "methylation", "mutation")]
    out = tmp_path / "latent.h5ad"
    result = encode(
        "--run",
        str(run),
        "--model",
        model,
        "--seed",
        str(seed),
        "--input",
        *inputs,
        "--out",
        str(out),
        "--assign-clusters",
    )
    assert result.returncode == 0, result.stderr
    workflow = ad.read_h5ad(run / "latent" / model / f"seed{seed}.h5ad")
    new = ad.read_h5ad(out)
    assert set(workflow.obs_names) <= set(new.obs_names)
    new = new[workflow.obs_names]
    np.testing.assert_allclose(new.obsm["X_latent"], workflow.obsm["X_latent"], rtol=0, atol=1e-6)
    if model == "ae_vae_cox":
        np.testing.assert_allclose(new.obs["risk_score"], workflow.obs["risk_score"], rtol=0, atol=1e-6)
    clusters = pd.read_csv(run / "clusters" / "autoencoders.tsv", sep="\t")
    expected = clusters[(clusters["model"] == model) & (clusters["seed"] == seed)].set_index("sample")["cluster"]
    assert (new.obs["cluster"].to_numpy() == expected.reindex(new.obs_names).to_numpy()).all()


def test_encode_handles_feature_mismatch_and_a_missing_modality(tiny_run, tmp_path):
    run = tiny_run / "results" / "tiny"
    expression = anndata_to_table(ad.read_h5ad(run / "data" / "expression.h5ad"))
    model_features = ModalityNormalizer.load(run / "normalized" / "expression.normalizer.npz").features_
    dropped = model_features[0]
    # A new cohort's table: other column order, one model feature absent, one feature the model never saw,
    # and no mutation file at all.
    cohort = expression.drop(columns=[dropped]).iloc[:, ::-1].assign(NEWGENE=1.0).head(25)
    path = tmp_path / "cohort_expression.tsv"
    cohort.to_csv(path, sep="\t")
    methylation = anndata_to_table(ad.read_h5ad(run / "data" / "methylation.h5ad")).head(25).T
    methylation_path = tmp_path / "cohort_methylation.tsv"
    methylation.to_csv(methylation_path, sep="\t")
    config = tmp_path / "cohort.yaml"
    config.write_text(
        f"modalities:\n  expression: {{path: {path}}}\n"
        f"  methylation: {{path: {methylation_path}, orientation: features_x_samples}}\n"
    )
    out = tmp_path / "cohort.h5ad"
    result = encode("--run", str(run), "--model", "ae_multimodal", "--input", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"1 of {len(model_features)} model features absent from the input" in result.stderr
    assert "filled with the training mean" in result.stderr and dropped in result.stderr
    n_extra = cohort.shape[1] - (len(model_features) - 1)  # NEWGENE and the features normalization filtered out
    assert f"dropped {n_extra} input features the model was not trained on" in result.stderr
    latent = ad.read_h5ad(out)
    assert latent.n_obs == len(set(cohort.index) | set(methylation.columns))
    assert np.isfinite(latent.obsm["X_latent"]).all()
    assert not latent.obs["has_mutation"].astype(bool).any()


def test_encode_errors_name_what_is_wrong(tiny_run, tmp_path):
    run = tiny_run / "results" / "tiny"
    result = encode("--run", str(run), "--model", "ae_nothing", "--input", "x=y", "--out", str(tmp_path / "o.h5ad"))
    assert result.returncode == 2 and "ae_nothing" in result.stderr and "ae_multimodal" in result.stderr
    result = encode(
        "--run",
        str(run),
        "--model",
        "ae_expression",
        "--input",
        f"protein={run / 'data' / 'expression.h5ad'}",
        "--out",
        str(tmp_path / "o.h5ad"),
    )
    assert result.returncode == 2 and "protein" in result.stderr
    assert not (tmp_path / "o.h5ad").exists()
