"""What the workflow builds, derived from the config. Standard library only: the Snakefile imports it.

Model names are wildcards and path components:
``ae_<modality>`` (one autoencoder per modality), ``ae_multimodal`` (joint latent over all modalities),
``pca_<modality>``, ``pca_concat``, ``kpca_<modality>`` and ``kpca_concat`` (baselines on the same inputs).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

MULTIMODAL = "multimodal"
CONCAT = "concat"
AUTOENCODER = "autoencoder"
BASELINE_FAMILIES = ("pca", "kpca")


@dataclass(frozen=True)
class ModelPlan:
    name: str
    family: str  # "autoencoder", "pca" or "kpca"
    modalities: tuple[str, ...]

    @property
    def is_autoencoder(self) -> bool:
        return self.family == AUTOENCODER

    @property
    def is_multimodal(self) -> bool:
        return len(self.modalities) > 1


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
    for family in section["baselines"]:
        if section["baselines_per_modality"] or single:
            plans += [ModelPlan(f"{family}_{m}", family, (m,)) for m in modalities]
        if len(modalities) > 1:
            plans.append(ModelPlan(f"{family}_{CONCAT}", family, modalities))
        plans += [ModelPlan(f"{family}_{name}", family, tuple(members)) for name, members in extra_sets.items()]
    return {plan.name: plan for plan in plans}


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
