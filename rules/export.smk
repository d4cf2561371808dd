# scverse-native exports, after clustering: latents are written before k-means runs (it is fitted on every
# model's training latents at once), so the clusters go into new files rather than back into latent/.
# One job per export: annotating one latent takes milliseconds, importing anndata a few seconds.

# (model, k-means seed) -> its latent and its annotated copy; a baseline's one latent serves every seed.
ANNOTATED_PAIRS = PLAN.annotated_pairs
ANNOTATED = PLAN.annotated
# The run's latents once each: (model, seed) for an autoencoder, (model, None) for a baseline.
EXPORTED_LATENTS = PLAN.exported_latents
MUDATA = RUN.mudata


rule annotate_latents:
    input:
        latents=[latent_path(model, seed) for model, seed in ANNOTATED_PAIRS],
        clusters=[RUN.clusters(group) for group in GROUPS_IN_USE],
        centroids=[RUN.centroids(group) for group in GROUPS_IN_USE],
        clinical=RUN.clinical,
    output:
        ANNOTATED,
    params:
        pairs=ANNOTATED_PAIRS,
    log:
        RUN.log("annotate_latents"),
    benchmark:
        RUN.benchmark("annotate_latents")
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
        raw=[RUN.raw(modality) for modality in MODALITIES],
        normalized=[RUN.normalized(modality) for modality in MODALITIES],
        clinical=RUN.clinical,
        split=RUN.split,
        latents=[latent_path(model, seed if seed is not None else SEEDS[0]) for model, seed in EXPORTED_LATENTS],
        annotated=ANNOTATED,
    output:
        MUDATA,
    params:
        modalities=MODALITIES,
        latents=EXPORTED_LATENTS,
        pairs=ANNOTATED_PAIRS,
    log:
        RUN.log("export_mudata"),
    benchmark:
        RUN.benchmark("export_mudata")
    conda:
        "../envs/oncoae.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    script:
        "../scripts/export_mudata.py"
