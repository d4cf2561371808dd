"""The planning layer: what the workflow builds, derived from the validated config, and where (``RunPlan``).

The Snakefile imports it before any job runs, so it uses the standard library only (a test imports it in a fresh
process and checks that numpy, pandas and torch stay out). rules/common.smk validates the config, builds one
``RunPlan`` and hands its answers to the rules; every path comes from ``oncoae.layout.RunLayout`` and every
autoencoder's config from ``oncoae.settings.AutoencoderSettings``.

Model names are wildcards and path components:
``ae_<modality>`` (one autoencoder per modality), ``ae_multimodal`` (joint latent over all modalities),
``ae_guided`` (the same with heads on the first label and survival, trained on training tumors: the headline),
``ae_<set>`` (modality sets), ``ae_<variant>`` (further autoencoders: VAE, denoising, heads, other fusions),
``pca_<modality>``, ``pca_concat``, ``kpca_<modality>`` and ``kpca_concat`` (baselines on the same inputs).
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from oncoae.config_check import (
    SIMULATED_CLINICAL_COLUMNS,
    check_clinical_columns,
    check_config_keys,
    config_error_message,
    read_header,
)
from oncoae.layout import ATTRIBUTION_FIGURE, GROUPS, TUMOR_TYPE_TABLES, TUNING_FILES, RunLayout
from oncoae.settings import AutoencoderSettings, canonical, merge_sections

MULTIMODAL = "multimodal"
GUIDED = "guided"  # the built-in variant behind ae_guided (models.autoencoders.guided)
CONCAT = "concat"
AUTOENCODER = "autoencoder"
BASELINE_FAMILIES = ("pca", "kpca")


@dataclass(frozen=True)
class ModelPlan:
    name: str
    family: str  # "autoencoder", "pca" or "kpca"
    modalities: tuple[str, ...]
    variant: str | None = None  # the variant (autoencoder_variants) this autoencoder comes from
    settings_key: str | None = None  # where its overrides are configured, for messages

    @property
    def is_autoencoder(self) -> bool:
        return self.family == AUTOENCODER


def guided_overrides(config: Mapping) -> dict | None:
    """The sections ``ae_guided`` lays over the top level (models.autoencoders.guided): a classification head on
    the label where there is one and a Cox head where there is survival; None when it is off or has no head."""
    section = config["models"]["autoencoders"]["guided"]
    if not section["enabled"]:
        return None
    label = section["label"] or next(iter(config["clinical"]["labels"]), None)
    heads = {}
    if label and section["classification_weight"] > 0:
        heads["classification"] = {"label": label, "weight": section["classification_weight"]}
    if config["clinical"]["survival"] and section["cox_weight"] > 0:
        heads["cox"] = {"weight": section["cox_weight"]}
    if not heads:
        return None
    return {"heads": heads, "training": {"early_stopping_monitor": section["early_stopping_monitor"]}}


def autoencoder_variants(config: Mapping) -> dict[str, tuple[str, dict]]:
    """Every variant by name, as (where it is configured, its overrides): the built-in guided one first, then
    models.autoencoders.variants."""
    variants = {}
    guided = guided_overrides(config)
    if guided is not None:
        variants[GUIDED] = ("models.autoencoders.guided", guided)
    for name, overrides in config["models"]["autoencoders"].get("variants", {}).items():
        if name in variants:
            raise ValueError(
                f"models.autoencoders.variants.{name}: the name ae_{name} is taken by the built-in guided "
                "autoencoder (models.autoencoders.guided); rename the variant, or set "
                "models.autoencoders.guided.enabled false"
            )
        variants[name] = (f"models.autoencoders.variants.{name}", overrides)
    return variants


def plan_models(config: dict) -> dict[str, ModelPlan]:
    """Every model the config asks for, by name, in a stable order."""
    modalities = tuple(config["modalities"])
    section = config["models"]
    plans: list[ModelPlan] = []
    single = len(modalities) == 1  # then the per-modality models are the only ones there can be
    if section["autoencoders"]["per_modality"] or single:
        plans += [ModelPlan(f"ae_{m}", AUTOENCODER, (m,)) for m in modalities]
    if section["autoencoders"]["multimodal"] and len(modalities) > 1:
        plans.append(ModelPlan(f"ae_{MULTIMODAL}", AUTOENCODER, modalities))
    extra_sets = section.get("modality_sets", {})
    for set_name, members in extra_sets.items():
        unknown = [m for m in members if m not in modalities]
        if unknown:
            raise ValueError(
                f"models.modality_sets.{set_name}: unknown modalities {unknown}; known: {list(modalities)}"
            )
    if section["autoencoders"]["multimodal"]:
        plans += [ModelPlan(f"ae_{name}", AUTOENCODER, tuple(members)) for name, members in extra_sets.items()]
    for name, (key, variant) in autoencoder_variants(config).items():
        members = variant.get("modalities") or modalities
        unknown = [m for m in members if m not in modalities]
        if unknown:
            raise ValueError(f"{key}: unknown modalities {unknown}; known: {list(modalities)}")
        if any(plan.name == f"ae_{name}" for plan in plans):
            raise ValueError(f"{key}: the name ae_{name} is taken by another model; rename the variant")
        plans.append(ModelPlan(f"ae_{name}", AUTOENCODER, tuple(members), variant=name, settings_key=key))
    for family in section["baselines"]:
        if section["baselines_per_modality"] or single:
            plans += [ModelPlan(f"{family}_{m}", family, (m,)) for m in modalities]
        if len(modalities) > 1:
            plans.append(ModelPlan(f"{family}_{CONCAT}", family, modalities))
        plans += [ModelPlan(f"{family}_{name}", family, tuple(members)) for name, members in extra_sets.items()]
    return {plan.name: plan for plan in plans}


VARIANT_SECTIONS = ("architecture", "heads", "training")


def variant_config(config: Mapping, variant: str) -> dict:
    """The whole config as one variant sees it: its architecture, heads and training keys laid over the top level."""
    _, overrides = autoencoder_variants(config)[variant]
    merged = copy.deepcopy(dict(config))
    for section in VARIANT_SECTIONS:
        merged[section] = merge_sections(config.get(section, {}), overrides.get(section, {}))
    return merged


def check_model_settings(model: str, config: Mapping) -> None:
    """Combinations the schema cannot express, with the model named in the error."""
    architecture, heads = config["architecture"], config["heads"]
    if architecture["fusion"] == "poe" and architecture["variant"] != "vae":
        raise ValueError(f"{model}: architecture.fusion poe (product of experts) needs architecture.variant vae")
    if architecture["fusion"] == "concat" and not architecture["hidden_sizes"]:
        raise ValueError(f"{model}: architecture.fusion concat needs at least one entry in architecture.hidden_sizes")
    if heads["cox"]["weight"] > 0 and not config["clinical"]["survival"]:
        raise ValueError(f"{model}: heads.cox needs clinical.survival (time and event columns)")
    if heads["classification"]["weight"] > 0 and not heads["classification"]["label"]:
        raise ValueError(f"{model}: heads.classification needs a label column (heads.classification.label)")


def check_modality_settings(config: Mapping) -> None:
    """Likelihoods that score the data themselves need the data untransformed."""
    for name, spec in config["modalities"].items():
        normalization = spec["normalization"]
        if spec["kind"] in ("beta", "counts") and (normalization["transform"], normalization["scale"]) != (
            "none",
            "none",
        ):
            raise ValueError(
                f"modalities.{name}: kind {spec['kind']} models the data as they are; set normalization transform "
                "none and scale none (or use kind continuous with a transform such as mvalue or log1p)"
            )


def checked_model_config(plan: ModelPlan, config: dict, schema: Mapping, validate: Callable[[dict], None]) -> dict:
    """The config one autoencoder is built from: a variant's overrides laid over the top level, validated again
    (so a wrong key or value inside a variant is reported like one at the top level, with the variant named)."""
    if plan.variant is None:
        merged = config
    else:
        merged = variant_config(config, plan.variant)
        try:
            check_config_keys(merged, schema)
            validate(merged)
        except Exception as error:
            message = config_error_message(error) or str(error)
            prefix = f"{plan.settings_key}: "
            raise ValueError("\n".join(prefix + line for line in message.splitlines())) from None
    check_model_settings(plan.name, merged)
    return merged


def check_config(
    config: dict, schema: Mapping, validate: Callable[[dict], None]
) -> tuple[dict[str, ModelPlan], dict[str, dict]]:
    """Every check of the config alone, in the order the Snakefile runs them; the planned models and each
    autoencoder's config. ``validate`` is Snakemake's JSON Schema validation (it fills in the defaults)."""
    from oncoae.tuning.space import check_tuning

    check_config_keys(config, schema)
    validate(config)
    check_modality_settings(config)
    plans = plan_models(config)
    model_configs = {
        name: checked_model_config(plan, config, schema, validate)
        for name, plan in plans.items()
        if plan.is_autoencoder
    }
    check_tuning(config, schema, model_configs, {name: list(plans[name].modalities) for name in model_configs})
    return plans, model_configs


def check_configured_columns(
    config: Mapping, plans: Mapping[str, ModelPlan], model_configs: Mapping[str, dict], columns: list[str], where: str
) -> None:
    """The clinical columns the config and its variants name exist in the clinical table (``columns``, from
    ``where``)."""
    check_clinical_columns(config, columns, where)
    for name, settings in model_configs.items():
        if plans[name].variant is not None:
            check_clinical_columns(settings, columns, where, prefix=f"{plans[name].settings_key}: ")


def tumor_type_plan(
    config: Mapping, plans: Mapping[str, ModelPlan], model_configs: Mapping[str, dict]
) -> dict[str, tuple[str, str]]:
    """The tumor-type confusion figures (``evaluation.tumor_type``) by name, ``confusion_<name>.png``: (model,
    method) for each autoencoder whose classification head predicts the type (``head``), each model's logistic
    regression on its latent (``latent_lr``) and each normalized modality's (``raw_<modality>``, ``raw_lr``)."""
    label = config["evaluation"]["tumor_type"]
    plan = {}
    for name, model in plans.items():
        head = model_configs[name]["heads"]["classification"] if model.is_autoencoder else None
        if head is not None and head["weight"] > 0 and head["label"] == label:
            plan[f"{name}_head"] = (name, "head")
        plan[f"{name}_latent_lr"] = (name, "latent_lr")
    for modality in config["modalities"]:
        plan[f"raw_{modality}_raw_lr"] = (f"raw_{modality}", "raw_lr")
    return plan


def attributed_models(section: Mapping, autoencoders: list[str]) -> list[str]:
    """The autoencoders the ``attribution:`` section asks for (``models: null``: all; none when not enabled); a
    name that is not an autoencoder of the run is an error with a did-you-mean."""
    names = section["models"]
    for name in names or []:
        if name not in autoencoders:
            close = difflib.get_close_matches(name, autoencoders, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"attribution.models: {name!r} is not an autoencoder of this run{hint} "
                f"(autoencoders: {', '.join(autoencoders)})"
            )
    if not section["enabled"]:
        return []
    return [model for model in autoencoders if names is None or model in names]


def export_package_path(directory: str) -> None:
    """Put ``directory`` first on PYTHONPATH so every job (local, conda or cluster) imports this package."""
    current = os.environ.get("PYTHONPATH", "")
    parts = [p for p in current.split(os.pathsep) if p]
    if directory not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([directory, *parts])


# Download locations of the public sources (used by the Snakefile, so standard library only).
def cache_name(text: str) -> str:
    """A file-system-safe, reversible name for a URL component (dataset names contain '/' and '+')."""
    return urllib.parse.quote(text, safe="")


def host_of(url: str) -> str:
    return urllib.parse.urlparse(url).netloc.replace(":", "_")


def xena_dataset_urls(hub: str, dataset: str) -> list[str]:
    """The download URL of a Xena dataset, then the same with '.gz' (some datasets exist only compressed)."""
    base = f"{hub.rstrip('/')}/download/{cache_name(dataset)}"
    return [base] if dataset.endswith(".gz") else [base, base + ".gz"]


def cbioportal_study_url(base_url: str, study: str) -> str:
    return f"{base_url.rstrip('/')}/{cache_name(study)}.tar.gz"


def alternatives(names: list[str]) -> str:
    """A wildcard constraint matching exactly ``names`` (and nothing when there are none)."""
    return "|".join(sorted(names)) or "^$"


def plan_run(config: dict, schema: Mapping, validate: Callable[[dict], None]) -> RunPlan:
    """Every check of the config alone (``check_config``), then the run's plan."""
    models, model_configs = check_config(config, schema, validate)
    return RunPlan(config, models, model_configs)


# The grids a single models.baseline value widens into when autoencoders are tuned (models.baseline.match_tuning).
COMPONENT_FACTORS = (0.25, 0.5, 1, 2, 4)
GAMMA_FACTORS = (0.1, 0.3, 1, 3, 10)

# Keys of the evaluation section read only by the tumor-type rules: changing them re-runs nothing else.
TUMOR_TYPE_KEYS = ("tumor_type", "within_type", "within_type_k")


class RunPlan:
    """What one validated config builds: models and seeds, each autoencoder's settings, the tuning, attribution,
    tumor-type and report inputs, the sources of the data; every path from ``layout``."""

    def __init__(self, config: dict, models: dict[str, ModelPlan], model_configs: dict[str, dict]) -> None:
        self.config = config
        self.models = models
        self.model_configs = model_configs
        self.dataset = config["dataset"]
        self.layout = RunLayout.of_dataset(self.dataset)
        self.modalities = list(config["modalities"])
        self.seeds = [int(seed) for seed in config["seeds"]]
        self.autoencoders = [name for name, plan in models.items() if plan.is_autoencoder]
        self.baselines = [name for name, plan in models.items() if not plan.is_autoencoder]
        self.groups = {"autoencoders": self.autoencoders, "baselines": self.baselines}
        self.groups_in_use = [group for group in GROUPS if self.groups[group]]
        self.cache = config["download"]["cache_dir"]  # shared between data sets and runs
        # Hyperparameter search (rules/tune.smk): off unless tuning.models names an autoencoder.
        self.tuning = config["tuning"]["models"]
        self.tuned = list(self.tuning)
        self.attributed = attributed_models(config["attribution"], self.autoencoders)
        self.tumor_type = config["evaluation"]["tumor_type"]

    # Models
    def modalities_of(self, model: str) -> list[str]:
        return list(self.models[model].modalities)

    def normalized_inputs(self, model: str) -> list[str]:
        return [self.layout.normalized(modality) for modality in self.modalities_of(model)]

    def latent(self, model: str, seed: int) -> str:
        """Autoencoders have one latent per seed; baselines are deterministic and have one latent in all."""
        if self.models[model].is_autoencoder:
            return self.layout.latent(model, seed)
        return self.layout.baseline_latent(model)

    @functools.cache  # noqa: B019 (one plan per Snakefile run; the cache lives as long as the plan)
    def autoencoder_settings(self, model: str) -> AutoencoderSettings:
        return AutoencoderSettings.from_config(self.model_configs[model], self.modalities_of(model))

    def autoencoder_params(self, model: str) -> dict:
        """The config that shapes one autoencoder, and nothing else: a change elsewhere must not retrain it."""
        return self.autoencoder_settings(model).params()

    def operational_training(self, model: str, threads: int) -> dict:
        """The model's own operational training keys (a variant's included), with the ``threads`` Snakemake
        gave the job."""
        return {**self.autoencoder_settings(model).training.operational_dict(), "threads": int(threads)}

    def training_threads(self, model: str) -> int:
        return self.autoencoder_settings(model).training.threads

    def uses_gpu(self, model: str) -> bool:
        """Whether the model's training jobs ask the scheduler for a GPU."""
        return self.autoencoder_settings(model).training.accelerator == "gpu"

    def histories_of_group(self, group: str) -> dict[str, list[str]]:
        """Training histories by autoencoder (the baselines have none)."""
        models = self.autoencoders if group == "autoencoders" else []
        return {model: [self.layout.history(model, seed) for seed in self.seeds] for model in models}

    def baseline_settings(self) -> dict:
        """models.baseline as the fit_baseline jobs get it: with match_tuning and a tuned autoencoder, a single
        n_components and gamma widen into the candidate grids the job chooses from on validation tumors (gamma
        as factors of its value, or of 1/n_features, which only the job knows: BaselineSettings.candidates)."""
        settings = dict(self.config["models"]["baseline"])
        if not (settings["match_tuning"] and self.tuned):
            return canonical(settings)
        n = settings["n_components"]
        if not isinstance(n, list):
            settings["n_components"] = sorted({max(1, round(n * factor)) for factor in COMPONENT_FACTORS})
        if not isinstance(settings["gamma"], list):
            settings["gamma_factors"] = list(GAMMA_FACTORS)
        return canonical(settings)

    # Hyperparameter search
    def tuning_settings(self, model: str) -> dict:
        """A model's search settings as params: n_workers only sets how many jobs run, so it is left out."""
        return canonical({key: value for key, value in self.tuning[model].items() if key not in ("space", "n_workers")})

    def tuning_space(self, model: str) -> dict:
        return canonical(self.tuning[model]["space"])

    def trials_per_worker(self, model: str) -> int:
        """About how many models one worker trains (its jobs ask for that many training runtimes)."""
        return -(-self.tuning[model]["n_trials"] // self.tuning[model]["n_workers"])

    def tuning_worker_outputs(self, model: str) -> list[str]:
        return [self.layout.tuning_worker(model, worker) for worker in range(self.tuning[model]["n_workers"])]

    def tuned_hyperparameters(self, model: str) -> dict[str, str]:
        """The best trial's values, an extra input of a tuned model's training only (no other model retrains)."""
        return {"best": self.layout.tuning(model, "best.yaml")} if model in self.tuning else {}

    def untuned_twins(self, model: str) -> list[str]:
        """Untuned autoencoders built exactly as ``model`` before tuning (e.g. a variant with no overrides): the
        report compares the tuned model with them."""
        return [
            other
            for other in self.autoencoders
            if other != model
            and other not in self.tuning
            and self.modalities_of(other) == self.modalities_of(model)
            and self.autoencoder_params(other) == self.autoencoder_params(model)
        ]

    def tuning_report_files(self) -> dict[str, dict]:
        """By tuned model: its search's files, its modalities, and the training histories of it and its untuned
        twins."""
        histories = self.histories_of_group("autoencoders")
        return {
            model: {
                "search": {name: self.layout.tuning(model, name) for name in TUNING_FILES},
                "modalities": self.modalities_of(model),
                "histories": {m: histories[m] for m in [model, *self.untuned_twins(model)]},
            }
            for model in self.tuned
        }

    def tuning_report_inputs(self) -> list[str]:
        files = self.tuning_report_files()
        return [path for model in files.values() for path in model["search"].values()] + [
            path for model in files.values() for paths in model["histories"].values() for path in paths
        ]

    # Attributions (rules/attribute.smk)
    @property
    def attribution_files(self) -> list[str]:
        validation = ["validation.tsv"] if self.config["source"] == "simulate" else []
        return ["dimensions.tsv", "clusters.tsv", "heads.tsv", ATTRIBUTION_FIGURE, *validation]

    @property
    def attributions(self) -> list[str]:
        return [self.layout.attribution(m, name) for m in self.attributed for name in self.attribution_files]

    # Tumor types (rules/evaluate.smk; evaluation.tumor_type, off by default)
    @property
    def tumor_type_models(self) -> list[str]:
        return [*self.autoencoders, *self.baselines]

    @property
    def tumor_type_confusion(self) -> dict[str, tuple[str, str]]:
        """Confusion figures by name: (model, method), methods head, latent_lr and raw_lr."""
        return tumor_type_plan(self.config, self.models, self.model_configs) if self.tumor_type else {}

    @property
    def tumor_type_tables(self) -> dict[str, str]:
        return {name: self.layout.tumor_type_table(name) for name in TUMOR_TYPE_TABLES}

    def tumor_type_figures(self) -> dict[str, list[str]]:
        return {
            "confusion": [
                self.layout.figure("tumor_types", "confusion", name=name) for name in self.tumor_type_confusion
            ],
            "umap": [self.layout.figure("tumor_types", "umap", model=model) for model in self.tumor_type_models],
        }

    @property
    def tumor_type_targets(self) -> list[str]:
        if not self.tumor_type:
            return []
        figures = self.tumor_type_figures()
        return [*self.tumor_type_tables.values(), *figures["confusion"], *figures["umap"]]

    def evaluation_params(self) -> dict:
        """The evaluation section as the scoring jobs see it (without the keys only other rules read)."""
        section = self.config["evaluation"]
        return canonical({k: v for k, v in section.items() if k not in ("characterize_top", *TUMOR_TYPE_KEYS)})

    # Exports (rules/export.smk)
    @property
    def annotated_pairs(self) -> list[list]:
        """(model, k-means seed) -> its latent and its annotated copy; a baseline's one latent serves every seed."""
        return [[model, seed] for model in self.models for seed in self.seeds]

    @property
    def annotated(self) -> list[str]:
        return [self.layout.annotated(model, seed) for model, seed in self.annotated_pairs]

    @property
    def exported_latents(self) -> list[list]:
        """The run's latents once each: (model, seed) for an autoencoder, (model, None) for a baseline."""
        return [[m, s] for m in self.autoencoders for s in self.seeds] + [[m, None] for m in self.baselines]

    # Sources of the data
    def xena_cache_path(self, dataset: str) -> str:
        return f"{self.cache}/xena/{host_of(self.config['xena']['hub'])}/{cache_name(dataset)}"

    def cbioportal_study_dir(self, study: str | None = None) -> str:
        return f"{self.cache}/cbioportal/{study or self.config['cbioportal']['study']}"

    def cbioportal_archive(self, study: str | None = None) -> str:
        return f"{self.cbioportal_study_dir(study)}.tar.gz"

    def modality_source(self, modality: str) -> str:
        """The file a modality is read from: the user's, or the download cache's."""
        spec = self.config["modalities"][modality]
        if self.config["source"] == "xena":
            return self.xena_cache_path(spec["xena_dataset"])
        if self.config["source"] == "cbioportal":
            return self.cbioportal_study_dir()
        return spec["path"]

    def clinical_sources(self) -> dict[str, str]:
        config = self.config
        if config["source"] == "xena":
            sources = {"table": self.xena_cache_path(config["xena"]["clinical_dataset"])}
            if config["xena"]["subtype_dataset"]:
                sources["subtypes"] = self.xena_cache_path(config["xena"]["subtype_dataset"])
            return sources
        if config["source"] == "cbioportal":
            return {"table": self.cbioportal_study_dir()}
        return {"table": config["clinical"]["path"]}

    def xena_download(self, dataset_file: str) -> dict:
        """URLs and expected checksum of a cached Xena file (``dataset_file``: its cache name)."""
        dataset = urllib.parse.unquote(dataset_file)
        return {
            "urls": xena_dataset_urls(self.config["xena"]["hub"], dataset),
            "sha256": self.config["download"]["sha256"].get(dataset),
        }

    def cbioportal_url(self, study: str) -> str:
        return cbioportal_study_url(self.config["cbioportal"]["base_url"], study)

    def input_files(self) -> list[str]:
        """The files the run started from, for the report's checksums."""
        config = self.config
        if config["source"] == "local":
            return [config["clinical"]["path"]] + [config["modalities"][m]["path"] for m in self.modalities]
        if config["source"] == "xena":
            datasets = [config["xena"]["clinical_dataset"], config["xena"]["subtype_dataset"]]
            datasets += [config["modalities"][m]["xena_dataset"] for m in self.modalities]
            return [self.xena_cache_path(d) for d in datasets if d]
        if config["source"] == "cbioportal":
            return [self.cbioportal_archive()]
        return [self.layout.raw(m) for m in self.modalities] + [self.layout.clinical]

    def clinical_header(self) -> tuple[list[str], str] | None:
        """The clinical table's columns and the file(s) they come from; None while a download has not brought
        the file yet (its columns are then checked when it is read)."""
        source = self.config["source"]
        if source == "simulate":
            return list(SIMULATED_CLINICAL_COLUMNS), "the simulated clinical table"
        if source == "local":
            paths = [self.config["clinical"]["path"]]
        elif source == "xena":
            datasets = (self.config["xena"]["clinical_dataset"], self.config["xena"]["subtype_dataset"])
            paths = [self.xena_cache_path(dataset) for dataset in datasets if dataset]
        else:
            study = Path(self.cbioportal_study_dir())
            paths = sorted(study.rglob("data_clinical_patient.txt"))[:1] if study.is_dir() else []
        if not paths or not all(Path(path).is_file() for path in paths):
            return None
        return [column for path in paths for column in read_header(path)], " + ".join(str(path) for path in paths)

    def check_clinical_columns(self) -> None:
        """A misspelt column fails while the DAG is built (snakemake -n included), not in the first job."""
        header = self.clinical_header()
        if header is not None:
            check_configured_columns(self.config, self.models, self.model_configs, *header)

    # Every file of the finished run
    def figures(self) -> dict[str, list[str]]:
        """The figures a finished run holds, by kind (``oncoae.layout.FIGURES``). A model with fewer than five
        held-out tumors (a modality most of them lack) gets no UMAP, Kaplan-Meier or contingency figure."""
        run, survival, labels = self.layout, self.config["clinical"]["survival"], self.config["clinical"]["labels"]
        grouped = [(group, model) for group in self.groups_in_use for model in self.groups[group]]
        metric_labels = [("ari", label) for label in labels] + ([("c_index", survival["time"])] if survival else [])
        # Leave-one-modality-out contributions exist for the multi-modal autoencoders only.
        multimodal = any(len(self.models[model].modalities) > 1 for model in self.autoencoders)
        figures = {
            "umap": [run.figure(group, "umap", model=model) for group, model in grouped],
            "contingency": [
                run.figure(group, "contingency", model=model, label=label)
                for group, model in grouped
                for label in labels
            ],
            "km": [run.figure(group, "km", model=model) for group, model in grouped] if survival else [],
            "training": [run.figure("autoencoders", "training", model=model) for model in self.autoencoders],
            "kcurve": [run.figure(group, "kcurve") for group in self.groups_in_use],
            "contribution": [
                run.figure("autoencoders", "contribution", metric=metric, label=label)
                for metric, label in (metric_labels if multimodal else [])
            ],
            "metric_bars": [
                run.figure("comparison", "metric_bars", metric=metric, label=label) for metric, label in metric_labels
            ],
            "attribution": [run.attribution(model, ATTRIBUTION_FIGURE) for model in self.attributed],
            "tuning": [
                run.tuning(model, name) for model in self.tuned for name in TUNING_FILES if name.endswith(".png")
            ],
        }
        if self.tumor_type:
            figures.update({f"tumor_types_{kind}": paths for kind, paths in self.tumor_type_figures().items()})
        return figures

    def run_files(self) -> dict[str, list[str]]:
        """Every file and folder a finished run holds, by the ``RunLayout`` method that names it (logs and
        Snakemake's benchmark files aside)."""
        run, modalities, groups = self.layout, self.modalities, self.groups_in_use
        trained = [(model, seed) for model in self.autoencoders for seed in self.seeds]
        ingested = self.config["source"] != "simulate"
        return {
            "raw": [run.raw(m) for m in modalities],
            "clinical": [run.clinical],
            "survival_excluded": [run.survival_excluded] if ingested else [],
            "ingest_summary": [run.ingest_summary(m) for m in modalities] if ingested else [],
            "split": [run.split],
            "normalized": [run.normalized(m) for m in modalities],
            "normalizer": [run.normalizer(m) for m in modalities],
            "models_dir": [run.models_dir],
            "model_dir": [run.model_dir(model) for model in self.models],
            "checkpoint": [run.checkpoint(model, seed) for model, seed in trained],
            "history": [run.history(model, seed) for model, seed in trained],
            "baseline_model": [run.baseline_model(model) for model in self.baselines],
            "latent": [run.latent(model, seed) for model, seed in trained],
            "baseline_latent": [run.baseline_latent(model) for model in self.baselines],
            **{
                name: [getattr(run, name)(group) for group in groups]
                for name in (
                    "clusters",
                    "k_selection",
                    "centroids",
                    "metrics",
                    "contributions",
                    "leiden",
                    "enrichment",
                    "characterization",
                )
            },
            "summary": [run.summary],
            "tumor_type_table": list(self.tumor_type_tables.values()) if self.tumor_type else [],
            "figure_dir": [
                run.figure_dir(f) for f in ["comparison", *groups, *(["tumor_types"] if self.tumor_type else [])]
            ],
            "figure": [path for paths in self.figures().values() for path in paths],
            "attribution_dir": [run.attribution_dir] if self.attributed else [],
            "attribution": self.attributions,
            "tuning": [run.tuning(model, name) for model in self.tuned for name in TUNING_FILES],
            "tuning_worker": [path for model in self.tuned for path in self.tuning_worker_outputs(model)],
            "study": [run.study(model) for model in self.tuned],
            "annotated": self.annotated,
            "mudata": [run.mudata],
            "report": [run.report],
            "benchmarks_dir": [run.benchmarks_dir],
            "work": [run.work("train", model, f"seed{seed}") for model, seed in trained],
        }

    # The report and the default target
    def config_text(self) -> str:
        import yaml  # Snakemake has imported it already

        return yaml.safe_dump(self.config, sort_keys=False)

    def final_output(self) -> list[str]:
        return [self.layout.summary, self.layout.report, *self.tumor_type_targets]

    def supervision_note(self) -> str | None:
        """The report's word on which autoencoders saw labels (their heads'), or None when none did."""
        supervised = []
        for model in self.autoencoders:
            heads = self.model_configs[model]["heads"]
            which = []
            if heads["classification"]["weight"] > 0:
                which.append(f"a classification head on {heads['classification']['label']}")
            if heads["cox"]["weight"] > 0:
                which.append("a Cox head on survival")
            if which:
                supervised.append(f"{model} ({' and '.join(which)})")
        if not supervised:
            return None
        return (
            "Trained with the labels of training tumors: " + "; ".join(supervised) + ". Their agreement with those "
            "labels and their C-index are supervised figures (still on held-out tumors); every other model was "
            "fitted without labels."
        )

    def kernel_pca_note(self) -> str:
        return (
            "Kernel PCA is fitted on at most "
            f"{self.config['models']['baseline']['max_train_samples']} training tumors (a random subsample beyond "
            "that)."
        )
