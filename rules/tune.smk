# Hyperparameter search (config: tuning.models): n_workers Optuna workers per tuned autoencoder, each one job,
# sharing one study; then the best trial's values, which that model's training reads (rules/train.smk).
# The study (tuning/<model>/study.journal) is no declared output: Snakemake deletes the outputs of a killed job,
# and a re-run must continue the study rather than start it again.


rule tune_worker:
    input:
        adatas=normalized_inputs,
    output:
        RUN.tuning_worker("{autoencoder}", "{worker}"),
    params:
        modalities=lambda wildcards: modalities_of(wildcards.autoencoder),
        model=autoencoder_params,
        space=lambda wildcards: PLAN.tuning_space(wildcards.autoencoder),
        settings=lambda wildcards: PLAN.tuning_settings(wildcards.autoencoder),
        study=lambda wildcards: RUN.study(wildcards.autoencoder),
        work_dir=lambda wildcards: RUN.work("tune", wildcards.autoencoder, f"worker{wildcards.worker}"),
    log:
        RUN.log("tune_worker", "{autoencoder}", "worker{worker}"),
    benchmark:
        RUN.benchmark("tune_worker", "{autoencoder}", "worker{worker}")
    wildcard_constraints:
        autoencoder=alternatives(TUNED),
        worker=r"\d+",
    conda:
        "../envs/oncoae.yaml"
    threads: lambda wildcards: PLAN.training_threads(wildcards.autoencoder)
    # The search is the tuned model's critical path, and its workers should run side by side: start them before
    # other jobs that are ready at the same time.
    priority: 10
    resources:
        mem_mb=lambda wildcards, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=lambda wildcards, attempt: config["resources"]["train_runtime"]
        * attempt
        * PLAN.trials_per_worker(wildcards.autoencoder),
        gpu=lambda wildcards: int(PLAN.uses_gpu(wildcards.autoencoder)),
    script:
        "../scripts/tune_worker.py"


rule select_hyperparameters:
    input:
        adatas=normalized_inputs,
        workers=tuning_worker_outputs,
    output:
        best=RUN.tuning("{autoencoder}", "best.yaml"),
        trials=RUN.tuning("{autoencoder}", "trials.tsv"),
        importances=RUN.tuning("{autoencoder}", "importances.tsv"),
        history=report(
            RUN.tuning("{autoencoder}", "history.png"),
            caption="../report/tuning.rst",
            category="Hyperparameter search",
            subcategory="{autoencoder}",
        ),
        importance=report(
            RUN.tuning("{autoencoder}", "importance.png"),
            caption="../report/tuning.rst",
            category="Hyperparameter search",
            subcategory="{autoencoder}",
        ),
    params:
        modalities=lambda wildcards: modalities_of(wildcards.autoencoder),
        model=autoencoder_params,
        space=lambda wildcards: PLAN.tuning_space(wildcards.autoencoder),
        settings=lambda wildcards: PLAN.tuning_settings(wildcards.autoencoder),
        study=lambda wildcards: RUN.study(wildcards.autoencoder),
    log:
        RUN.log("select_hyperparameters", "{autoencoder}"),
    benchmark:
        RUN.benchmark("select_hyperparameters", "{autoencoder}")
    wildcard_constraints:
        autoencoder=alternatives(TUNED),
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/select_hyperparameters.py"
