# Clusters and held-out metrics for every model of a group (autoencoders, baselines) over its seeds, then one
# tidy summary table. Clustering and scoring one model take a fraction of a second, while importing anndata,
# scikit-learn and lifelines takes seconds: one job per group instead of per model saves about a minute of CPU
# on the demo, and the baselines are scored while the autoencoders still train.


rule cluster_and_evaluate:
    input:
        latents=lambda wildcards: [latent_path(m, s) for m in models_in_group(wildcards.group) for s in SEEDS],
    output:
        clusters=RUN.clusters("{group}"),
        k_selection=RUN.k_selection("{group}"),
        centroids=RUN.centroids("{group}"),
        metrics=RUN.metrics("{group}"),
        contributions=RUN.contributions("{group}"),
        leiden=RUN.leiden("{group}"),
        enrichment=RUN.enrichment("{group}"),
    params:
        models=lambda wildcards: models_in_group(wildcards.group),
        seeds=SEEDS,
        clustering=canonical(config["clustering"]),
        clinical=canonical({k: config["clinical"][k] for k in ("labels", "survival")}),
        evaluation=PLAN.evaluation_params(),
    log:
        RUN.log("cluster_and_evaluate", "{group}"),
    benchmark:
        RUN.benchmark("cluster_and_evaluate", "{group}")
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/cluster_and_evaluate.py"


rule summarize_evaluation:
    input:
        [RUN.metrics(group) for group in GROUPS_IN_USE],
    output:
        report(
            RUN.summary,
            caption="../report/summary.rst",
            category="Evaluation",
        ),
    log:
        RUN.log("summarize_evaluation"),
    benchmark:
        RUN.benchmark("summarize_evaluation")
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/summarize_evaluation.py"


# Top features per cluster and modality of every model of a group (first seed), on normalized held-out inputs.
rule characterize_clusters:
    input:
        clusters=RUN.clusters("{group}"),
        normalized=[RUN.normalized(modality) for modality in MODALITIES],
    output:
        RUN.characterization("{group}"),
    params:
        models=lambda wildcards: models_in_group(wildcards.group),
        modalities=MODALITIES,
        modalities_of=lambda wildcards: {m: modalities_of(m) for m in models_in_group(wildcards.group)},
        n_top=config["evaluation"]["characterize_top"],
    log:
        RUN.log("characterize_clusters", "{group}"),
    benchmark:
        RUN.benchmark("characterize_clusters", "{group}")
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/characterize_clusters.py"


# Tumor types (evaluation.tumor_type, off by default): held-out classification by the classification head, by
# logistic regression on training latents and on each normalized modality, k-means with k = the number of types,
# and subtypes within evaluation.within_type; then a confusion matrix per model and method and a UMAP by type.
if TUMOR_TYPE:
    # Confusion figures by name: (model, method), methods head (classification heads on the type), latent_lr, raw_lr.
    TUMOR_TYPE_CONFUSION = PLAN.tumor_type_confusion
    TUMOR_TYPE_MODELS = PLAN.tumor_type_models

    rule evaluate_tumor_types:
        input:
            latents=[latent_path(m, s) for m in TUMOR_TYPE_MODELS for s in SEEDS],
            normalized=[RUN.normalized(modality) for modality in MODALITIES],
        output:
            **PLAN.tumor_type_tables,
        params:
            label=TUMOR_TYPE,
            models=TUMOR_TYPE_MODELS,
            head_models=[model for model, method in TUMOR_TYPE_CONFUSION.values() if method == "head"],
            seeds=SEEDS,
            modalities=MODALITIES,
            kinds={m: config["modalities"][m]["kind"] for m in MODALITIES},
            within_type=config["evaluation"]["within_type"],
            within_type_k=config["evaluation"]["within_type_k"],
            k_range=config["clustering"]["k_range"],
            n_init=config["clustering"]["n_init"],
            survival=canonical(config["clinical"]["survival"]),
            permutations=config["evaluation"]["permutations"],
            max_permutations=config["evaluation"]["max_permutations"],
        log:
            RUN.log("evaluate_tumor_types"),
        benchmark:
            RUN.benchmark("evaluate_tumor_types")
        conda:
            "../envs/oncoae.yaml"
        threads: 1
        resources:
            mem_mb=3000,
            runtime=30,
        script:
            "../scripts/evaluate_tumor_types.py"

    rule plot_tumor_types:
        input:
            confusion=PLAN.tumor_type_tables["confusion"],
            latents=[latent_path(m, SEEDS[0]) for m in TUMOR_TYPE_MODELS],
        output:
            **PLAN.tumor_type_figures(),
        params:
            label=TUMOR_TYPE,
            models=TUMOR_TYPE_MODELS,
            seeds=SEEDS,
            confusion_names=list(TUMOR_TYPE_CONFUSION),
            confusion_plan=TUMOR_TYPE_CONFUSION,
            umap_seed=config["report"]["umap_seed"],
        log:
            RUN.log("plot_tumor_types"),
        benchmark:
            RUN.benchmark("plot_tumor_types")
        conda:
            "../envs/oncoae.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        script:
            "../scripts/plot_tumor_types.py"
