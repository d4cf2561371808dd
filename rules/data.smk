# Tumors in: per-modality AnnData (raw values) + clinical table, from the simulator or from local files or
# downloads, then the train/val/test split.


if config["source"] == "simulate":

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

else:

    rule ingest_clinical:
        input:
            unpack(clinical_sources),
        output:
            f"{OUT}/data/clinical.tsv",
            # Tumors whose survival is not evaluable (clinical.survival.invalid), for the report.
            survival_excluded=f"{OUT}/data/survival_excluded.tsv",
        params:
            id_column=config["clinical"]["id_column"],
            labels=config["clinical"]["labels"],
            survival=canonical(config["clinical"]["survival"]),
            split_column=config["split"]["column"],
            stratify=config["split"]["stratify"],
            source=config["source"],
            cancer_types=config["xena"]["cancer_types"],
        log:
            f"{LOGS}/ingest_clinical.log",
        benchmark:
            f"{BENCH}/ingest_clinical/ingest_clinical.tsv"
        conda:
            "../envs/oncoae.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        script:
            "../scripts/ingest_clinical.py"

    rule ingest_modality:
        input:
            table=modality_source,
            clinical=f"{OUT}/data/clinical.tsv",
        output:
            f"{OUT}/data/{{modality}}.h5ad",
            # Counts for the report: tumors in the file, without a clinical row (dropped), kept; MAF variants.
            summary=f"{OUT}/data/{{modality}}.ingest.tsv",
        params:
            orientation=lambda wildcards: config["modalities"][wildcards.modality]["orientation"],
            keep_normals=config["harmonize"]["keep_normals"],
            file_format=lambda wildcards: config["modalities"][wildcards.modality]["format"],
            # Binary modalities (mutations) are stored as sparse matrices.
            kind=lambda wildcards: config["modalities"][wildcards.modality]["kind"],
            file_in_study=lambda wildcards: (
                config["modalities"][wildcards.modality]["cbioportal_file"] if config["source"] == "cbioportal" else None
            ),
        log:
            f"{LOGS}/ingest_modality/{{modality}}.log",
        benchmark:
            f"{BENCH}/ingest_modality/{{modality}}.tsv"
        conda:
            "../envs/oncoae.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        script:
            "../scripts/ingest_modality.py"


rule split_samples:
    input:
        clinical=f"{OUT}/data/clinical.tsv",
        modalities=expand(f"{OUT}/data/{{modality}}.h5ad", modality=MODALITIES),
    output:
        f"{OUT}/split.tsv",
    params:
        split=canonical(config["split"]),
        n_clusters=config["clustering"]["k"],
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
