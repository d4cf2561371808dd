"""Normalized modalities -> Optuna trials of one search worker in the model's shared study; this worker's trials."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import torch

    from oncoae.atomic import write_table
    from oncoae.tuning.search import SearchSettings, optuna_logs_to_step, run_worker, search_problem

    optuna_logs_to_step()
    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    worker = int(snakemake.wildcards.worker)
    adatas = {name: ad.read_h5ad(path) for name, path in zip(params.modalities, snakemake.input.adatas, strict=True)}
    search = search_problem(
        snakemake.wildcards.autoencoder, adatas, params.model, params.space, SearchSettings.from_config(params.settings)
    )
    log.info(
        "worker %d of study %s (%s, %d trials in all) in %s",
        worker,
        search.study_name,
        search.settings.metric,
        search.settings.n_trials,
        params.study,
    )
    trials = run_worker(params.study, search, worker, params.work_dir)
    log.info("worker %d ran %d trials: %s", worker, len(trials), trials["state"].value_counts().to_dict())
    write_table(trials, snakemake.output[0])
