# scverse-native exports, after clustering: latents are written before k-means runs (it is fitted on every
# model's training latents at once), so the clusters go into new files rather than back into latent/.
# One job per export: annotating one latent takes milliseconds, importing anndata a few seconds.

# (model, k-means seed) -> its latent and its annotated copy; a baseline's one latent serves every seed.
ANNOTATED_PAIRS = [[model, seed] for model in MODELS for seed in SEEDS]
ANNOTATED = [f"{OUT}/annotated/{model}/seed{seed}.h5ad" for model, seed in ANNOTATED_PAIRS]
# The run's latents once each: (model, seed) for an autoencoder, (model, None) for a baseline.
EXPORTED_LATENTS = [[m, s] for m in AUTOENCODERS for s in SEEDS] + [[m, None] for m in BASELINES]
MUDATA = f"{OUT}/{DATASET}.h5mu"


rule annotate_latents:
    input:
        latents=[latent_path(model, seed) for model, seed in ANNOTATED_PAIRS],
        clusters=expand(f"{OUT}/clusters/{{group}}.tsv", group=GROUPS_IN_USE),
        centroids=expand(f"{OUT}/clusters/{{group}}.centroids.tsv", group=GROUPS_IN_USE),
        clinical=f"{OUT}/data/clinical.tsv",
    output:
        ANNOTATED,
    params:
        pairs=ANNOTATED_PAIRS,
    log:
        f"{LOGS}/annotate_latents.log",
    benchmark:
        f"{BENCH}/annotate_latents/annotate_latents.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/annotate_latents.py"


rule export_mudata:
    input:
        raw=expand(f"{OUT}/data/{{modality}}.h5ad", modality=MODALITIES),
        normalized=expand(f"{OUT}/normalized/{{modality}}.h5ad", modality=MODALITIES),
        clinical=f"{OUT}/data/clinical.tsv",
        split=f"{OUT}/split.tsv",
        latents=[latent_path(model, seed if seed is not None else SEEDS[0]) for model, seed in EXPORTED_LATENTS],
        annotated=ANNOTATED,
    output:
        MUDATA,
    params:
        modalities=MODALITIES,
        latents=EXPORTED_LATENTS,
        pairs=ANNOTATED_PAIRS,
    log:
        f"{LOGS}/export_mudata.log",
    benchmark:
        f"{BENCH}/export_mudata/export_mudata.tsv"
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    script:
        "../scripts/export_mudata.py"
