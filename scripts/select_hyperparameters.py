"""The shared study of a search -> best hyperparameters (best.yaml), trials table, importances and two figures."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    import anndata as ad
    import yaml

    from oncoae.atomic import atomic_path, write_table
    from oncoae.report.tuning import history_figure, importance_figure
    from oncoae.tuning.search import SearchSettings, optuna_logs_to_step, search_outcome, search_problem

    optuna_logs_to_step()
    params, output = snakemake.params, snakemake.output
    adatas = {name: ad.read_h5ad(path) for name, path in zip(params.modalities, snakemake.input.adatas, strict=True)}
    settings = SearchSettings.from_config(params.settings)
    search = search_problem(snakemake.wildcards.autoencoder, adatas, params.model, params.space, settings)
    outcome = search_outcome(params.study, search)
    with atomic_path(output.best) as path:
        path.write_text(yaml.safe_dump(outcome.best, sort_keys=False))
    write_table(outcome.trials, output.trials)
    write_table(outcome.importances, output.importances)
    history_figure(outcome.trials, outcome.best, output.history)
    importance_figure(outcome.importances, outcome.best, output.importance)
