# One normalizer per modality, fitted on training tumors; every tumor normalized with it.


rule normalize_modality:
    input:
        raw=RUN.raw("{modality}"),
        clinical=RUN.clinical,
        split=RUN.split,
    output:
        adata=RUN.normalized("{modality}"),
        normalizer=RUN.normalizer("{modality}"),
    params:
        normalization=lambda wildcards: canonical(config["modalities"][wildcards.modality]["normalization"]),
    log:
        RUN.log("normalize_modality", "{modality}"),
    benchmark:
        RUN.benchmark("normalize_modality", "{modality}")
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/normalize_modality.py"
