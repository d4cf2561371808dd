"""Normalized modalities -> trained autoencoder (model.pt, best val weights) and its training curves."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.settings import AutoencoderSettings
    from oncoae.training.job import train_autoencoder

    params = snakemake.params
    train_autoencoder(
        dict(zip(params.modalities, snakemake.input.adatas, strict=True)),
        AutoencoderSettings.from_params(params.model, operational=params.operational),
        seed=int(snakemake.wildcards.seed),
        work_dir=params.work_dir,
        model_path=snakemake.output.model,
        history_path=snakemake.output.history,
        tuned=snakemake.input.get("best"),
        name=snakemake.wildcards.autoencoder,
    )
