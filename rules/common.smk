# Shared by all stages: config validation, what to build, input functions.
import yaml
from snakemake.utils import validate

from oncoae.config_check import check_config_keys
from oncoae.workflow import (
    cache_name,
    cbioportal_study_url,
    export_package_path,
    host_of,
    plan_models,
    xena_dataset_urls,
)

with open(workflow.source_path("../config/schema.yaml")) as schema_file:
    check_config_keys(config, yaml.safe_load(schema_file))
validate(config, workflow.source_path("../config/schema.yaml"), set_default=True)

# Jobs (local or on a cluster) import the package from the workflow folder, installed or not.
export_package_path(workflow.basedir)

DATASET = config["dataset"]
OUT = f"results/{DATASET}"
LOGS = f"{OUT}/logs"
BENCH = f"{OUT}/benchmarks"
WORK = f"{OUT}/.work"  # resumable checkpoints: outside declared outputs, which Snakemake removes on failure
MODALITIES = list(config["modalities"])
CACHE = config["download"]["cache_dir"]  # shared between data sets and runs
MODELS = plan_models(config)
AUTOENCODERS = [name for name, plan in MODELS.items() if plan.is_autoencoder]
BASELINES = [name for name, plan in MODELS.items() if not plan.is_autoencoder]
SEEDS = [int(seed) for seed in config["seeds"]]
USES_GPU = config["training"]["accelerator"] == "gpu"


def _alternatives(names):
    return "|".join(sorted(names)) or "^$"


def canonical(value):
    """Config sections as params, with dict keys sorted: Snakemake compares params as text, and reordering keys
    in a config file must not retrain anything."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def modalities_of(model):
    return list(MODELS[model].modalities)


def normalized_inputs(wildcards):
    model = getattr(wildcards, "autoencoder", None) or getattr(wildcards, "baseline", None)
    return expand(f"{OUT}/normalized/{{modality}}.h5ad", modality=modalities_of(model))


def latent_path(model, seed):
    """Autoencoders have one latent per seed; baselines are deterministic and have one latent in all."""
    if MODELS[model].is_autoencoder:
        return f"{OUT}/latent/{model}/seed{seed}.h5ad"
    return f"{OUT}/latent/{model}/baseline.h5ad"


# Training settings that change how a job runs but not the model it produces: changing them retrains nothing
# (the training script reads them from the config).
OPERATIONAL_TRAINING_KEYS = ("threads", "progress_bar", "checkpoint_every_n_epochs")


def autoencoder_params(model):
    """The config that shapes one autoencoder, and nothing else: a change elsewhere must not retrain it."""
    return canonical(
        {
            "architecture": config["architecture"],
            "training": {k: v for k, v in config["training"].items() if k not in OPERATIONAL_TRAINING_KEYS},
            "kinds": {m: config["modalities"][m]["kind"] for m in modalities_of(model)},
        }
    )


def config_as_text():
    return yaml.safe_dump(config, sort_keys=False)


# Models are evaluated and drawn in groups, so the many cheap steps share their imports.
MODEL_GROUPS = {"autoencoders": AUTOENCODERS, "baselines": BASELINES}
GROUPS_IN_USE = [group for group, models in MODEL_GROUPS.items() if models]


def models_in_group(group):
    return MODEL_GROUPS[group]


def histories_of_group(group):
    """Training histories by autoencoder (the baselines have none)."""
    models = AUTOENCODERS if group == "autoencoders" else []
    return {model: [f"{OUT}/models/{model}/seed{seed}/history.tsv" for seed in SEEDS] for model in models}


def xena_cache_path(dataset):
    return f"{CACHE}/xena/{host_of(config['xena']['hub'])}/{cache_name(dataset)}"


def cbioportal_study_dir():
    return f"{CACHE}/cbioportal/{config['cbioportal']['study']}"


def modality_source(wildcards):
    """The file a modality is read from: the user's, or the download cache's."""
    spec = config["modalities"][wildcards.modality]
    if config["source"] == "xena":
        return xena_cache_path(spec["xena_dataset"])
    if config["source"] == "cbioportal":
        return cbioportal_study_dir()
    return spec["path"]


def clinical_sources(wildcards):
    if config["source"] == "xena":
        sources = {"table": xena_cache_path(config["xena"]["clinical_dataset"])}
        if config["xena"]["subtype_dataset"]:
            sources["subtypes"] = xena_cache_path(config["xena"]["subtype_dataset"])
        return sources
    if config["source"] == "cbioportal":
        return {"table": cbioportal_study_dir()}
    return {"table": config["clinical"]["path"]}


def xena_download_params(wildcards):
    from urllib.parse import unquote

    dataset = unquote(wildcards.dataset_file)
    return {"urls": xena_dataset_urls(config["xena"]["hub"], dataset), "sha256": config["download"]["sha256"].get(dataset)}


def input_files():
    """The files the run started from, for the report's checksums."""
    if config["source"] == "local":
        return [config["clinical"]["path"]] + [config["modalities"][m]["path"] for m in MODALITIES]
    if config["source"] == "xena":
        datasets = [config["xena"]["clinical_dataset"], config["xena"]["subtype_dataset"]]
        datasets += [config["modalities"][m]["xena_dataset"] for m in MODALITIES]
        return [xena_cache_path(d) for d in datasets if d]
    if config["source"] == "cbioportal":
        return [f"{CACHE}/cbioportal/{config['cbioportal']['study']}.tar.gz"]
    return expand(f"{OUT}/data/{{modality}}.h5ad", modality=MODALITIES) + [f"{OUT}/data/clinical.tsv"]


def get_final_output():
    return [f"{OUT}/evaluation/summary.tsv", f"{OUT}/report.html"]
