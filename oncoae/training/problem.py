"""From the workflow's normalized modalities and one autoencoder's settings to its training problem: data,
network, objective.

Shared by the training step and hyperparameter search, so a tuned model is trained exactly as the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import anndata as ad
import numpy as np

from oncoae.data.modality import ModalityBatchSource, assemble_modalities, clinical_of, head_targets, samples_in_split
from oncoae.models.networks import ArchitectureSpec
from oncoae.settings import AutoencoderSettings
from oncoae.training.task import ObjectiveSettings

# zeros/ones among training tumors can be huge for a gene mutated once; beyond this the ones dominate the loss.
MAX_POS_WEIGHT = 100.0


class TrainingDataError(ValueError):
    pass


@dataclass
class TrainingProblem:
    train: ModalityBatchSource
    val: ModalityBatchSource
    architecture: ArchitectureSpec
    objective: ObjectiveSettings
    label_column: str | None = None
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        spec = self.architecture
        parts = [f"{spec.variant} autoencoder", f"fusion {spec.fusion}" if len(spec.modalities) > 1 else ""]
        if spec.cox_head:
            parts.append("Cox head")
        if spec.class_names:
            parts.append(f"classification head on {self.label_column}")
        return ", ".join(p for p in [*parts, *self.notes] if p)

    def metadata(self) -> dict:
        """What the saved model should remember besides its weights."""
        return {"label_column": self.label_column} if self.label_column else {}


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> list[float]:
    """scikit-learn's "balanced" weights from the training tumors' class indices (-1: unknown, left out):
    known tumors / (classes x the class's count). Every class has a training tumor (the class list comes from
    them)."""
    counts = np.bincount(labels[labels >= 0], minlength=n_classes).astype(float)
    return [float(weight) for weight in counts.sum() / (n_classes * counts)]


def balanced_pos_weight(values: np.ndarray, present: np.ndarray) -> float:
    """zeros / ones over the tumors that have the modality, capped at ``MAX_POS_WEIGHT`` (1 if there is no one)."""
    observed = values[present]
    ones = float(observed.sum())
    if ones == 0:
        return 1.0
    return float(min(MAX_POS_WEIGHT, (observed.size - ones) / ones))


def _check_kind(name: str, kind: str, values: np.ndarray, present: np.ndarray) -> None:
    observed = values[present]
    if kind == "beta" and observed.size and (observed.min() < 0 or observed.max() > 1):
        raise TrainingDataError(
            f"modality {name!r} has kind beta but values outside [0, 1] (min {observed.min():.3g}, max "
            f"{observed.max():.3g}); beta values must not be transformed or scaled"
        )
    if kind in ("counts", "binary") and observed.size and observed.min() < 0:
        raise TrainingDataError(f"modality {name!r} has kind {kind} but negative values (min {observed.min():.3g})")


def training_problem(
    adatas: Mapping[str, ad.AnnData],
    architecture: Mapping,
    heads: Mapping,
    kinds: Mapping[str, str],
    losses: Mapping[str, Mapping],
) -> TrainingProblem:
    """``problem_for`` from the sections of ``AutoencoderSettings.params()`` (the rules' param), as the
    hyperparameter search holds them."""
    params = {"architecture": architecture, "heads": heads, "kinds": kinds, "losses": losses}
    return problem_for(adatas, AutoencoderSettings.from_params(params))


def problem_for(adatas: Mapping[str, ad.AnnData], settings: AutoencoderSettings) -> TrainingProblem:
    """Train and val sources (with head targets), the network spec and the objective of one autoencoder.

    ``adatas``: the normalized modalities by name, in the model's modality order (every tumor, ``obs["split"]``
    telling train, val and test apart); ``settings``: the autoencoder's architecture, heads, kinds and losses.
    """
    train_samples = samples_in_split(adatas, "train")
    val_samples = samples_in_split(adatas, "val")
    train = assemble_modalities(adatas, train_samples)
    val = assemble_modalities(adatas, val_samples)

    heads, kinds = settings.heads, settings.kinds
    survival_columns = heads.survival_columns
    label = heads.label if heads.classification > 0 else None
    train_clinical = clinical_of(adatas, train_samples)
    class_names: list[str] = []
    for column in [label, *(survival_columns or ())]:
        if column is not None and column not in train_clinical.columns:
            raise TrainingDataError(
                f"clinical column {column!r} (used by a supervised head) is not in the clinical table; "
                f"columns: {sorted(map(str, train_clinical.columns))}"
            )
    if label is not None:
        class_names = sorted({str(v) for v in train_clinical[label].dropna()})
        if len(class_names) < 2:
            raise TrainingDataError(
                f"classification head: column {label!r} has {len(class_names)} class(es) in training; give the "
                "head another label or weight 0 (ae_guided: models.autoencoders.guided.label or "
                "classification_weight)"
            )
    train.targets = head_targets(train_clinical, survival_columns, label, class_names)
    val.targets = head_targets(clinical_of(adatas, val_samples), survival_columns, label, class_names)

    likelihood_options: dict[str, dict] = {}
    notes = []
    for index, name in enumerate(adatas):
        _check_kind(name, kinds[name], train.dense(name), train.presence[:, index])
        if kinds[name] != "binary":
            continue
        options = settings.losses[name].to_dict()
        if options.get("pos_weight") == "auto":
            options["pos_weight"] = balanced_pos_weight(train.dense(name), train.presence[:, index])
            notes.append(f"{name}: pos_weight {options['pos_weight']:.2f}")
        likelihood_options[name] = options

    architecture = settings.architecture
    spec = ArchitectureSpec(
        modalities={name: (adata.n_vars, kinds[name]) for name, adata in adatas.items()},
        hidden_sizes=list(architecture.hidden_sizes),
        latent_dim=architecture.latent_dim,
        activation=architecture.activation,
        dropout=architecture.dropout,
        batch_norm=architecture.batch_norm,
        variant=architecture.variant,
        fusion=architecture.fusion if len(adatas) > 1 else "mean",
        likelihood_options=likelihood_options,
        cox_head=survival_columns is not None,
        class_names=class_names,
    )
    # The corruption and the KL term belong to their variant only.
    denoising = architecture.denoising if architecture.variant == "denoising" else None
    vae = architecture.vae if architecture.variant == "vae" else None
    objective = ObjectiveSettings(
        input_dropout=float(denoising.input_dropout) if denoising else 0.0,
        input_noise=float(denoising.input_noise) if denoising else 0.0,
        beta=float(vae.beta) if vae else 1.0,
        kl_warmup_epochs=int(vae.kl_warmup_epochs) if vae else 0,
        cox_weight=float(heads.cox),
        classification_weight=float(heads.classification),
        class_weights=(
            balanced_class_weights(train.targets["label"], len(class_names))
            if label is not None and heads.class_weights == "balanced"
            else None
        ),
    )
    return TrainingProblem(train, val, spec, objective, label_column=label, notes=notes)
