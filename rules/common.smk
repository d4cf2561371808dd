# Shared by all stages: config validation, what to build, input functions.
import yaml
from snakemake.utils import validate

from oncoae.workflow import export_package_path, plan_models

validate(config, workflow.source_path("../config/schema.yaml"), set_default=True)

# Jobs (local or on a cluster) import the package from the workflow folder, installed or not.
export_package_path(workflow.basedir)

DATASET = config["dataset"]
OUT = f"results/{DATASET}"
LOGS = f"{OUT}/logs"
BENCH = f"{OUT}/benchmarks"
WORK = f"{OUT}/.work"  # resumable checkpoints: outside declared outputs, which Snakemake removes on failure
MODALITIES = list(config["modalities"])
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


def autoencoder_params(model):
    """The config that shapes one autoencoder, and nothing else: a change elsewhere must not retrain it."""
    return canonical(
        {
            "architecture": config["architecture"],
            "training": {k: v for k, v in config["training"].items() if k != "threads"},
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


def input_files():
    """The files the run started from, for the report's checksums."""
    if config["source"] == "local":
        return [config["clinical"]["path"]] + [config["modalities"][m]["path"] for m in MODALITIES]
    return expand(f"{OUT}/data/{{modality}}.h5ad", modality=MODALITIES) + [f"{OUT}/data/clinical.tsv"]


def get_final_output():
    return [f"{OUT}/evaluation/summary.tsv", f"{OUT}/report.html"]
