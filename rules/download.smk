# Downloads into the shared cache (config download.cache_dir): retried, checksummed, renamed only when complete.
# Once cached, nothing here runs again, and a re-run works offline.


rule download_xena_dataset:
    output:
        f"{CACHE}/xena/{{host}}/{{dataset_file}}",
    params:
        urls=lambda wildcards: PLAN.xena_download(wildcards.dataset_file)["urls"],
        sha256=lambda wildcards: PLAN.xena_download(wildcards.dataset_file)["sha256"],
        retry=canonical(config["download"]["retry"]),
    log:
        f"{CACHE}/logs/xena/{{host}}/{{dataset_file}}.log",
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=120,
    script:
        "../scripts/download_file.py"


rule download_cbioportal_study:
    output:
        directory(f"{CACHE}/cbioportal/{{study}}"),
    params:
        url=lambda wildcards: PLAN.cbioportal_url(wildcards.study),
        archive=lambda wildcards: PLAN.cbioportal_archive(wildcards.study),
        sha256=lambda wildcards: config["download"]["sha256"].get(wildcards.study),
        retry=canonical(config["download"]["retry"]),
    log:
        f"{CACHE}/logs/cbioportal/{{study}}.log",
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=120,
    script:
        "../scripts/download_study.py"
