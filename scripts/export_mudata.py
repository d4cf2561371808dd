"""Raw and normalized modalities, clinical table, split, latents and clusters -> results/<dataset>/<dataset>.h5mu."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    from oncoae.export import export_run

    params = snakemake.params
    mdata = export_run(
        dict(zip(params.modalities, snakemake.input.raw, strict=True)),
        dict(zip(params.modalities, snakemake.input.normalized, strict=True)),
        snakemake.input.clinical,
        snakemake.input.split,
        [(model, seed, path) for (model, seed), path in zip(params.latents, snakemake.input.latents, strict=True)],
        [(model, seed, path) for (model, seed), path in zip(params.pairs, snakemake.input.annotated, strict=True)],
        snakemake.output[0],
    )
    log.info(
        "%d tumors, modalities %s, latents %s",
        mdata.n_obs,
        list(mdata.mod),
        [key for key in mdata.obsm if key.startswith("X_")],
    )
