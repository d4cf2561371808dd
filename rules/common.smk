# Shared by all stages: config validation, the run's plan (oncoae/workflow.py) and the rules' input functions.
from snakemake.utils import validate

from oncoae.config_check import config_errors_in_one_line
from oncoae.settings import canonical, schema
from oncoae.workflow import alternatives, export_package_path, plan_run

SCHEMA_PATH = workflow.source_path("../config/schema.yaml")


def validate_config(settings):
    validate(settings, SCHEMA_PATH, set_default=True)


# Config errors end the run with their message alone (oncoae.config_check.config_errors_in_one_line); a
# misspelt clinical column fails here, while the DAG is built (snakemake -n included), not in the first job.
with config_errors_in_one_line():
    PLAN = plan_run(config, schema(), validate_config)
    PLAN.check_clinical_columns()

# Jobs (local or on a cluster) import the package from the workflow folder, installed or not.
export_package_path(workflow.basedir)

RUN = PLAN.layout  # every path of results/<dataset>/ (oncoae/layout.py)
MODELS = PLAN.models
MODALITIES = PLAN.modalities
AUTOENCODERS = PLAN.autoencoders
BASELINES = PLAN.baselines
SEEDS = PLAN.seeds
TUNED = PLAN.tuned
GROUPS_IN_USE = PLAN.groups_in_use
ATTRIBUTED = PLAN.attributed
ATTRIBUTIONS = PLAN.attributions
TUMOR_TYPE = PLAN.tumor_type
CACHE = PLAN.cache


def _model(wildcards):
    return getattr(wildcards, "autoencoder", None) or getattr(wildcards, "baseline", None)


# Input functions and params (wildcards -> the plan's answer for that model, group or file)
def normalized_inputs(wildcards):
    return PLAN.normalized_inputs(_model(wildcards))


def modalities_of(model):
    return PLAN.modalities_of(model)


def models_in_group(group):
    return PLAN.groups[group]


def latent_path(model, seed):
    return PLAN.latent(model, seed)


def autoencoder_params(wildcards):
    return PLAN.autoencoder_params(wildcards.autoencoder)


def operational_training(wildcards, threads):
    # A param computed from threads is "derived" to Snakemake and left out of its params rerun trigger: these
    # keys reach the job (a variant's own included) without changing them retraining anything.
    return PLAN.operational_training(wildcards.autoencoder, threads)


def tuned_hyperparameters(wildcards):
    return PLAN.tuned_hyperparameters(wildcards.autoencoder)


def tuning_worker_outputs(wildcards):
    return PLAN.tuning_worker_outputs(wildcards.autoencoder)


def modality_source(wildcards):
    return PLAN.modality_source(wildcards.modality)


def clinical_sources(wildcards):
    return PLAN.clinical_sources()


def get_final_output():
    return PLAN.final_output()
