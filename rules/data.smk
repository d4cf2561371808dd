# Tumors in: per-modality AnnData (raw values) + clinical table, from the simulator or from local files or
# downloads, then the train/val/test split.


if config["source"] == "simulate":

    rule simulate_cohort:
        output:
            modalities=[RUN.raw(modality) for modality in MODALITIES],
            clinical=RUN.clinical,
        params:
            simulation=canonical(config["simulation"]),
            modalities=MODALITIES,
        log:
            RUN.log("simulate_cohort"),
        benchmark:
            RUN.benchmark("simulate_cohort")
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
            RUN.clinical,
            # Tumors whose survival is not evaluable (clinical.survival.invalid), for the report.
            survival_excluded=RUN.survival_excluded,
        params:
            id_column=config["clinical"]["id_column"],
            labels=config["clinical"]["labels"],
            survival=canonical(config["clinical"]["survival"]),
            split_column=config["split"]["column"],
            stratify=config["split"]["stratify"],
            source=config["source"],
            cancer_types=config["xena"]["cancer_types"],
        log:
            RUN.log("ingest_clinical"),
        benchmark:
            RUN.benchmark("ingest_clinical")
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
            clinical=RUN.clinical,
        output:
            RUN.raw("{modality}"),
            # Counts for the report: tumors in the file, without a clinical row (dropped), kept; MAF variants.
            summary=RUN.ingest_summary("{modality}"),
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
            RUN.log("ingest_modality", "{modality}"),
        benchmark:
            RUN.benchmark("ingest_modality", "{modality}")
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
        clinical=RUN.clinical,
        modalities=[RUN.raw(modality) for modality in MODALITIES],
    output:
        RUN.split,
    params:
        split=canonical(config["split"]),
        n_clusters=config["clustering"]["k"],
    log:
        RUN.log("split_samples"),
    benchmark:
        RUN.benchmark("split_samples")
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/split_samples.py"
