# PCA and kernel PCA on the same normalized inputs and splits as the autoencoders.


rule fit_baseline:
    input:
        adatas=normalized_inputs,
    output:
        latent=f"{OUT}/latent/{{baseline}}/baseline.h5ad",
        # The fitted extractor, for `python -m oncoae encode --model <baseline>` on new tumors.
        model=f"{OUT}/models/{{baseline}}/baseline.joblib",
    params:
        modalities=lambda wildcards: modalities_of(wildcards.baseline),
        family=lambda wildcards: MODELS[wildcards.baseline].family,
        settings=canonical(config["models"]["baseline"]),
    log:
        f"{LOGS}/fit_baseline/{{baseline}}.log",
    benchmark:
        f"{BENCH}/fit_baseline/{{baseline}}.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/fit_baseline.py"
