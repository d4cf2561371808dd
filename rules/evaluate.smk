# Clusters and held-out metrics for every model of a group (autoencoders, baselines) over its seeds, then one
# tidy summary table. Clustering and scoring one model take a fraction of a second, while importing anndata,
# scikit-learn and lifelines takes seconds: one job per group instead of per model saves about a minute of CPU
# on the demo, and the baselines are scored while the autoencoders still train.


# Keys read only by the tumor-type rules below: changing them re-runs nothing else.
TUMOR_TYPE_KEYS = ("tumor_type", "within_type", "within_type_k")


rule cluster_and_evaluate:
    input:
        latents=lambda wildcards: [latent_path(m, s) for m in models_in_group(wildcards.group) for s in SEEDS],
    output:
        clusters=f"{OUT}/clusters/{{group}}.tsv",
        k_selection=f"{OUT}/clusters/{{group}}.k_selection.tsv",
        centroids=f"{OUT}/clusters/{{group}}.centroids.tsv",
        metrics=f"{OUT}/evaluation/{{group}}.tsv",
        contributions=f"{OUT}/evaluation/{{group}}.contributions.tsv",
        leiden=f"{OUT}/evaluation/{{group}}.leiden.tsv",
        enrichment=f"{OUT}/evaluation/{{group}}.enrichment.tsv",
    params:
        models=lambda wildcards: models_in_group(wildcards.group),
        seeds=SEEDS,
        clustering=canonical(config["clustering"]),
        clinical=canonical({k: config["clinical"][k] for k in ("labels", "survival")}),
        evaluation=canonical(
            {k: v for k, v in config["evaluation"].items() if k not in ("characterize_top", *TUMOR_TYPE_KEYS)}
        ),
    log:
        f"{LOGS}/cluster_and_evaluate/{{group}}.log",
    benchmark:
        f"{BENCH}/cluster_and_evaluate/{{group}}.tsv"
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
        expand(f"{OUT}/evaluation/{{group}}.tsv", group=GROUPS_IN_USE),
    output:
        report(
            f"{OUT}/evaluation/summary.tsv",
            caption="../report/summary.rst",
            category="Evaluation",
        ),
    log:
        f"{LOGS}/summarize_evaluation.log",
    benchmark:
        f"{BENCH}/summarize_evaluation/summarize_evaluation.tsv"
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
        clusters=f"{OUT}/clusters/{{group}}.tsv",
        normalized=expand(f"{OUT}/normalized/{{modality}}.h5ad", modality=MODALITIES),
    output:
        f"{OUT}/characterization/{{group}}.tsv",
    params:
        models=lambda wildcards: models_in_group(wildcards.group),
        modalities=MODALITIES,
        modalities_of=lambda wildcards: {m: modalities_of(m) for m in models_in_group(wildcards.group)},
        n_top=config["evaluation"]["characterize_top"],
    log:
        f"{LOGS}/characterize_clusters/{{group}}.log",
    benchmark:
        f"{BENCH}/characterize_clusters/{{group}}.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/characterize_clusters.py"


# Tumor types (evaluation.tumor_type, off by default): held-out classification by the classification head, by
# logistic regression on training latents and on each normalized modality, k-means with k = number of types,
# and subtypes within evaluation.within_type; then a confusion matrix per model and method and a UMAP by type.
TUMOR_TYPE = config["evaluation"]["tumor_type"]
TUMOR_TYPE_DIR = f"{OUT}/evaluation/tumor_types"
TUMOR_TYPE_FIGURES = f"{OUT}/figures/tumor_types"
TUMOR_TYPE_MODELS = [*AUTOENCODERS, *BASELINES]
# Confusion figures by name: (model, method), methods head (classification heads on the type), latent_lr, raw_lr.
TUMOR_TYPE_CONFUSION = tumor_type_plan(config, MODELS, MODEL_CONFIG) if TUMOR_TYPE else {}
TUMOR_TYPE_TABLES = {
    name: f"{TUMOR_TYPE_DIR}/{name}.tsv" for name in ("metrics", "recall", "confusion", "within_type")
}
TUMOR_TYPE_TARGETS = (
    [
        *TUMOR_TYPE_TABLES.values(),
        *[f"{TUMOR_TYPE_FIGURES}/confusion_{name}.png" for name in TUMOR_TYPE_CONFUSION],
        *[f"{TUMOR_TYPE_FIGURES}/umap_{model}.png" for model in TUMOR_TYPE_MODELS],
    ]
    if TUMOR_TYPE
    else []
)


if TUMOR_TYPE:

    rule evaluate_tumor_types:
        input:
            latents=[latent_path(m, s) for m in TUMOR_TYPE_MODELS for s in SEEDS],
            normalized=expand(f"{OUT}/normalized/{{modality}}.h5ad", modality=MODALITIES),
        output:
            **TUMOR_TYPE_TABLES,
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
            f"{LOGS}/evaluate_tumor_types.log",
        benchmark:
            f"{BENCH}/evaluate_tumor_types/evaluate_tumor_types.tsv"
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
            confusion=TUMOR_TYPE_TABLES["confusion"],
            latents=[latent_path(m, SEEDS[0]) for m in TUMOR_TYPE_MODELS],
        output:
            confusion=[f"{TUMOR_TYPE_FIGURES}/confusion_{name}.png" for name in TUMOR_TYPE_CONFUSION],
            umap=[f"{TUMOR_TYPE_FIGURES}/umap_{model}.png" for model in TUMOR_TYPE_MODELS],
        params:
            label=TUMOR_TYPE,
            models=TUMOR_TYPE_MODELS,
            seeds=SEEDS,
            confusion_names=list(TUMOR_TYPE_CONFUSION),
            confusion_plan=TUMOR_TYPE_CONFUSION,
            umap_seed=config["report"]["umap_seed"],
        log:
            f"{LOGS}/plot_tumor_types.log",
        benchmark:
            f"{BENCH}/plot_tumor_types/plot_tumor_types.tsv"
        conda:
            "../envs/oncoae.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        script:
            "../scripts/plot_tumor_types.py"
