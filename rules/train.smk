# One Lightning training job per (autoencoder, seed).


rule train_autoencoder:
    input:
        unpack(tuned_hyperparameters),  # best.yaml of a tuned model (rules/tune.smk); nothing for the others
        adatas=normalized_inputs,
    output:
        model=f"{OUT}/models/{{autoencoder}}/seed{{seed}}/model.pt",
        history=f"{OUT}/models/{{autoencoder}}/seed{{seed}}/history.tsv",
    params:
        modalities=lambda wildcards: modalities_of(wildcards.autoencoder),
        architecture=lambda wildcards: autoencoder_params(wildcards.autoencoder)["architecture"],
        training=lambda wildcards: autoencoder_params(wildcards.autoencoder)["training"],
        heads=lambda wildcards: autoencoder_params(wildcards.autoencoder)["heads"],
        kinds=lambda wildcards: autoencoder_params(wildcards.autoencoder)["kinds"],
        losses=lambda wildcards: autoencoder_params(wildcards.autoencoder)["losses"],
        work_dir=lambda wildcards: f"{WORK}/train/{wildcards.autoencoder}/seed{wildcards.seed}",
    log:
        f"{LOGS}/train_autoencoder/{{autoencoder}}/seed{{seed}}.log",
    benchmark:
        f"{BENCH}/train_autoencoder/{{autoencoder}}/seed{{seed}}.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=lambda wildcards, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=lambda wildcards, attempt: config["resources"]["train_runtime"] * attempt,
        gpu=1 if USES_GPU else 0,
    script:
        "../scripts/train_autoencoder.py"
