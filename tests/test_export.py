"""scverse-native exports of the tiny run: annotated latents and the run's MuData (no extra workflow run)."""

from __future__ import annotations

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse

from oncoae.data.modality import read_clinical

from .conftest import TINY_CONFIG

pytestmark = pytest.mark.workflow

MODALITIES = list(TINY_CONFIG["modalities"])
SEEDS = TINY_CONFIG["seeds"]
AUTOENCODERS = ["ae_expression", "ae_methylation", "ae_mutation", "ae_multimodal", "ae_vae_cox"]
BASELINES = ["pca_concat", "kpca_concat"]


def dense(values):
    return values.toarray() if scipy.sparse.issparse(values) else np.asarray(values)


def test_annotated_latents_carry_cluster_split_and_clinical_columns(tiny_run):
    run = tiny_run / "results" / "tiny"
    clinical = read_clinical(run / "data" / "clinical.tsv")
    split = pd.read_csv(run / "split.tsv", sep="\t", dtype={"sample": str}).set_index("sample")["split"]
    for group, models in (("autoencoders", AUTOENCODERS), ("baselines", BASELINES)):
        clusters = pd.read_csv(run / "clusters" / f"{group}.tsv", sep="\t", dtype={"sample": str})
        for model in models:
            for seed in SEEDS:
                annotated = ad.read_h5ad(run / "annotated" / model / f"seed{seed}.h5ad")
                source = "baseline" if group == "baselines" else f"seed{seed}"
                latent = ad.read_h5ad(run / "latent" / model / f"{source}.h5ad")
                assert list(annotated.obs_names) == list(latent.obs_names)
                np.testing.assert_array_equal(annotated.obsm["X_latent"], latent.obsm["X_latent"])
                cluster = annotated.obs["cluster"]
                assert isinstance(cluster.dtype, pd.CategoricalDtype)
                assert list(cluster.cat.categories) == list(range(TINY_CONFIG["clustering"]["k"]))
                rows = clusters[(clusters["model"] == model) & (clusters["seed"] == seed)].set_index("sample")
                assert len(rows) == annotated.n_obs
                assert (cluster.to_numpy() == rows["cluster"].reindex(annotated.obs_names).to_numpy()).all()
                assert isinstance(annotated.obs["split"].dtype, pd.CategoricalDtype)
                assert (annotated.obs["split"].astype(str) == split.reindex(annotated.obs_names)).all()
                for column in clinical.columns:
                    expected = clinical[column].reindex(annotated.obs_names)
                    assert (annotated.obs[column].astype(str).to_numpy() == expected.astype(str).to_numpy()).all()
    # Ready for scanpy: a neighbour graph on the latent, the clusters as groups.
    annotated = ad.read_h5ad(run / "annotated" / "ae_multimodal" / "seed0.h5ad")
    sc.pp.neighbors(annotated, use_rep="X_latent", n_neighbors=10)
    assert annotated.obsp["connectivities"].shape == (annotated.n_obs, annotated.n_obs)
    assert annotated.obs.groupby("cluster", observed=True).size().sum() == annotated.n_obs


def test_the_run_mudata_holds_modalities_latents_and_clusters(tiny_run):
    run = tiny_run / "results" / "tiny"
    with md.set_options(pull_on_update=False):
        mdata = md.read_h5mu(run / "tiny.h5mu")
    assert list(mdata.mod) == MODALITIES
    clinical = read_clinical(run / "data" / "clinical.tsv")
    split = pd.read_csv(run / "split.tsv", sep="\t", dtype={"sample": str}).set_index("sample")["split"]
    for name in MODALITIES:
        modality = mdata[name]
        normalized = ad.read_h5ad(run / "normalized" / f"{name}.h5ad")
        raw = ad.read_h5ad(run / "data" / f"{name}.h5ad")
        assert list(modality.obs_names) == list(normalized.obs_names)
        assert list(modality.var_names) == list(normalized.var_names)  # the features the models see
        np.testing.assert_array_equal(dense(modality.X), dense(normalized.X))
        expected_raw = raw[normalized.obs_names, normalized.var_names]
        np.testing.assert_array_equal(dense(modality.layers["raw"]), dense(expected_raw.X))
        assert (mdata.obs[f"has_{name}"] == mdata.obs_names.isin(normalized.obs_names)).all()
    assert (mdata.obs["split"].astype(str) == split.reindex(mdata.obs_names)).all()
    assert (mdata.obs["subtype"].astype(str) == clinical["subtype"].reindex(mdata.obs_names).astype(str)).all()
    expected_keys = {f"X_{m}_seed{s}" for m in AUTOENCODERS for s in SEEDS} | {f"X_{m}" for m in BASELINES}
    assert expected_keys <= set(mdata.obsm)
    for model in AUTOENCODERS:
        for seed in SEEDS:
            latent = ad.read_h5ad(run / "latent" / model / f"seed{seed}.h5ad")
            stored = pd.DataFrame(mdata.obsm[f"X_{model}_seed{seed}"], index=mdata.obs_names)
            np.testing.assert_array_equal(stored.loc[latent.obs_names].to_numpy(), latent.obsm["X_latent"])
            # Tumors the model did not encode (a per-modality model, a tumor without it) are NaN, not zeros.
            assert stored.drop(index=latent.obs_names).isna().all(axis=None)
            cluster = mdata.obs[f"cluster_{model}_seed{seed}"]
            assert isinstance(cluster.dtype, pd.CategoricalDtype)
    assert mdata.obsm["X_ae_expression_seed0"].shape[0] == mdata.n_obs
    assert np.isnan(mdata.obsm["X_ae_expression_seed0"]).any(axis=1).sum() == (~mdata.obs["has_expression"]).sum()
    # scanpy works on it directly: a neighbour graph and Leiden on a joint latent.
    sc.pp.neighbors(mdata, use_rep="X_ae_multimodal_seed0", n_neighbors=10)
    assert mdata.obsp["connectivities"].shape == (mdata.n_obs, mdata.n_obs)
    sc.pp.neighbors(mdata, use_rep="X_pca_concat", n_neighbors=10, key_added="pca")
    assert mdata.obsp["pca_connectivities"].nnz > 0
