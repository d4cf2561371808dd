"""benchmarks/posthoc.py re-runs k-means on a finished run's latents: as they are, and standardized."""

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from benchmarks.posthoc import score_run


def test_posthoc_scores_both_variants_on_validation_and_test(tmp_path):
    rng = np.random.default_rng(0)
    n = 90
    subtype = np.repeat(["A", "B", "C"], n // 3)
    # Dimensions 0 and 1 separate the subtypes at a small scale; dimension 2 is large noise. As is, k-means
    # follows the noise; standardized, the two signal dimensions outweigh it and the subtypes come out.
    centres = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.9]])
    signal = np.repeat(centres, n // 3, axis=0) + rng.normal(0, 0.03, (n, 2))
    latent = np.column_stack([signal, rng.normal(0, 10, n)])
    obs = pd.DataFrame(
        {"split": np.tile(["train", "train", "val", "test", "train", "train"], n // 6), "subtype": subtype},
        index=[f"T{i}" for i in range(n)],
    )
    folder = tmp_path / "results" / "toy" / "latent" / "pca_concat"
    folder.mkdir(parents=True)
    adata = ad.AnnData(obs=obs)
    adata.obsm["X_latent"] = latent.astype(np.float32)
    adata.write_h5ad(folder / "baseline.h5ad")
    config = {"dataset": "toy", "seeds": [0], "clinical": {"labels": ["subtype"]}, "clustering": {"k": 3}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))

    table = score_run(tmp_path).set_index(["variant", "split"])["ari"]
    assert set(table.index) == {(v, s) for v in ("as_is", "standardized") for s in ("val", "test")}
    assert table[("standardized", "val")] == 1.0 and table[("standardized", "test")] == 1.0
    assert table[("as_is", "val")] < 0.5
