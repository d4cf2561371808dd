# Hyperparameter search (config: tuning.models): n_workers Optuna workers per tuned autoencoder, each one job,
# sharing one study; then the best trial's values, which that model's training reads (rules/train.smk).
# The study (tuning/<model>/study.journal) is no declared output: Snakemake deletes the outputs of a killed job,
# and a re-run must continue the study rather than start it again.


rule tune_worker:
    input:
        adatas=normalized_inputs,
    output:
        f"{OUT}/tuning/{{autoencoder}}/worker{{worker}}.tsv",
    params:
        modalities=lambda wildcards: modalities_of(wildcards.autoencoder),
        model=lambda wildcards: autoencoder_params(wildcards.autoencoder),
        space=lambda wildcards: canonical(TUNING[wildcards.autoencoder]["space"]),
        settings=lambda wildcards: tuning_settings(wildcards.autoencoder),
        study=lambda wildcards: f"{tuning_dir(wildcards.autoencoder)}/study.journal",
        work_dir=lambda wildcards: f"{WORK}/tune/{wildcards.autoencoder}/worker{wildcards.worker}",
    log:
        f"{LOGS}/tune_worker/{{autoencoder}}/worker{{worker}}.log",
    benchmark:
        f"{BENCH}/tune_worker/{{autoencoder}}/worker{{worker}}.tsv"
    wildcard_constraints:
        autoencoder=_alternatives(TUNED),
        worker=r"\d+",
    conda:
        "../envs/oncoae.yaml"
    threads: config["training"]["threads"]
    # The search is the tuned model's critical path, and its workers should run side by side: start them before
    # other jobs that are ready at the same time.
    priority: 10
    resources:
        mem_mb=lambda wildcards, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=lambda wildcards, attempt: config["resources"]["train_runtime"]
        * attempt
        * trials_per_worker(wildcards.autoencoder),
        gpu=1 if USES_GPU else 0,
    script:
        "../scripts/tune_worker.py"


rule select_hyperparameters:
    input:
        adatas=normalized_inputs,
        workers=tuning_worker_outputs,
    output:
        best=f"{OUT}/tuning/{{autoencoder}}/best.yaml",
        trials=f"{OUT}/tuning/{{autoencoder}}/trials.tsv",
        importances=f"{OUT}/tuning/{{autoencoder}}/importances.tsv",
        history=report(
            f"{OUT}/tuning/{{autoencoder}}/history.png",
            caption="../report/tuning.rst",
            category="Hyperparameter search",
            subcategory="{autoencoder}",
        ),
        importance=report(
            f"{OUT}/tuning/{{autoencoder}}/importance.png",
            caption="../report/tuning.rst",
            category="Hyperparameter search",
            subcategory="{autoencoder}",
        ),
    params:
        modalities=lambda wildcards: modalities_of(wildcards.autoencoder),
        model=lambda wildcards: autoencoder_params(wildcards.autoencoder),
        space=lambda wildcards: canonical(TUNING[wildcards.autoencoder]["space"]),
        settings=lambda wildcards: tuning_settings(wildcards.autoencoder),
        study=lambda wildcards: f"{tuning_dir(wildcards.autoencoder)}/study.journal",
    log:
        f"{LOGS}/select_hyperparameters/{{autoencoder}}.log",
    benchmark:
        f"{BENCH}/select_hyperparameters/{{autoencoder}}.tsv"
    wildcard_constraints:
        autoencoder=_alternatives(TUNED),
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/select_hyperparameters.py"
