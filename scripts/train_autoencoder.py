"""Normalized modalities -> trained autoencoder (model.pt, best val weights) and its training curves."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import torch

    from oncoae.atomic import atomic_path, write_table
    from oncoae.data.modality import assemble_modalities, samples_in_split
    from oncoae.models.checkpoint import save_model
    from oncoae.models.networks import ArchitectureSpec
    from oncoae.training.fit import TrainingSettings, fit_autoencoder

    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    adatas = {name: ad.read_h5ad(path) for name, path in zip(params.modalities, snakemake.input.adatas, strict=True)}
    train = assemble_modalities(adatas, samples_in_split(adatas, "train"))
    val = assemble_modalities(adatas, samples_in_split(adatas, "val"))
    log.info(
        "training %s (seed %s) on %d tumors, early stopping on %d",
        snakemake.wildcards.autoencoder,
        snakemake.wildcards.seed,
        len(train.samples),
        len(val.samples),
    )
    architecture = ArchitectureSpec(
        modalities={name: (adatas[name].n_vars, params.kinds[name]) for name in params.modalities},
        **params.architecture,
    )
    result = fit_autoencoder(
        train,
        val,
        architecture,
        TrainingSettings.from_config({**snakemake.config["training"], **params.training}),
        int(snakemake.wildcards.seed),
        work_dir=params.work_dir,
    )
    log.info("best epoch %d of %d", result.best_epoch, result.epochs_run)
    with atomic_path(snakemake.output.model) as path:
        save_model(result.network, path, extra={"best_epoch": result.best_epoch, "seed": int(snakemake.wildcards.seed)})
    write_table(result.history, snakemake.output.history)
