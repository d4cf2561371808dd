# One Lightning training job per (autoencoder, seed).


rule train_autoencoder:
    input:
        unpack(tuned_hyperparameters),  # best.yaml of a tuned model (rules/tune.smk); nothing for the others
        adatas=normalized_inputs,
    output:
        model=RUN.checkpoint("{autoencoder}", "{seed}"),
        history=RUN.history("{autoencoder}", "{seed}"),
    params:
        modalities=lambda wildcards: modalities_of(wildcards.autoencoder),
        # The model's config (oncoae.settings.AutoencoderSettings.params), the one param that retrains it.
        model=autoencoder_params,
        operational=operational_training,
        work_dir=lambda wildcards: RUN.work("train", wildcards.autoencoder, f"seed{wildcards.seed}"),
    log:
        RUN.log("train_autoencoder", "{autoencoder}", "seed{seed}"),
    benchmark:
        RUN.benchmark("train_autoencoder", "{autoencoder}", "seed{seed}")
    conda:
        "../envs/oncoae.yaml"
    threads: lambda wildcards: PLAN.training_threads(wildcards.autoencoder)
    resources:
        mem_mb=lambda wildcards, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=lambda wildcards, attempt: config["resources"]["train_runtime"] * attempt,
        gpu=lambda wildcards: int(PLAN.uses_gpu(wildcards.autoencoder)),
    script:
        "../scripts/train_autoencoder.py"
