"""Post-hoc variants of the clustering step on a finished quality run's latents, scored on validation tumors.

``python -m benchmarks.posthoc benchmarks/work/quality/<cohort> [...]`` reads each run folder's config copy and
latents (``results/<dataset>/latent/<model>/*.h5ad``) and re-runs k-means, fitted on training latents as the
workflow does, with each latent as it is and standardized with training means and sds. It prints ARI against
the first label on validation tumors (what a default may be chosen on) and, for the record, on test tumors, as
mean over seeds per model. Nothing is retrained, so a variant costs seconds; it decides nothing by itself
(benchmarks/results/FINDINGS.md records what was tried).
"""

from __future__ import annotations

import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from oncoae.evaluation.clustering import fit_kmeans
from oncoae.evaluation.evaluate import ClusteringSettings
from oncoae.evaluation.metrics import label_agreement

VARIANTS = ("as_is", "standardized")


def _variant(latent: np.ndarray, is_train: np.ndarray, variant: str) -> np.ndarray:
    if variant == "as_is":
        return latent
    center, scale = latent[is_train].mean(axis=0), latent[is_train].std(axis=0)
    scale[scale == 0] = 1.0
    return (latent - center) / scale


def score_run(run: Path) -> pd.DataFrame:
    config = yaml.safe_load((run / "config.yaml").read_text())
    label = config["clinical"]["labels"][0]
    settings = ClusteringSettings.from_config(config.get("clustering", {}))
    seeds = [int(s) for s in config["seeds"]]
    rows = []
    for folder in sorted((run / "results" / config["dataset"] / "latent").iterdir()):
        for seed in seeds:
            path = folder / f"seed{seed}.h5ad"
            path = path if path.exists() else folder / "baseline.h5ad"
            adata = ad.read_h5ad(path)
            split = adata.obs["split"].to_numpy()
            is_train = split == "train"
            for variant in VARIANTS:
                latent = _variant(np.asarray(adata.obsm["X_latent"], float), is_train, variant)
                fitted = fit_kmeans(latent[is_train], settings.k, settings.k_range, seed=seed, n_init=settings.n_init)
                clusters = fitted.assign(latent)
                for part in ("val", "test"):
                    rows.append(
                        {
                            "cohort": run.name,
                            "model": folder.name,
                            "seed": seed,
                            "variant": variant,
                            "split": part,
                            "ari": label_agreement(clusters[split == part], adata.obs.loc[split == part, label])["ari"],
                        }
                    )
    return pd.DataFrame(rows)


def main(argv: list[str]) -> int:
    table = pd.concat([score_run(Path(run)) for run in argv], ignore_index=True)
    wide = table.pivot_table(index=["cohort", "model"], columns=["split", "variant"], values="ari", aggfunc="mean")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(wide.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
