# PCA and kernel PCA on the same normalized inputs and splits as the autoencoders.


rule fit_baseline:
    input:
        adatas=normalized_inputs,
    output:
        latent=RUN.baseline_latent("{baseline}"),
        # The fitted extractor, for `python -m oncoae encode --model <baseline>` on new tumors.
        model=RUN.baseline_model("{baseline}"),
    params:
        modalities=lambda wildcards: modalities_of(wildcards.baseline),
        family=lambda wildcards: MODELS[wildcards.baseline].family,
        # With a tuned autoencoder, the grids chosen on validation tumors (models.baseline.match_tuning).
        settings=PLAN.baseline_settings(),
    log:
        RUN.log("fit_baseline", "{baseline}"),
    benchmark:
        RUN.benchmark("fit_baseline", "{baseline}")
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/fit_baseline.py"
