"""The shared study of a search -> best hyperparameters (best.yaml), trials table, importances and two figures."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import optuna
    import yaml

    from oncoae.atomic import atomic_path, write_table
    from oncoae.report.tuning import history_figure, importance_figure
    from oncoae.tuning.search import (
        SearchSettings,
        best_hyperparameters,
        open_study,
        param_importances,
        search_problem,
        trials_table,
    )

    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    params = snakemake.params
    output = snakemake.output
    model = snakemake.wildcards.autoencoder
    adatas = {name: ad.read_h5ad(path) for name, path in zip(params.modalities, snakemake.input.adatas, strict=True)}
    search = search_problem(model, adatas, params.model, params.space, SearchSettings.from_config(params.settings))
    study = open_study(params.study, search, create=False)
    best = best_hyperparameters(study, search)
    log.info("%s: best trial %d, %s %.4g, %s", model, best["trial"], best["metric"], best["value"], best["params"])
    trials = trials_table(study, search.parameters)
    importances = param_importances(study, search.settings.seed)
    with atomic_path(output.best) as path:
        path.write_text(yaml.safe_dump(best, sort_keys=False))
    write_table(trials, output.trials)
    write_table(importances, output.importances)
    history_figure(trials, best, output.history)
    importance_figure(importances, best, output.importance)
