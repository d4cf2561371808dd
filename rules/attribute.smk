# Which input features drive each latent dimension, cluster and supervised head of the autoencoders, on held-out
# tumors (integrated gradients from the training-mean baseline; oncoae/evaluation/attribution.py). One job for
# every attributed autoencoder and seed: the clusters table it reads is rewritten whenever any autoencoder
# changes, and the imports (torch, anndata, scanpy, matplotlib) cost more than the attributions.


if ATTRIBUTED:

    rule attribute_features:
        input:
            models=[RUN.checkpoint(model, seed) for model in ATTRIBUTED for seed in SEEDS],
            normalized=[RUN.normalized(modality) for modality in MODALITIES],
            # The simulator's ground truth (var columns subtype_signal, risk_program) for validation.tsv.
            raw=[RUN.raw(modality) for modality in MODALITIES] if config["source"] == "simulate" else [],
            split=RUN.split,
            clusters=RUN.clusters("autoencoders"),
            centroids=RUN.centroids("autoencoders"),
        output:
            tables=[path for path in ATTRIBUTIONS if not path.endswith(".png")],
            figures=[
                report(path, caption="../report/attribution.rst", category="Attributions")
                for path in ATTRIBUTIONS
                if path.endswith(".png")
            ],
        params:
            models=ATTRIBUTED,
            seeds=SEEDS,
            modalities=MODALITIES,
            settings=canonical({k: v for k, v in config["attribution"].items() if k not in ("enabled", "models")}),
            validate=config["source"] == "simulate",
        log:
            RUN.log("attribute_features"),
        benchmark:
            RUN.benchmark("attribute_features")
        conda:
            "../envs/oncoae.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=30,
        script:
            "../scripts/attribute_features.py"
