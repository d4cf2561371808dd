# Clusters and held-out metrics for every model of a group (autoencoders, baselines) over its seeds, then one
# tidy summary table. Clustering and scoring one model take a fraction of a second, while importing anndata,
# scikit-learn and lifelines takes seconds: one job per group instead of per model saves about a minute of CPU
# on the demo, and the baselines are scored while the autoencoders still train.


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
        evaluation=canonical({k: v for k, v in config["evaluation"].items() if k != "characterize_top"}),
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
