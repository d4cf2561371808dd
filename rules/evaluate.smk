# Clusters and held-out metrics per model over its seeds, then one tidy summary table.
# Clustering and scoring share one job: each takes a fraction of a second, while importing
# anndata, scikit-learn and lifelines takes seconds.


rule cluster_and_evaluate:
    input:
        latents=latents_of,
    output:
        clusters=f"{OUT}/clusters/{{model}}.tsv",
        k_selection=f"{OUT}/clusters/{{model}}.k_selection.tsv",
        metrics=f"{OUT}/evaluation/{{model}}.tsv",
    params:
        seeds=SEEDS,
        clustering=config["clustering"],
        labels=config["clinical"]["labels"],
        survival=config["clinical"]["survival"],
        cox_penalizer=config["evaluation"]["cox_penalizer"],
    log:
        f"{LOGS}/cluster_and_evaluate/{{model}}.log",
    benchmark:
        f"{BENCH}/cluster_and_evaluate/{{model}}.tsv"
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
        expand(f"{OUT}/evaluation/{{model}}.tsv", model=MODELS),
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
