"""The real snakemake workflow on a tiny config, end to end."""

from __future__ import annotations

import base64
import copy
import io
import re

import anndata as ad
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import yaml

from oncoae.data.normalize import ModalityNormalizer, apply_transform
from oncoae.layout import RunLayout

from .conftest import REPO, SNAKEMAKE, TINY_AUTOENCODERS, TINY_BASELINES, TINY_CONFIG, run_snakemake, write_config

pytestmark = pytest.mark.workflow


def test_outputs_exist_and_summary_is_tidy(tiny_run):
    out = tiny_run / "results" / "tiny"
    summary = pd.read_csv(out / "evaluation" / "summary.tsv", sep="\t")
    assert summary.columns.tolist() == ["model", "seed", "metric", "label", "value"]
    expected_models = {*TINY_AUTOENCODERS, *TINY_BASELINES}
    assert set(summary["model"]) == expected_models
    assert set(summary["seed"]) == {0, 1}
    for metric in ("ari", "nmi", "silhouette", "logrank_p", "c_index"):
        values = summary.loc[summary["metric"] == metric, "value"]
        assert len(values) == 2 * len(expected_models) and values.notna().all(), metric
    ari = summary[(summary["metric"] == "ari")]
    assert ari["value"].between(-1, 1).all()
    recon = summary[(summary["metric"] == "reconstruction_error") & (summary["model"] == "ae_multimodal")]
    assert set(recon["label"]) == {"expression", "methylation", "mutation"}
    assert (recon["value"] > 0).all()
    # The subtype signal is strong in the tiny cohort (PCA reaches ~0.8): a working joint model finds much of it
    # on held-out tumors after 80 epochs (measured ~0.7), a broken one stays near 0.
    assert ari[ari["model"] == "ae_multimodal"]["value"].mean() > 0.4
    # The headline model trains its Cox head (scored by itself on held-out tumors) beside the subtype head.
    head = summary[(summary["metric"] == "c_index_head") & (summary["model"] == "ae_guided")]
    assert len(head) == 2 and head["value"].between(0, 1).all()
    assert ari[ari["model"] == "ae_guided"]["value"].mean() > 0.4


def test_held_out_tumors_are_encoded_and_nothing_was_fitted_on_them(tiny_run):
    out = tiny_run / "results" / "tiny"
    split = pd.read_csv(out / "split.tsv", sep="\t").set_index("sample")["split"]
    latent = ad.read_h5ad(out / "latent" / "ae_multimodal" / "seed0.h5ad")
    test_samples = split.index[split == "test"]
    assert set(test_samples) <= set(latent.obs_names)
    assert np.isfinite(latent.obsm["X_latent"]).all()
    assert latent.obsm["X_latent"].shape[1] == 4
    # Tumors lacking a modality are encoded from the others and marked as lacking it.
    assert (~latent.obs["has_methylation"].astype(bool)).sum() > 0
    # The expression normalizer's means are those of the training tumors (stored as float32, and summed in
    # another order than pandas does: hence the tolerance; tests/test_leakage.py checks held-out tumors bitwise).
    raw = ad.read_h5ad(out / "data" / "expression.h5ad")
    normalizer = ModalityNormalizer.load(out / "normalized" / "expression.normalizer.npz")
    train_rows = raw[raw.obs_names.isin(split.index[split == "train"])]
    table = pd.DataFrame(apply_transform("log1p", np.asarray(train_rows.X, dtype=np.float64)), columns=raw.var_names)
    np.testing.assert_allclose(normalizer.mean_, table[normalizer.features_].mean().to_numpy(), rtol=1e-5)


def test_report_is_self_contained_with_decodable_images(tiny_run):
    html = (tiny_run / "results" / "tiny" / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']https?://""", html)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    # UMAP, KM and contingency heatmap per model (8), training curves per autoencoder (6), comparisons (2),
    # k curves per group (2), contributions of the multi-modal autoencoders to ARI and C-index (2), attributions
    # per autoencoder (6).
    assert len(images) == 8 * 3 + 6 + 2 + 2 + 2 + 6
    for encoded in images:
        pixels = mpimg.imread(io.BytesIO(base64.b64decode(encoded)), format="png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert pixels[..., :3].std() > 0.05  # not a blank canvas
    sections = re.findall(r"<h2 id='[^']*'>([^<]+)</h2>", html)
    assert sections == [
        "Summary",
        "Data",
        "Model comparison",
        "Models and training curves",
        "Latent UMAPs",
        "Clusters",
        "Survival",
        "Modality contributions",
        "Characterization",
        "Which features drive the latent",
        "Provenance",
    ]
    assert "ae_multimodal" in html and "sha256" in html
    assert "Trained with the labels of training tumors: ae_guided (a classification head on subtype" in html


def test_held_out_evaluation_tables(tiny_run):
    out = tiny_run / "results" / "tiny"
    summary = pd.read_csv(out / "evaluation" / "summary.tsv", sep="\t")
    wide = summary.pivot_table(index=["model", "seed"], columns="metric", values="value", aggfunc="first")
    assert (wide["c_index_low"] <= wide["c_index"]).all() and (wide["c_index"] <= wide["c_index_high"]).all()
    assert wide["logrank_p_permutation"].between(0, 1, inclusive="right").all()
    assert (wide["logrank_permutations"] >= 200).all()
    assert wide.loc["ae_vae_cox", "c_index_head"].between(0, 1).all()
    assert wide.loc["ae_guided", "c_index_head"].between(0, 1).all()
    assert wide["c_index_head"].drop(index=["ae_vae_cox", "ae_guided"], level="model").isna().all()

    # Leave-one-modality-out: the tiny cohort gives methylation the strongest subtype signal.
    contributions = pd.read_csv(out / "evaluation" / "autoencoders.contributions.tsv", sep="\t")
    assert set(contributions["model"]) == {"ae_multimodal", "ae_guided", "ae_vae_cox"}
    ari = contributions[(contributions["model"] == "ae_multimodal") & (contributions["metric"] == "ari")]
    assert set(ari["modality"]) == {"expression", "methylation", "mutation"}
    assert ari.groupby("modality")["drop"].mean().idxmax() == "methylation"
    assert (ari["n_tumors"] >= 10).all()

    leiden = pd.read_csv(out / "evaluation" / "autoencoders.leiden.tsv", sep="\t")
    assert set(leiden["resolution"]) == {0.5, 1.0}
    by_resolution = leiden.groupby("resolution")["n_clusters"].mean()
    assert by_resolution[1.0] >= by_resolution[0.5]

    enrichment = pd.read_csv(out / "evaluation" / "autoencoders.enrichment.tsv", sep="\t")
    subtype = enrichment[(enrichment["model"] == "ae_multimodal") & (enrichment["column"] == "subtype")]
    assert subtype["enriched"].astype(bool).all() and (subtype["test"] == "chi2").all()
    assert set(enrichment.loc[enrichment["column"] == "age", "test"]) == {"kruskal"}

    characterization = pd.read_csv(out / "characterization" / "autoencoders.tsv", sep="\t")
    top = characterization[
        (characterization["model"] == "ae_multimodal") & (characterization["modality"] == "methylation")
    ]
    assert set(top["rank"]) == {1, 2, 3, 4, 5} and top["cluster"].nunique() == 3
    # Subtype signal in methylation: most clusters' top feature survives the adjustment (a cluster of a handful of
    # held-out tumors may not), and the effect points the way the Wilcoxon score does.
    assert (top.loc[top["rank"] == 1, "p_adjusted"] < 0.05).sum() >= 2
    assert (np.sign(top["score"]) == np.sign(top["mean_difference"])).all()


def test_figures_are_sane(tiny_run):
    figures = tiny_run / "results" / "tiny" / "figures"
    umap = mpimg.imread(figures / "autoencoders" / "umap_ae_multimodal.png")
    assert umap.shape[1] > 2 * umap.shape[0] * 0.8  # label and cluster panels side by side
    history = pd.read_csv(
        tiny_run / "results" / "tiny" / "models" / "ae_multimodal" / "seed0" / "history.tsv", sep="\t"
    )
    assert {"epoch", "train_loss", "val_loss"} <= set(history.columns)
    assert history["val_loss"].notna().sum() >= 2


def test_second_run_has_nothing_to_do(tiny_run):
    result = run_snakemake(tiny_run, tiny_run / "config.yaml", "--dry-run")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_one_normalization_reruns_only_what_depends_on_it(tiny_run, tmp_path):
    # The round trip through YAML also sorts every key: reordering a config must not rerun anything by itself.
    config = yaml.safe_load(yaml.safe_dump(TINY_CONFIG, sort_keys=True))
    config["modalities"]["methylation"]["normalization"]["top_variance"] = 50
    changed = write_config(tmp_path, config)
    # One dry run: its job stats table (counts per rule) and its job details (the exact jobs).
    detail = run_snakemake(tiny_run, changed, "--dry-run")
    rerun = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", detail.stdout, re.MULTILINE)}
    assert rerun["normalize_modality"] == 1
    # ae_methylation, ae_multimodal, ae_guided and ae_vae_cox, two seeds each
    assert rerun["train_autoencoder"] == 4 * 2
    assert rerun["encode_autoencoder"] == 4
    assert rerun["fit_baseline"] == 2  # pca_concat and kpca_concat use methylation
    assert "simulate_cohort" not in rerun and "split_samples" not in rerun
    # The exact jobs: ae_expression and ae_mutation are untouched.
    # Models are trained by the jobs whose output is a model.pt (attribute_features reads every model.pt).
    trained = set(re.findall(r"^\s+output: \S*models/(ae_\w+)/seed\d+/model\.pt", detail.stdout, re.MULTILINE))
    assert trained == {"ae_methylation", "ae_multimodal", "ae_guided", "ae_vae_cox"}


def test_a_variants_operational_training_keys_take_effect_and_retrain_nothing(tmp_path):
    """A variant's checkpoint interval and threads reach its training job (they once came from the top level);
    changing them afterwards leaves the model as it is."""
    config = copy.deepcopy(TINY_CONFIG)
    config["seeds"] = [0]
    config["training"]["checkpoint_every_n_epochs"] = 1000  # the top level never checkpoints in 3 epochs
    config["models"]["autoencoders"]["variants"] = {
        "ops": {
            "modalities": ["expression"],
            "training": {"max_epochs": 3, "checkpoint_every_n_epochs": 1, "threads": 2},
        }
    }
    run = RunLayout.of_dataset("tiny")
    target = run.checkpoint("ae_ops", 0)
    run_snakemake(tmp_path, write_config(tmp_path, config), target)
    assert (tmp_path / run.work("train", "ae_ops", "seed0") / "checkpoints" / "last.ckpt").exists()
    log = (tmp_path / run.log("train_autoencoder", "ae_ops", "seed0")).read_text()
    assert "2 thread(s)" in log  # the variant's training.threads (the top level has 1), within --cores 2
    config["models"]["autoencoders"]["variants"]["ops"]["training"].update(checkpoint_every_n_epochs=7, threads=1)
    changed = write_config(tmp_path, config)
    result = run_snakemake(tmp_path, changed, target, "--dry-run")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_lint_is_clean():
    import subprocess

    result = subprocess.run(
        [SNAKEMAKE, "--lint", "--snakefile", str(REPO / "Snakefile")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_snakemake_report_builds(tiny_run):
    run_snakemake(tiny_run, tiny_run / "config.yaml", "--report", "snakemake_report.html")
    text = (tiny_run / "snakemake_report.html").read_text(errors="replace")
    assert "umap_ae_multimodal" in text
