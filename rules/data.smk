# Tumors in: per-modality AnnData (raw values) + clinical table, then the train/val/test split.


rule simulate_cohort:
    output:
        modalities=expand(f"{OUT}/data/{{modality}}.h5ad", modality=MODALITIES),
        clinical=f"{OUT}/data/clinical.tsv",
    params:
        simulation=canonical(config["simulation"]),
        modalities=MODALITIES,
    log:
        f"{LOGS}/simulate_cohort.log",
    benchmark:
        f"{BENCH}/simulate_cohort/simulate_cohort.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/simulate_cohort.py"


rule split_samples:
    input:
        clinical=f"{OUT}/data/clinical.tsv",
        modalities=expand(f"{OUT}/data/{{modality}}.h5ad", modality=MODALITIES),
    output:
        f"{OUT}/split.tsv",
    params:
        split=canonical(config["split"]),
    log:
        f"{LOGS}/split_samples.log",
    benchmark:
        f"{BENCH}/split_samples/split_samples.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/split_samples.py"
