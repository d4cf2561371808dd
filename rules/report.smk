# Figures (registered for `snakemake --report`) and the self-contained HTML report.


# Figures come in two jobs, so those of the baselines are drawn while the autoencoders still train. UMAP's
# first call in a process compiles numba code for about 10 s; per-model jobs would pay that each.
rule plot_model_figures:
    input:
        latents=lambda wildcards: [latent_path(model, SEEDS[0]) for model in models_in_group(wildcards.group)],
        clusters=RUN.clusters("{group}"),
        k_selection=RUN.k_selection("{group}"),
        contributions=RUN.contributions("{group}"),
        histories=lambda wildcards: [p for ps in PLAN.histories_of_group(wildcards.group).values() for p in ps],
    output:
        report(
            directory(RUN.figure_dir("{group}")),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
            subcategory="{group}",
        ),
    params:
        models=lambda wildcards: models_in_group(wildcards.group),
        seeds=SEEDS,
        histories=lambda wildcards: PLAN.histories_of_group(wildcards.group),
        labels=config["clinical"]["labels"],
        survival=canonical(config["clinical"]["survival"]),
        umap_seed=config["report"]["umap_seed"],
    log:
        RUN.log("plot_model_figures", "{group}"),
    benchmark:
        RUN.benchmark("plot_model_figures", "{group}")
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
        summary=RUN.summary,
    output:
        report(
            directory(RUN.figure_dir("comparison")),
            patterns=["{name}.png"],
            caption="../report/comparison.rst",
            category="Evaluation",
        ),
    params:
        labels=config["clinical"]["labels"],
        survival=canonical(config["clinical"]["survival"]),
    log:
        RUN.log("plot_comparison"),
    benchmark:
        RUN.benchmark("plot_comparison")
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
        summary=RUN.summary,
        figures=[RUN.figure_dir(group) for group in ["comparison", *GROUPS_IN_USE]],
        contributions=[RUN.contributions(group) for group in GROUPS_IN_USE],
        leiden=[RUN.leiden(group) for group in GROUPS_IN_USE],
        enrichment=[RUN.enrichment(group) for group in GROUPS_IN_USE],
        characterization=[RUN.characterization(group) for group in GROUPS_IN_USE],
        split=RUN.split,
        modalities=[RUN.raw(modality) for modality in MODALITIES],
        normalized=[RUN.normalized(modality) for modality in MODALITIES],
        tuning=PLAN.tuning_report_inputs(),
        # Empty unless evaluation.tumor_type is set (rules/evaluate.smk).
        tumor_types=PLAN.tumor_type_targets,
        # Empty unless attributions are on (rules/attribute.smk).
        attributions=ATTRIBUTIONS,
        # What ingestion left out: written for every source but the simulator (rules/data.smk).
        survival_excluded=[] if config["source"] == "simulate" else RUN.survival_excluded,
        ingest=[] if config["source"] == "simulate" else [RUN.ingest_summary(modality) for modality in MODALITIES],
    output:
        RUN.report,
    params:
        dataset=PLAN.dataset,
        modalities=MODALITIES,
        labels=config["clinical"]["labels"],
        survival=canonical(config["clinical"]["survival"]),
        alpha=config["evaluation"]["alpha"],
        config_text=PLAN.config_text(),
        workflow_dir=workflow.basedir,
        input_files=PLAN.input_files(),
        benchmark_dir=RUN.benchmarks_dir,
        tuning=PLAN.tuning_report_files(),
        seeds=SEEDS,
        tumor_type=TUMOR_TYPE,
        tumor_type_tables=PLAN.tumor_type_tables if TUMOR_TYPE else {},
        tumor_type_confusion=PLAN.tumor_type_confusion,
        tumor_type_models=PLAN.tumor_type_models if TUMOR_TYPE else [],
        tumor_type_figures=RUN.figure_dir("tumor_types"),
        attributed=ATTRIBUTED,
        # Unused when no model is attributed (a param of an input function: Snakemake does not compare it).
        attribution_dir=lambda wildcards, input: RUN.attribution_dir if input.attributions else "",
        attribution_method=config["attribution"]["method"],
        notes=[note for note in (PLAN.supervision_note(), PLAN.kernel_pca_note()) if note],
    log:
        RUN.log("render_report"),
    benchmark:
        RUN.benchmark("render_report")
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/render_report.py"
