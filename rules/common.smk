# Shared by all stages: config validation, what to build, input functions.
from pathlib import Path

import yaml
from snakemake.utils import validate

from oncoae.config_check import SIMULATED_CLINICAL_COLUMNS, config_errors_in_one_line, read_header
from oncoae.workflow import (
    attributed_models,
    cache_name,
    cbioportal_study_url,
    check_config,
    check_configured_columns,
    export_package_path,
    host_of,
    tumor_type_plan,
    xena_dataset_urls,
)

SCHEMA_PATH = workflow.source_path("../config/schema.yaml")
with open(SCHEMA_PATH) as schema_file:
    SCHEMA = yaml.safe_load(schema_file)


def validate_config(settings):
    validate(settings, SCHEMA_PATH, set_default=True)


# Config errors end the run with their message alone (oncoae.config_check.config_errors_in_one_line).
with config_errors_in_one_line():
    MODELS, MODEL_CONFIG = check_config(config, SCHEMA, validate_config)

# Jobs (local or on a cluster) import the package from the workflow folder, installed or not.
export_package_path(workflow.basedir)

DATASET = config["dataset"]
OUT = f"results/{DATASET}"
LOGS = f"{OUT}/logs"
BENCH = f"{OUT}/benchmarks"
WORK = f"{OUT}/.work"  # resumable checkpoints: outside declared outputs, which Snakemake removes on failure
MODALITIES = list(config["modalities"])
CACHE = config["download"]["cache_dir"]  # shared between data sets and runs
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
OPERATIONAL_TRAINING_KEYS = ("threads", "progress_bar", "checkpoint_every_n_epochs", "tensorboard")


def autoencoder_params(model):
    """The config that shapes one autoencoder, and nothing else: a change elsewhere must not retrain it."""
    model_config = MODEL_CONFIG[model]
    heads = model_config["heads"]
    return canonical(
        {
            "architecture": model_config["architecture"],
            "training": {k: v for k, v in model_config["training"].items() if k not in OPERATIONAL_TRAINING_KEYS},
            "heads": {
                "cox": heads["cox"]["weight"],
                "classification": heads["classification"]["weight"],
                "label": heads["classification"]["label"] if heads["classification"]["weight"] > 0 else None,
                "survival": config["clinical"]["survival"] if heads["cox"]["weight"] > 0 else None,
            },
            "kinds": {m: config["modalities"][m]["kind"] for m in modalities_of(model)},
            "losses": {m: config["modalities"][m]["loss"] for m in modalities_of(model)},
        }
    )


def config_as_text():
    return yaml.safe_dump(config, sort_keys=False)


# Hyperparameter search (rules/tune.smk): off unless tuning.models names an autoencoder.
TUNING = config["tuning"]["models"]  # checked with the rest of the config (oncoae.workflow.check_config)
TUNED = list(TUNING)


def tuning_dir(model):
    return f"{OUT}/tuning/{model}"


def tuning_settings(model):
    """A model's search settings as params: n_workers only sets how many jobs run, so it is left out."""
    return canonical({key: value for key, value in TUNING[model].items() if key not in ("space", "n_workers")})


def trials_per_worker(model):
    """About how many models one worker trains (its jobs ask for that many training runtimes)."""
    return -(-TUNING[model]["n_trials"] // TUNING[model]["n_workers"])


def tuning_worker_outputs(wildcards):
    n_workers = TUNING[wildcards.autoencoder]["n_workers"]
    return expand(f"{tuning_dir(wildcards.autoencoder)}/worker{{worker}}.tsv", worker=range(n_workers))


def tuned_hyperparameters(wildcards):
    """The best trial's values, an extra input of a tuned model's training only (no other model retrains)."""
    if wildcards.autoencoder in TUNING:
        return {"best": f"{tuning_dir(wildcards.autoencoder)}/best.yaml"}
    return {}


def untuned_twins(model):
    """Untuned autoencoders built exactly as ``model`` before tuning (e.g. a variant with no overrides): the
    report compares the tuned model with them."""
    return [
        other
        for other in AUTOENCODERS
        if other != model
        and other not in TUNING
        and modalities_of(other) == modalities_of(model)
        and autoencoder_params(other) == autoencoder_params(model)
    ]


TUNING_FILES = ("best.yaml", "trials.tsv", "importances.tsv", "history.png", "importance.png")


def tuning_report_files():
    """By tuned model: its search's files, its modalities, and the training histories of it and its untuned twins."""
    return {
        model: {
            "search": {name: f"{tuning_dir(model)}/{name}" for name in TUNING_FILES},
            "modalities": modalities_of(model),
            "histories": {m: histories_of_group("autoencoders")[m] for m in [model, *untuned_twins(model)]},
        }
        for model in TUNED
    }


def tuning_report_inputs():
    files = tuning_report_files()
    return [path for model in files.values() for path in model["search"].values()] + [
        path for model in files.values() for paths in model["histories"].values() for path in paths
    ]


# Models are evaluated and drawn in groups, so the many cheap steps share their imports.
MODEL_GROUPS = {"autoencoders": AUTOENCODERS, "baselines": BASELINES}
GROUPS_IN_USE = [group for group, models in MODEL_GROUPS.items() if models]


def models_in_group(group):
    return MODEL_GROUPS[group]


def histories_of_group(group):
    """Training histories by autoencoder (the baselines have none)."""
    models = AUTOENCODERS if group == "autoencoders" else []
    return {model: [f"{OUT}/models/{model}/seed{seed}/history.tsv" for seed in SEEDS] for model in models}


# Feature attributions (rules/attribute.smk): the autoencoders named by attribution.models (null: all of them).
with config_errors_in_one_line():
    ATTRIBUTED = attributed_models(config["attribution"], AUTOENCODERS)
ATTRIBUTION_FILES = ["dimensions.tsv", "clusters.tsv", "heads.tsv", "top_features.png"] + (
    ["validation.tsv"] if config["source"] == "simulate" else []
)
ATTRIBUTIONS = expand(f"{OUT}/attribution/{{model}}/{{name}}", model=ATTRIBUTED, name=ATTRIBUTION_FILES)


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
    # TUMOR_TYPE_TARGETS (rules/evaluate.smk): empty unless evaluation.tumor_type is set.
    return [f"{OUT}/evaluation/summary.tsv", f"{OUT}/report.html", *TUMOR_TYPE_TARGETS]


def clinical_header():
    """The clinical table's columns and the file(s) they come from; None while a download has not brought the
    file yet (its columns are then checked when it is read)."""
    source = config["source"]
    if source == "simulate":
        return list(SIMULATED_CLINICAL_COLUMNS), "the simulated clinical table"
    if source == "local":
        paths = [config["clinical"]["path"]]
    elif source == "xena":
        datasets = (config["xena"]["clinical_dataset"], config["xena"]["subtype_dataset"])
        paths = [xena_cache_path(dataset) for dataset in datasets if dataset]
    else:
        study = Path(cbioportal_study_dir())
        paths = sorted(study.rglob("data_clinical_patient.txt"))[:1] if study.is_dir() else []
    if not paths or not all(Path(path).is_file() for path in paths):
        return None
    return [column for path in paths for column in read_header(path)], " + ".join(str(path) for path in paths)


# A misspelt column fails here, while the DAG is built (snakemake -n included), not in the first job.
CLINICAL_HEADER = clinical_header()
if CLINICAL_HEADER is not None:
    with config_errors_in_one_line():
        check_configured_columns(config, MODELS, MODEL_CONFIG, *CLINICAL_HEADER)
