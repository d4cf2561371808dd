# Figures (registered for `snakemake --report`) and the self-contained HTML report.


# Figures come in two jobs, so those of the baselines are drawn while the autoencoders still train. UMAP's
# first call in a process compiles numba code for about 10 s; per-model jobs would pay that each.
rule plot_model_figures:
    input:
        latents=lambda wildcards: [latent_path(model, SEEDS[0]) for model in models_in_group(wildcards.group)],
        clusters=f"{OUT}/clusters/{{group}}.tsv",
        k_selection=f"{OUT}/clusters/{{group}}.k_selection.tsv",
        contributions=f"{OUT}/evaluation/{{group}}.contributions.tsv",
        histories=lambda wildcards: [p for ps in histories_of_group(wildcards.group).values() for p in ps],
    output:
        report(
            directory(f"{OUT}/figures/{{group}}"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
            subcategory="{group}",
        ),
    params:
        models=lambda wildcards: models_in_group(wildcards.group),
        seeds=SEEDS,
        histories=lambda wildcards: histories_of_group(wildcards.group),
        labels=config["clinical"]["labels"],
        survival=canonical(config["clinical"]["survival"]),
        umap_seed=config["report"]["umap_seed"],
    log:
        f"{LOGS}/plot_model_figures/{{group}}.log",
    benchmark:
        f"{BENCH}/plot_model_figures/{{group}}.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/plot_model_figures.py"


rule plot_comparison:
    input:
        summary=f"{OUT}/evaluation/summary.tsv",
    output:
        report(
            directory(f"{OUT}/figures/comparison"),
            patterns=["{name}.png"],
            caption="../report/comparison.rst",
            category="Evaluation",
        ),
    params:
        labels=config["clinical"]["labels"],
        survival=canonical(config["clinical"]["survival"]),
    log:
        f"{LOGS}/plot_comparison.log",
    benchmark:
        f"{BENCH}/plot_comparison/plot_comparison.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/plot_comparison.py"


rule render_report:
    input:
        summary=f"{OUT}/evaluation/summary.tsv",
        figures=expand(f"{OUT}/figures/{{group}}", group=["comparison", *GROUPS_IN_USE]),
        contributions=expand(f"{OUT}/evaluation/{{group}}.contributions.tsv", group=GROUPS_IN_USE),
        leiden=expand(f"{OUT}/evaluation/{{group}}.leiden.tsv", group=GROUPS_IN_USE),
        enrichment=expand(f"{OUT}/evaluation/{{group}}.enrichment.tsv", group=GROUPS_IN_USE),
        characterization=expand(f"{OUT}/characterization/{{group}}.tsv", group=GROUPS_IN_USE),
        split=f"{OUT}/split.tsv",
        modalities=expand(f"{OUT}/data/{{modality}}.h5ad", modality=MODALITIES),
        normalized=expand(f"{OUT}/normalized/{{modality}}.h5ad", modality=MODALITIES),
        tuning=tuning_report_inputs(),
        # Empty unless evaluation.tumor_type is set (rules/evaluate.smk).
        tumor_types=TUMOR_TYPE_TARGETS,
        # Empty unless attributions are on (rules/common.smk).
        attributions=ATTRIBUTIONS,
        # What ingestion left out: written for every source but the simulator (rules/data.smk).
        survival_excluded=[] if config["source"] == "simulate" else f"{OUT}/data/survival_excluded.tsv",
        ingest=(
            [] if config["source"] == "simulate" else expand(f"{OUT}/data/{{modality}}.ingest.tsv", modality=MODALITIES)
        ),
    output:
        f"{OUT}/report.html",
    params:
        dataset=DATASET,
        modalities=MODALITIES,
        labels=config["clinical"]["labels"],
        survival=canonical(config["clinical"]["survival"]),
        alpha=config["evaluation"]["alpha"],
        config_text=config_as_text(),
        workflow_dir=workflow.basedir,
        input_files=input_files(),
        benchmark_dir=BENCH,
        tuning=tuning_report_files(),
        seeds=SEEDS,
        tumor_type=TUMOR_TYPE,
        tumor_type_tables=TUMOR_TYPE_TABLES if TUMOR_TYPE else {},
        tumor_type_confusion=TUMOR_TYPE_CONFUSION,
        tumor_type_models=TUMOR_TYPE_MODELS if TUMOR_TYPE else [],
        tumor_type_figures=TUMOR_TYPE_FIGURES,
        attributed=ATTRIBUTED,
        # <OUT>/attribution, from an input's path (<OUT>/attribution/<model>/<file>); unused when none is attributed.
        attribution_dir=lambda wildcards, input: (
            str(Path(input.attributions[0]).parents[1]) if input.attributions else ""
        ),
        attribution_method=config["attribution"]["method"],
        notes=[
            "Kernel PCA is fitted on at most "
            f"{config['models']['baseline']['max_train_samples']} training tumors (a random subsample beyond that)."
        ],
    log:
        f"{LOGS}/render_report.log",
    benchmark:
        f"{BENCH}/render_report/render_report.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/render_report.py"
