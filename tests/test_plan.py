"""The planning layer the Snakefile imports (oncoae/workflow.py, with oncoae/layout.py and oncoae/settings.py): what
a config builds, without running anything."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import yaml
from snakemake.utils import validate

from oncoae.config_check import config_error_message
from oncoae.settings import OPERATIONAL_TRAINING_KEYS, schema
from oncoae.workflow import RunPlan, plan_run

from .conftest import REPO, TINY_AUTOENCODERS, TINY_BASELINES, TINY_CONFIG

SCHEMA_PATH = str(REPO / "config" / "schema.yaml")


def _validate(config: dict) -> None:
    validate(config, SCHEMA_PATH, set_default=True)


def _plan(config: dict) -> RunPlan:
    return plan_run(copy.deepcopy(config), schema(), _validate)


def _with_variant(name: str, variant: dict) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["models"]["autoencoders"]["variants"] = {name: variant}
    return config


def test_importing_the_planning_layer_and_planning_a_run_pull_in_no_numpy_pandas_or_torch():
    """The Snakefile imports these modules while it builds the DAG: a heavy import there would slow every
    snakemake call (a dry run included), so a fresh process plans the tiny run and checks what got imported."""
    config = copy.deepcopy(TINY_CONFIG)
    config["tuning"] = {"models": {"ae_multimodal": {"space": {"training.learning_rate": {"low": 1e-3, "high": 1e-2}}}}}
    _validate(config)  # the subprocess validates nothing: it only plans
    code = f"""
import json, sys
from oncoae import layout, settings, workflow
config = json.loads({json.dumps(json.dumps(config))})
plan = workflow.plan_run(config, settings.schema(), lambda section: None)
plan.check_clinical_columns()
for model in plan.autoencoders:
    plan.autoencoder_params(model), plan.operational_training(model, 1)
files = plan.run_files(), plan.tuning_report_files(), plan.input_files(), plan.final_output(), plan.config_text()
heavy = sorted(m for m in ("numpy", "pandas", "torch", "anndata", "sklearn", "lightning", "scipy") if m in sys.modules)
print(json.dumps(heavy))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_tiny_config_plans_its_models_seeds_and_paths():
    plan = _plan(TINY_CONFIG)
    assert plan.autoencoders == TINY_AUTOENCODERS
    assert plan.baselines == TINY_BASELINES
    assert plan.seeds == [0, 1] and plan.groups_in_use == ["autoencoders", "baselines"]
    assert plan.latent("ae_multimodal", 1) == "results/tiny/latent/ae_multimodal/seed1.h5ad"
    assert plan.latent("pca_concat", 1) == "results/tiny/latent/pca_concat/baseline.h5ad"
    assert plan.normalized_inputs("ae_mutation") == ["results/tiny/normalized/mutation.h5ad"]
    assert plan.final_output() == ["results/tiny/evaluation/summary.tsv", "results/tiny/report.html"]
    assert plan.input_files() == [
        "results/tiny/data/expression.h5ad",
        "results/tiny/data/methylation.h5ad",
        "results/tiny/data/mutation.h5ad",
        "results/tiny/data/clinical.tsv",
    ]
    assert len(plan.attributions) == 6 * 5  # four tables and a figure per autoencoder, validation included
    assert plan.tumor_type_targets == [] and plan.tuned == []


def test_a_models_params_hold_what_shapes_it_and_leave_the_operational_keys_out():
    plan = _plan(TINY_CONFIG)
    params = plan.autoencoder_params("ae_vae_cox")
    assert set(params) == {"architecture", "training", "heads", "kinds", "losses"}
    assert not set(OPERATIONAL_TRAINING_KEYS) & set(params["training"])
    assert params["architecture"]["variant"] == "vae" and params["architecture"]["fusion"] == "poe"
    assert params["heads"] == {
        "cox": 0.2,
        "classification": 0.0,
        "label": None,
        "survival": {"time": "os_days", "event": "os_event"},
    }
    # Keys sorted at every level: Snakemake compares params as text.
    assert list(params["training"]) == sorted(params["training"])
    # A head that is off leaves its columns out: changing them retrains nothing.
    assert plan.autoencoder_params("ae_multimodal")["heads"]["survival"] is None


def test_the_guided_autoencoder_is_the_multimodal_one_with_heads_on_the_first_label_and_survival():
    plan = _plan(TINY_CONFIG)
    guided, unsupervised = plan.autoencoder_params("ae_guided"), plan.autoencoder_params("ae_multimodal")
    assert plan.modalities_of("ae_guided") == plan.modalities_of("ae_multimodal")
    assert guided["heads"] == {
        "cox": 0.05,
        "classification": 1.0,
        "label": "subtype",
        "class_weights": "none",
        "survival": {"time": "os_days", "event": "os_event"},
    }
    assert guided["training"]["early_stopping_monitor"] == "val_reconstruction_loss"
    # Everything else is ae_multimodal's.
    assert guided["architecture"] == unsupervised["architecture"]
    assert {k: v for k, v in guided["training"].items() if k != "early_stopping_monitor"} == {
        k: v for k, v in unsupervised["training"].items() if k != "early_stopping_monitor"
    }


@pytest.mark.parametrize(
    ("change", "heads"),
    [
        ({"clinical": {"labels": []}}, {"cox": 0.05, "classification": 0.0}),
        ({"clinical": {"survival": None}}, {"cox": 0.0, "classification": 1.0}),
        ({"guided": {"cox_weight": 0.0, "classification_weight": 0.5}}, {"cox": 0.0, "classification": 0.5}),
        ({"guided": {"label": "stage"}}, {"label": "stage", "classification": 1.0}),
    ],
)
def test_the_guided_autoencoder_has_the_heads_the_config_can_train(change, heads):
    config = copy.deepcopy(TINY_CONFIG)
    config["clinical"].update(change.get("clinical", {}))
    config["models"]["autoencoders"].update(guided=change.get("guided", {}), variants={})
    params = _plan(config).autoencoder_params("ae_guided")["heads"]
    assert {key: params[key] for key in heads} == heads


@pytest.mark.parametrize(
    "change",
    [{"clinical": {"labels": [], "survival": None}}, {"guided": {"enabled": False}}],
    ids=["no-label-no-survival", "disabled"],
)
def test_without_a_head_or_when_disabled_there_is_no_guided_autoencoder(change):
    config = copy.deepcopy(TINY_CONFIG)
    config["clinical"].update(change.get("clinical", {}))
    config["models"]["autoencoders"].update(guided=change.get("guided", {}), variants={})
    config["split"].pop("stratify", None)
    config["evaluation"]["enrichment_columns"] = []
    plan = _plan(config)
    assert "ae_guided" not in plan.autoencoders and "ae_multimodal" in plan.autoencoders


def test_the_report_names_the_autoencoders_that_saw_labels():
    note = _plan(TINY_CONFIG).supervision_note()
    assert note.startswith(
        "Trained with the labels of training tumors: ae_guided (a classification head on subtype and a Cox head on "
        "survival); ae_vae_cox (a Cox head on survival)."
    ), note
    config = copy.deepcopy(TINY_CONFIG)
    config["models"]["autoencoders"].update(guided={"enabled": False}, variants={})
    assert _plan(config).supervision_note() is None


def test_a_variant_named_guided_beside_the_built_in_one_stops_the_plan():
    with pytest.raises(ValueError) as error:
        _plan(_with_variant("guided", {}))
    message = config_error_message(error.value)
    assert message.startswith("models.autoencoders.variants.guided: the name ae_guided is taken"), message
    # With the built-in one off, the name is free.
    config = _with_variant("guided", {"architecture": {"latent_dim": 3}})
    config["models"]["autoencoders"]["guided"] = {"enabled": False}
    assert _plan(config).autoencoder_params("ae_guided")["architecture"]["latent_dim"] == 3


def test_a_variants_operational_training_keys_are_its_own():
    variant = {"training": {"tensorboard": True, "checkpoint_every_n_epochs": 2, "threads": 3, "progress_bar": True}}
    plan = _plan(_with_variant("ops", variant))
    assert plan.operational_training("ae_ops", threads=2) == {
        "tensorboard": True,
        "checkpoint_every_n_epochs": 2,
        "progress_bar": True,
        "threads": 2,  # what Snakemake gave the job (it caps training.threads at --cores)
    }
    assert plan.training_threads("ae_ops") == 3
    # The top level's values for every other model (the tiny config checkpoints every 5 epochs).
    assert plan.operational_training("ae_multimodal", threads=1)["checkpoint_every_n_epochs"] == 5
    assert plan.operational_training("ae_multimodal", threads=1)["tensorboard"] is False
    # ... and none of them changes what the variant's params say, so none retrains it.
    assert plan.autoencoder_params("ae_ops") == plan.autoencoder_params("ae_multimodal")


def test_a_variants_accelerator_decides_its_jobs_gpu_request():
    plan = _plan(_with_variant("gpu", {"training": {"accelerator": "gpu"}}))
    assert plan.uses_gpu("ae_gpu") and not plan.uses_gpu("ae_multimodal")


@pytest.mark.parametrize(
    ("variant", "key"),
    [
        ({"training": {"max_epoch": 5}}, "training.max_epoch"),
        ({"architecture": {"vae": {"betta": 2.0}}}, "architecture.vae.betta"),
        ({"heads": {"cox": {"wieght": 1.0}}}, "heads.cox.wieght"),
    ],
)
def test_an_unknown_key_in_a_variants_section_stops_the_plan_naming_it(variant, key):
    with pytest.raises(Exception) as raised:
        _plan(_with_variant("bad", variant))
    message = config_error_message(raised.value)
    assert message.startswith(f"models.autoencoders.variants.bad: unknown config key '{key}'"), message


def test_tuning_helpers_and_report_inputs():
    config = yaml.safe_load((REPO / "config" / "examples" / "simulated-tuning.yaml").read_text())
    plan = _plan(config)
    (model,) = plan.tuned
    run = plan.layout
    assert plan.tuned_hyperparameters(model) == {"best": run.tuning(model, "best.yaml")}
    assert all(plan.tuned_hyperparameters(other) == {} for other in plan.autoencoders if other != model)
    n_workers, n_trials = config["tuning"]["models"][model]["n_workers"], config["tuning"]["models"][model]["n_trials"]
    assert plan.tuning_worker_outputs(model) == [run.tuning_worker(model, k) for k in range(n_workers)]
    assert plan.trials_per_worker(model) == -(-n_trials // n_workers)
    assert "n_workers" not in plan.tuning_settings(model) and "space" not in plan.tuning_settings(model)
    files = plan.tuning_report_files()[model]
    assert set(files) == {"search", "modalities", "histories"} and model in files["histories"]
    assert set(plan.tuning_report_inputs()) >= set(files["search"].values())


def test_sources_of_the_data_by_source():
    config = yaml.safe_load((REPO / "config" / "examples" / "tcga-brca-xena.yaml").read_text())
    config["download"] = {"cache_dir": "cache"}
    plan = _plan(config)
    hub = plan.config["xena"]["hub"]
    clinical = plan.config["xena"]["clinical_dataset"]
    assert plan.clinical_sources()["table"].startswith("cache/xena/")
    download = plan.xena_download(plan.clinical_sources()["table"].rsplit("/", 1)[1])
    assert download["urls"][0].startswith(hub.rstrip("/") + "/download/") and download["sha256"] is None
    assert plan.input_files()[0] == plan.xena_cache_path(clinical)
    assert plan.clinical_header() is None  # nothing downloaded yet: the columns are checked when read
    modality = plan.modalities[0]
    assert plan.modality_source(modality) == plan.xena_cache_path(plan.config["modalities"][modality]["xena_dataset"])


def test_tumor_type_targets_follow_the_plan():
    config = copy.deepcopy(TINY_CONFIG)
    config["evaluation"]["tumor_type"] = "subtype"
    config["heads"] = {"classification": {"weight": 0.5, "label": "subtype"}}
    plan = _plan(config)
    assert plan.tumor_type_confusion["ae_multimodal_head"] == ("ae_multimodal", "head")
    targets = plan.tumor_type_targets
    assert plan.layout.tumor_type_table("metrics") in targets
    assert plan.layout.figure("tumor_types", "confusion", name="ae_multimodal_head") in targets
    assert plan.layout.figure("tumor_types", "umap", model="pca_concat") in targets
    assert "tumor_type" not in plan.evaluation_params()  # the scoring jobs do not re-run when it changes


def test_the_baselines_get_grids_to_choose_from_on_validation_when_an_autoencoder_is_tuned():
    untuned = _plan(TINY_CONFIG).baseline_settings()
    assert untuned["n_components"] == 16 and untuned["gamma"] is None and "gamma_factors" not in untuned
    config = copy.deepcopy(TINY_CONFIG)
    config["tuning"] = {"models": {"ae_multimodal": {"space": {"training.learning_rate": {"low": 1e-3, "high": 1e-2}}}}}
    tuned = _plan(config).baseline_settings()
    assert tuned["n_components"] == [4, 8, 16, 32, 64] and tuned["gamma_factors"] == [0.1, 0.3, 1, 3, 10]
    # Lists are the user's own grids, kept as given; match_tuning false leaves the single values alone.
    config["models"]["baseline"] = {"n_components": [5, 10], "gamma": [0.01, 0.1]}
    given = _plan(config).baseline_settings()
    assert given["n_components"] == [5, 10] and given["gamma"] == [0.01, 0.1] and "gamma_factors" not in given
    config["models"]["baseline"] = {"match_tuning": False}
    assert _plan(config).baseline_settings()["n_components"] == 16
