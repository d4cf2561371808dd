"""One training job of the workflow: normalized modalities in, the trained network (``model.pt``, best val
weights) and its training curves (``history.tsv``) out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from oncoae.settings import AutoencoderSettings
from oncoae.training.fit import FitResult, fit_autoencoder
from oncoae.training.problem import problem_for

log = logging.getLogger(__name__)


def train_autoencoder(
    adata_paths: Mapping[str, str | Path],
    settings: AutoencoderSettings,
    seed: int,
    work_dir: str | Path,
    model_path: str | Path,
    history_path: str | Path,
    tuned: str | Path | None = None,
    name: str = "autoencoder",
) -> FitResult:
    """Train autoencoder ``name`` for ``seed`` and write its network and history.

    ``adata_paths``: the normalized modalities by name, in the model's order; ``tuned``: a search's best.yaml,
    whose values are laid over ``settings`` (a tuned model); ``work_dir``: where the resumable checkpoint lives.
    """
    import anndata as ad
    import torch
    import yaml

    from oncoae.atomic import atomic_path, write_table
    from oncoae.models.checkpoint import save_model

    torch.set_num_threads(settings.training.threads)
    adatas = {modality: ad.read_h5ad(path) for modality, path in adata_paths.items()}
    if tuned:
        best = yaml.safe_load(Path(tuned).read_text())
        settings = settings.with_overrides(best["overrides"])
        log.info(
            "hyperparameters of search trial %d (%s %.4g): %s",
            best["trial"],
            best["metric"],
            best["value"],
            best["params"],
        )
    problem = problem_for(adatas, settings)
    log.info(
        "training %s (seed %s, %s) on %d tumors, early stopping on %d; %d thread(s)",
        name,
        seed,
        problem.describe(),
        len(problem.train.samples),
        len(problem.val.samples),
        settings.training.threads,
    )
    result = fit_autoencoder(
        problem.train, problem.val, problem.architecture, settings.training, seed, work_dir, problem.objective
    )
    log.info("best epoch %d of %d (val loss %.4f)", result.best_epoch, result.epochs_run, result.best_val_loss)
    if result.global_rank == 0:  # under DDP every rank holds the same weights; one writes them
        with atomic_path(model_path) as path:
            save_model(
                result.network, path, extra={"best_epoch": result.best_epoch, "seed": seed, **problem.metadata()}
            )
        write_table(result.history, history_path)
    return result
