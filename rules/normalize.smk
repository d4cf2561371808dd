# One normalizer per modality, fitted on training tumors; every tumor normalized with it.


rule normalize_modality:
    input:
        raw=f"{OUT}/data/{{modality}}.h5ad",
        clinical=f"{OUT}/data/clinical.tsv",
        split=f"{OUT}/split.tsv",
    output:
        adata=f"{OUT}/normalized/{{modality}}.h5ad",
        normalizer=f"{OUT}/normalized/{{modality}}.normalizer.npz",
    params:
        normalization=lambda wildcards: canonical(config["modalities"][wildcards.modality]["normalization"]),
    log:
        f"{LOGS}/normalize_modality/{{modality}}.log",
    benchmark:
        f"{BENCH}/normalize_modality/{{modality}}.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/normalize_modality.py"
