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

from .conftest import REPO, oncoae_in_process

pytestmark = pytest.mark.workflow


def encode(*args: str) -> subprocess.CompletedProcess:
    """The encode command, in this process (``oncoae_in_process``)."""
    return oncoae_in_process("encode", *args)


def encode_in_new_process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "oncoae", "encode", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(("model", "seed"), [("ae_multimodal", 1), ("ae_vae_cox", 0)])
def test_encode_reproduces_the_workflow_latents_to_1e6_and_its_clusters_exactly(tiny_run, tmp_path, model, seed):
    """Same normalizers, checkpoint and code as the workflow's encoding, but another process and torch thread count
    (the workflow encodes with 1 thread): float32 matrix products may round differently in the last bits on other
    hardware, hence 1e-6 (as the README promises; on 2 CPU cores they agree bitwise). Clusters agree exactly."""
    run = tiny_run / "results" / "tiny"
    inputs = [f"{m}={run / 'data' / f'{m}.h5ad'}" for m in ("expression", "methylation", "mutation")]
    out = tmp_path / "latent.h5ad"
    result = encode_in_new_process(
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
    assert result.returncode == 2, result.stderr
    line = _error_line(result)
    assert "no trained model 'ae_nothing' (models here: [" in line and "'ae_multimodal'" in line, line
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
    assert result.returncode == 2, result.stderr
    assert "the model has no modality named ['protein']; it knows ['expression']" in _error_line(result)
    assert not (tmp_path / "o.h5ad").exists()


def _expression_table(run, n_tumors=30):
    return anndata_to_table(ad.read_h5ad(run / "data" / "expression.h5ad")).head(n_tumors)


def _error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_encode_refuses_a_transposed_input_and_names_the_orientation_option(tiny_run, tmp_path):
    run = tiny_run / "results" / "tiny"
    path = tmp_path / "genes_as_rows.tsv"
    _expression_table(run).T.to_csv(path, sep="\t")  # genes x tumors, read as tumors x genes by default
    out = tmp_path / "o.h5ad"
    result = encode("--run", str(run), "--model", "ae_multimodal", "--input", f"expression={path}", "--out", str(out))
    assert result.returncode == 2, result.stderr
    line = _error_line(result)
    assert str(path) in line and "looks transposed" in line and "--orientation features_x_samples" in line
    assert not out.exists()
    # The orientation the message suggests is the fix.
    result = encode(
        "--run",
        str(run),
        "--model",
        "ae_multimodal",
        "--input",
        f"expression={path}",
        "--orientation",
        "features_x_samples",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert ad.read_h5ad(out).obs["has_expression"].astype(bool).all()


def test_encode_refuses_inputs_that_share_too_few_model_features(tiny_run, tmp_path):
    from oncoae.encoding import MIN_FEATURE_OVERLAP

    run = tiny_run / "results" / "tiny"
    model_features = list(ModalityNormalizer.load(run / "normalized" / "expression.normalizer.npz").features_)
    table = _expression_table(run)
    n_enough = int(np.ceil(MIN_FEATURE_OVERLAP * len(model_features)))
    out = tmp_path / "o.h5ad"
    for n_kept in (n_enough - 1, 0):
        # Below the threshold, down to a table on other feature IDs altogether (zero overlap).
        kept = table[model_features[:n_kept]].assign(**{f"OTHER{i}": 1.0 for i in range(10)})
        path = tmp_path / f"expression_{n_kept}.tsv"
        kept.to_csv(path, sep="\t")
        result = encode(
            "--run", str(run), "--model", "ae_multimodal", "--input", f"expression={path}", "--out", str(out)
        )
        assert result.returncode == 2, result.stderr
        line = _error_line(result)
        assert str(path) in line and "'expression'" in line
        assert f"shares {n_kept} of the model's {len(model_features)} features" in line
        assert not out.exists()
    # At the threshold the input is encoded, the rest filled with training means, and the modality is present.
    path = tmp_path / "expression_enough.tsv"
    table[model_features[:n_enough]].to_csv(path, sep="\t")
    result = encode("--run", str(run), "--model", "ae_multimodal", "--input", f"expression={path}", "--out", str(out))
    assert result.returncode == 0, result.stderr
    latent = ad.read_h5ad(out)
    assert latent.obs["has_expression"].astype(bool).all()
    assert not latent.obs["has_methylation"].astype(bool).any()  # left out: absent, not filled with means


def test_encode_keeps_the_input_order_and_writes_clusters_as_categories(tiny_run, tmp_path):
    run = tiny_run / "results" / "tiny"
    expression = _expression_table(run, 40).sample(frac=1.0, random_state=1)
    methylation = anndata_to_table(ad.read_h5ad(run / "data" / "methylation.h5ad"))
    methylation = methylation.loc[~methylation.index.isin(expression.index)].head(10).iloc[::-1]
    paths = {}
    for name, table in (("expression", expression), ("methylation", methylation)):
        paths[name] = tmp_path / f"{name}.tsv"
        table.to_csv(paths[name], sep="\t")
    out = tmp_path / "o.h5ad"
    result = encode(
        "--run",
        str(run),
        "--model",
        "ae_multimodal",
        "--seed",
        "0",
        "--input",
        *(f"{name}={path}" for name, path in paths.items()),
        "--out",
        str(out),
        "--assign-clusters",
    )
    assert result.returncode == 0, result.stderr
    latent = ad.read_h5ad(out)
    expected_order = [*expression.index, *methylation.index]
    assert expected_order != sorted(expected_order)
    assert list(latent.obs_names) == expected_order
    cluster = latent.obs["cluster"]
    assert isinstance(cluster.dtype, pd.CategoricalDtype)
    assert list(cluster.cat.categories) == [0, 1, 2]  # every k-means cluster of the run (k = 3), used or not


def test_encode_writes_a_tsv_or_refuses_other_output_formats(tiny_run, tmp_path):
    run = tiny_run / "results" / "tiny"
    path = tmp_path / "expression.tsv"
    _expression_table(run).to_csv(path, sep="\t")
    args = ["--run", str(run), "--model", "ae_expression", "--input", f"expression={path}"]
    for bad in ("o.csv", "o.h5", "o"):
        result = encode(*args, "--out", str(tmp_path / bad))
        assert result.returncode == 2 and ".h5ad" in _error_line(result) and ".tsv" in _error_line(result)
        assert not (tmp_path / bad).exists()
    result = encode(*args, "--out", str(tmp_path / "o.tsv"), "--assign-clusters")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "o.tsv", sep="\t", index_col="sample")
    result = encode(*args, "--out", str(tmp_path / "o.h5ad"), "--assign-clusters")
    assert result.returncode == 0, result.stderr
    latent = ad.read_h5ad(tmp_path / "o.h5ad")
    dims = [f"latent_{i + 1}" for i in range(latent.obsm["X_latent"].shape[1])]
    assert list(table.index) == list(latent.obs_names)
    np.testing.assert_allclose(table[dims].to_numpy(), latent.obsm["X_latent"], rtol=1e-6)
    assert (table["cluster"].to_numpy() == latent.obs["cluster"].to_numpy()).all()
    assert table["has_expression"].all()


@pytest.mark.parametrize("model", ["pca_concat", "kpca_concat"])
def test_encode_with_a_baseline_reproduces_the_workflow_latents_and_clusters(tiny_run, tmp_path, model):
    run = tiny_run / "results" / "tiny"
    inputs = [f"{m}={run / 'data' / f'{m}.h5ad'}" for m in ("expression", "methylation", "mutation")]
    out = tmp_path / "latent.h5ad"
    result = encode(
        "--run", str(run), "--model", model, "--seed", "1", "--input", *inputs, "--out", str(out), "--assign-clusters"
    )
    assert result.returncode == 0, result.stderr
    workflow = ad.read_h5ad(run / "latent" / model / "baseline.h5ad")
    new = ad.read_h5ad(out)[workflow.obs_names]
    np.testing.assert_allclose(new.obsm["X_latent"], workflow.obsm["X_latent"], rtol=0, atol=1e-5)
    for name in ("expression", "methylation", "mutation"):
        assert (new.obs[f"has_{name}"].to_numpy() == workflow.obs[f"has_{name}"].to_numpy()).all()
    clusters = pd.read_csv(run / "clusters" / "baselines.tsv", sep="\t")
    expected = clusters[(clusters["model"] == model) & (clusters["seed"] == 1)].set_index("sample")["cluster"]
    assert (new.obs["cluster"].to_numpy() == expected.reindex(new.obs_names).to_numpy()).all()
