# Latents of every tumor from raw inputs, through the saved normalizers: the same code path as
# `python -m oncoae encode`. One job per autoencoder covers all its seeds: encoding takes well under a second,
# importing torch and anndata a few, so per-seed jobs would mostly pay imports.


rule encode_autoencoder:
    input:
        models=lambda wildcards: expand(
            f"{OUT}/models/{wildcards.autoencoder}/seed{{seed}}/model.pt", seed=SEEDS
        ),
        normalizers=lambda wildcards: expand(
            f"{OUT}/normalized/{{modality}}.normalizer.npz", modality=modalities_of(wildcards.autoencoder)
        ),
        raw=lambda wildcards: expand(f"{OUT}/data/{{modality}}.h5ad", modality=modalities_of(wildcards.autoencoder)),
        clinical=f"{OUT}/data/clinical.tsv",
        split=f"{OUT}/split.tsv",
    output:
        expand(f"{OUT}/latent/{{{{autoencoder}}}}/seed{{seed}}.h5ad", seed=SEEDS),
    params:
        modalities=lambda wildcards: modalities_of(wildcards.autoencoder),
        seeds=SEEDS,
    log:
        f"{LOGS}/encode_autoencoder/{{autoencoder}}.log",
    benchmark:
        f"{BENCH}/encode_autoencoder/{{autoencoder}}.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/encode_autoencoder.py"
