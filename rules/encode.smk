# Latents of every tumor from raw inputs, through the saved normalizers: the same code path as
# `python -m oncoae encode`. One job per autoencoder covers all its seeds: encoding takes well under a second,
# importing torch and anndata a few, so per-seed jobs would mostly pay imports.


rule encode_autoencoder:
    input:
        models=lambda wildcards: [RUN.checkpoint(wildcards.autoencoder, seed) for seed in SEEDS],
        normalizers=lambda wildcards: [RUN.normalizer(m) for m in modalities_of(wildcards.autoencoder)],
        raw=lambda wildcards: [RUN.raw(m) for m in modalities_of(wildcards.autoencoder)],
        clinical=RUN.clinical,
        split=RUN.split,
    output:
        [RUN.latent("{autoencoder}", seed) for seed in SEEDS],
    params:
        modalities=lambda wildcards: modalities_of(wildcards.autoencoder),
        seeds=SEEDS,
    log:
        RUN.log("encode_autoencoder", "{autoencoder}"),
    benchmark:
        RUN.benchmark("encode_autoencoder", "{autoencoder}")
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/encode_autoencoder.py"
