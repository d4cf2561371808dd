# Which input features drive each latent dimension, cluster and supervised head of the autoencoders, on held-out
# tumors (integrated gradients from the training-mean baseline; oncoae/evaluation/attribution.py). One job for
# every attributed autoencoder and seed: the clusters table it reads is rewritten whenever any autoencoder
# changes, and the imports (torch, anndata, scanpy, matplotlib) cost more than the attributions.


if ATTRIBUTED:

    rule attribute_features:
        input:
            models=expand(f"{OUT}/models/{{model}}/seed{{seed}}/model.pt", model=ATTRIBUTED, seed=SEEDS),
            normalized=expand(f"{OUT}/normalized/{{modality}}.h5ad", modality=MODALITIES),
            # The simulator's ground truth (var columns subtype_signal, risk_program) for validation.tsv.
            raw=expand(f"{OUT}/data/{{modality}}.h5ad", modality=MODALITIES) if config["source"] == "simulate" else [],
            split=f"{OUT}/split.tsv",
            clusters=f"{OUT}/clusters/autoencoders.tsv",
            centroids=f"{OUT}/clusters/autoencoders.centroids.tsv",
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
            f"{LOGS}/attribute_features.log",
        benchmark:
            f"{BENCH}/attribute_features/attribute_features.tsv"
        conda:
            "../envs/oncoae.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=30,
        script:
            "../scripts/attribute_features.py"
