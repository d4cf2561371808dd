"""Normalized modalities -> trained autoencoder (model.pt, best val weights) and its training curves."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import torch
    import yaml

    from oncoae.atomic import atomic_path, write_table
    from oncoae.models.checkpoint import save_model
    from oncoae.training.fit import TrainingSettings, fit_autoencoder
    from oncoae.training.setup import training_problem
    from oncoae.tuning.space import apply_overrides

    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    adatas = {name: ad.read_h5ad(path) for name, path in zip(params.modalities, snakemake.input.adatas, strict=True)}
    architecture, training = params.architecture, params.training
    if snakemake.input.get("best"):
        # A tuned model: the search's best values laid over the config's.
        with open(snakemake.input.best) as handle:
            best = yaml.safe_load(handle)
        tuned = apply_overrides({"architecture": architecture, "training": training}, best["overrides"])
        architecture, training = tuned["architecture"], tuned["training"]
        log.info(
            "hyperparameters of search trial %d (%s %.4g): %s",
            best["trial"],
            best["metric"],
            best["value"],
            best["params"],
        )
    problem = training_problem(adatas, architecture, params.heads, params.kinds, params.losses)
    log.info(
        "training %s (seed %s, %s) on %d tumors, early stopping on %d",
        snakemake.wildcards.autoencoder,
        snakemake.wildcards.seed,
        problem.describe(),
        len(problem.train.samples),
        len(problem.val.samples),
    )
    result = fit_autoencoder(
        problem.train,
        problem.val,
        problem.architecture,
        TrainingSettings.from_config({**snakemake.config["training"], **training}),
        int(snakemake.wildcards.seed),
        work_dir=params.work_dir,
        objective=problem.objective,
    )
    log.info("best epoch %d of %d (val loss %.4f)", result.best_epoch, result.epochs_run, result.best_val_loss)
    if result.global_rank == 0:  # under DDP every rank holds the same weights; one writes them
        with atomic_path(snakemake.output.model) as path:
            save_model(
                result.network,
                path,
                extra={"best_epoch": result.best_epoch, "seed": int(snakemake.wildcards.seed), **problem.metadata()},
            )
        write_table(result.history, snakemake.output.history)
