"""What the workflow builds, derived from the config. Standard library only: the Snakefile imports it.

Model names are wildcards and path components:
``ae_<modality>`` (one autoencoder per modality), ``ae_multimodal`` (joint latent over all modalities),
``ae_<set>`` (modality sets), ``ae_<variant>`` (further autoencoders: VAE, denoising, heads, other fusions),
``pca_<modality>``, ``pca_concat``, ``kpca_<modality>`` and ``kpca_concat`` (baselines on the same inputs).
"""

from __future__ import annotations

import copy
import difflib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from oncoae.config_check import check_clinical_columns, check_config_keys, config_error_message

MULTIMODAL = "multimodal"
CONCAT = "concat"
AUTOENCODER = "autoencoder"
BASELINE_FAMILIES = ("pca", "kpca")


@dataclass(frozen=True)
class ModelPlan:
    name: str
    family: str  # "autoencoder", "pca" or "kpca"
    modalities: tuple[str, ...]
    variant: str | None = None  # the models.autoencoders.variants entry this autoencoder comes from

    @property
    def is_autoencoder(self) -> bool:
        return self.family == AUTOENCODER


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
    for name, variant in section["autoencoders"].get("variants", {}).items():
        members = variant.get("modalities") or modalities
        unknown = [m for m in members if m not in modalities]
        if unknown:
            raise ValueError(
                f"models.autoencoders.variants.{name}: unknown modalities {unknown}; known: {list(modalities)}"
            )
        if any(plan.name == f"ae_{name}" for plan in plans):
            raise ValueError(
                f"models.autoencoders.variants.{name}: the name ae_{name} is taken by another model; rename the variant"
            )
        plans.append(ModelPlan(f"ae_{name}", AUTOENCODER, tuple(members), variant=name))
    for family in section["baselines"]:
        if section["baselines_per_modality"] or single:
            plans += [ModelPlan(f"{family}_{m}", family, (m,)) for m in modalities]
        if len(modalities) > 1:
            plans.append(ModelPlan(f"{family}_{CONCAT}", family, modalities))
        plans += [ModelPlan(f"{family}_{name}", family, tuple(members)) for name, members in extra_sets.items()]
    return {plan.name: plan for plan in plans}


VARIANT_SECTIONS = ("architecture", "heads", "training")


def merge_sections(base: Mapping, overrides: Mapping) -> dict:
    """``base`` with ``overrides`` laid over it, nested dicts merged key by key (inputs are not modified)."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_sections(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def variant_config(config: Mapping, variant: str) -> dict:
    """The whole config as one variant sees it: its architecture, heads and training keys laid over the top level."""
    overrides = config["models"]["autoencoders"]["variants"][variant]
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
            prefix = f"models.autoencoders.variants.{plan.variant}: "
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
            check_clinical_columns(
                settings, columns, where, prefix=f"models.autoencoders.variants.{plans[name].variant}: "
            )


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
    import os

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
