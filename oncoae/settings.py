"""The config an autoencoder is trained from, as one typed object per section: architecture, training, the
supervised heads, and each modality's data kind and loss options.

Every default is the schema's (config/schema.yaml, read once by ``schema()``): each dataclass field takes its
default from there, so no default in code can disagree with the documented one (tests/test_settings.py holds
the fields and the schema's keys in step). ``from_config`` builds an object from a section as the config holds
it, and a key the schema does not know raises ``SettingsError`` naming it.

``AutoencoderSettings`` bundles the sections of one autoencoder. Its ``params()`` is the train (and tuning)
rules' param, canonicalized so that only a change to what shapes the model retrains it; the training keys that
only change how a job runs (``OPERATIONAL_TRAINING_KEYS``) stay out of it and reach the job on their own.

Standard library only (and PyYAML, which Snakemake imports anyway, once, to read the schema): the Snakefile
imports this module.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar

from oncoae.config_check import resolve_reference, unknown_keys

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"

# Training keys that change how a job runs but not the model it produces: changing one retrains nothing. They
# are left out of the model's params (and of the resumption checkpoint's fingerprint); rules/train.smk passes
# them to the job in a param Snakemake does not compare.
OPERATIONAL_TRAINING_KEYS = ("threads", "progress_bar", "checkpoint_every_n_epochs", "tensorboard")


class SettingsError(ValueError):
    pass


@functools.cache
def schema() -> dict:
    """config/schema.yaml, parsed once per process."""
    import yaml

    with open(SCHEMA_PATH) as handle:
        return yaml.safe_load(handle)


def schema_node(*keys: str) -> Mapping:
    """The schema of the config key ``keys`` (e.g. "training", "max_epochs"), references resolved."""
    root = schema()
    node = resolve_reference(root, root)
    for key in keys:
        properties = node.get("properties", {})
        if key in properties:
            node = properties[key]
        elif isinstance(node.get("additionalProperties"), Mapping):
            node = node["additionalProperties"]
        else:
            raise KeyError(f"config key {'.'.join(keys)!r} is not in the schema")
        node = resolve_reference(node, root)
    return node


_NO_DEFAULT = object()


def _filled_default(node: Mapping) -> Any:
    """A key's default as Snakemake's validation fills it in: an object's default completed with the defaults
    of its properties, recursively; ``_NO_DEFAULT`` when the schema gives none."""
    root = schema()
    node = resolve_reference(node, root)
    if "default" not in node:
        return _NO_DEFAULT
    value = copy.deepcopy(node["default"])
    if isinstance(value, dict):
        for key, child in node.get("properties", {}).items():
            if key not in value and (default := _filled_default(child)) is not _NO_DEFAULT:
                value[key] = default
    return value


def schema_default(*keys: str) -> Any:
    """The default of the config key ``keys``; a key without one is None (absent)."""
    value = _filled_default(schema_node(*keys))
    return None if value is _NO_DEFAULT else value


def _default(*keys: str) -> Any:
    """A dataclass field defaulting to the schema's default of ``keys`` (read when an object is made)."""
    return field(default_factory=functools.partial(schema_default, *keys))


def _schema_section(*keys: str) -> Callable[[type], type]:
    """Class decorator (under ``@dataclass``) for the section ``keys`` of the config: every field declared
    without a value defaults to the schema's default of the key of its name."""

    def decorate(cls: type) -> type:
        cls.SCHEMA_KEYS = keys
        for name, annotation in inspect.get_annotations(cls).items():
            if name not in cls.__dict__ and not str(annotation).startswith("ClassVar"):
                setattr(cls, name, _default(*keys, name))
        return cls

    return decorate


def check_keys(section: Mapping, *keys: str) -> None:
    """Every key of ``section`` (the config's ``keys`` section, nested sections included) is in the schema."""
    messages = unknown_keys(section, schema_node(*keys), schema(), ".".join(keys))
    if messages:
        raise SettingsError("\n".join(messages))


class _Section:
    """A config section as a frozen dataclass whose fields are the schema's keys: ``NESTED`` names the fields
    that are sections of their own; ``SCHEMA_KEYS`` locates the section in the schema (``_schema_section``)."""

    SCHEMA_KEYS: ClassVar[tuple[str, ...]] = ()
    NESTED: ClassVar[dict[str, type]] = {}

    @classmethod
    def from_config(cls, section: Mapping | None):
        section = dict(section or {})
        check_keys(section, *cls.SCHEMA_KEYS)
        values = {}
        for key, value in section.items():
            nested = cls.NESTED.get(key)
            values[key] = nested.from_config(value) if nested is not None else copy.deepcopy(value)
        return cls(**values)

    def to_dict(self) -> dict:
        """The section as the validated config holds it (keys without a schema default left out while None)."""
        values = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None and item.metadata.get("absent_when_none"):
                continue
            values[item.name] = value.to_dict() if isinstance(value, _Section) else copy.deepcopy(value)
        return values


@dataclass(frozen=True)
@_schema_section("architecture", "denoising")
class DenoisingSettings(_Section):
    """``architecture.denoising``: input corruption of the denoising variant."""

    input_dropout: float
    input_noise: float


@dataclass(frozen=True)
@_schema_section("architecture", "vae")
class VaeSettings(_Section):
    """``architecture.vae``: the KL weight of the vae variant and its warm-up."""

    beta: float
    kl_warmup_epochs: int


@dataclass(frozen=True)
@_schema_section("architecture")
class ArchitectureSettings(_Section):
    """``architecture``: the encoders, decoders and latent of an autoencoder."""

    NESTED: ClassVar[dict[str, type]] = {"denoising": DenoisingSettings, "vae": VaeSettings}

    hidden_sizes: list[int]
    latent_dim: int
    activation: str
    dropout: float
    batch_norm: bool
    variant: str
    fusion: str
    denoising: DenoisingSettings = field(default_factory=DenoisingSettings)
    vae: VaeSettings = field(default_factory=VaeSettings)


@dataclass(frozen=True)
@_schema_section("training")
class TrainingSettings(_Section):
    """``training``: Lightning training settings (``OPERATIONAL_TRAINING_KEYS`` among them)."""

    max_epochs: int
    min_epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    patience: int
    early_stopping_monitor: str
    modality_dropout: float
    modality_weights: dict[str, float]
    modality_weighting: str
    accelerator: str
    devices: int | str
    strategy: str
    precision: str
    gradient_clip_val: float | None
    fused_optimizer: bool
    deterministic: bool
    checkpoint_every_n_epochs: int
    progress_bar: bool | None
    tensorboard: bool
    threads: int

    def model_dict(self) -> dict:
        """The keys that shape the model: everything but ``OPERATIONAL_TRAINING_KEYS``."""
        return {key: value for key, value in self.to_dict().items() if key not in OPERATIONAL_TRAINING_KEYS}

    def operational_dict(self) -> dict:
        return {key: getattr(self, key) for key in OPERATIONAL_TRAINING_KEYS}


@dataclass(frozen=True)
@_schema_section("modalities", "*", "loss")
class LossSettings(_Section):
    """``modalities.<name>.loss``: options of the binary likelihood. ``input_scaling`` has no schema default
    (absent means none), so that adding it left existing models' params as they were."""

    pos_weight: float | str | None
    focal_gamma: float
    input_scaling: str | None = field(default=None, metadata={"absent_when_none": True})


@dataclass(frozen=True)
class HeadSettings:
    """The supervised heads as training sees them: the weights of the Cox and classification losses (a head is
    on when its weight is above 0), the classification head's label column and class weighting, and the Cox
    head's survival columns (``clinical.survival``). ``label``, ``class_weights`` and ``survival`` are None while
    their head is off, so that changing them retrains no model without that head (a None ``class_weights`` is
    left out of the params: models trained before it existed keep theirs)."""

    cox: float = _default("heads", "cox", "weight")
    classification: float = _default("heads", "classification", "weight")
    label: str | None = _default("heads", "classification", "label")
    class_weights: str | None = None
    survival: dict | None = _default("clinical", "survival")

    @classmethod
    def from_config(cls, heads: Mapping | None, survival: Mapping | None) -> HeadSettings:
        """From the config's ``heads`` section and ``clinical.survival`` (values kept as they are: a weight of 1
        and one of 1.0 are different params)."""
        heads = dict(heads or {})
        check_keys(heads, "heads")
        heads = merge_sections(schema_default("heads"), heads)
        cox, classification = heads["cox"]["weight"], heads["classification"]
        return cls(
            cox=cox,
            classification=classification["weight"],
            label=classification["label"] if classification["weight"] > 0 else None,
            class_weights=classification["class_weights"] if classification["weight"] > 0 else None,
            survival=copy.deepcopy(dict(survival)) if cox > 0 and survival else None,
        )

    @classmethod
    def from_params(cls, params: Mapping | None) -> HeadSettings:
        params = dict(params or {})
        _check_fields(cls, params, "heads")
        return cls(**copy.deepcopy(params))

    def to_dict(self) -> dict:
        values = asdict(self)
        if values["class_weights"] is None:
            del values["class_weights"]
        return values

    @property
    def survival_columns(self) -> tuple[str, str] | None:
        """(time, event) of the Cox head, None while it is off."""
        return (self.survival["time"], self.survival["event"]) if self.cox > 0 and self.survival else None


def _check_fields(cls: type, section: Mapping, where: str) -> None:
    import difflib

    names = [item.name for item in fields(cls)]
    for key in section:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SettingsError(f"unknown key {where}.{key}{hint} (allowed here: {', '.join(names)})")


@dataclass(frozen=True)
class AutoencoderSettings:
    """Everything one autoencoder is trained from: its sections, and each modality's kind and loss options
    (``kinds`` and ``losses`` by modality name)."""

    architecture: ArchitectureSettings = field(default_factory=ArchitectureSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    heads: HeadSettings = field(default_factory=HeadSettings)
    kinds: dict[str, str] = field(default_factory=dict)
    losses: dict[str, LossSettings] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping, modalities: Sequence[str]) -> AutoencoderSettings:
        """From the validated config one autoencoder sees (a variant's sections laid over the top level, see
        ``oncoae.workflow.variant_config``) and the modalities it is built on."""
        for name in modalities:
            check_keys(config["modalities"][name], "modalities", name)
        return cls(
            architecture=ArchitectureSettings.from_config(config["architecture"]),
            training=TrainingSettings.from_config(config["training"]),
            heads=HeadSettings.from_config(config["heads"], config["clinical"]["survival"]),
            kinds={name: config["modalities"][name]["kind"] for name in modalities},
            losses={name: LossSettings.from_config(config["modalities"][name]["loss"]) for name in modalities},
        )

    @classmethod
    def from_params(cls, params: Mapping, operational: Mapping | None = None) -> AutoencoderSettings:
        """From ``params()`` (the rules' param), with the operational training keys laid over it."""
        _check_fields(cls, params, "params")
        training = dict(params.get("training", {}))
        for key, value in (operational or {}).items():
            if key not in OPERATIONAL_TRAINING_KEYS:
                raise SettingsError(
                    f"training.{key} is not an operational key (those are {', '.join(OPERATIONAL_TRAINING_KEYS)})"
                )
            training[key] = value
        kinds = dict(params.get("kinds", {}))
        losses = dict(params.get("losses", {}))
        extra = sorted(set(losses) - set(kinds))
        if extra:
            raise SettingsError(f"losses of modalities without a kind: {extra}")
        return cls(
            architecture=ArchitectureSettings.from_config(params.get("architecture")),
            training=TrainingSettings.from_config(training),
            heads=HeadSettings.from_params(params.get("heads")),
            kinds=kinds,
            losses={name: LossSettings.from_config(losses.get(name)) for name in kinds},
        )

    def params(self) -> dict:
        """What shapes the model, canonicalized: the train and tuning rules' param (without the operational
        keys, so that changing one retrains nothing)."""
        return canonical(
            {
                "architecture": self.architecture.to_dict(),
                "training": self.training.model_dict(),
                "heads": self.heads.to_dict(),
                "kinds": dict(self.kinds),
                "losses": {name: loss.to_dict() for name, loss in self.losses.items()},
            }
        )

    def with_overrides(self, changes: Mapping[str, Mapping]) -> AutoencoderSettings:
        """These settings with a search's best values laid over them (``changes``: keys of the architecture and
        training sections, by section; oncoae.tuning.space.overrides)."""
        unknown = sorted(set(changes) - {"architecture", "training"})
        if unknown:
            raise SettingsError(f"overrides of sections a search cannot set: {unknown}")
        return replace(
            self,
            architecture=ArchitectureSettings.from_config(
                merge_sections(self.architecture.to_dict(), changes.get("architecture", {}))
            ),
            training=TrainingSettings.from_config(merge_sections(self.training.to_dict(), changes.get("training", {}))),
        )


def canonical(value: Any) -> Any:
    """A config section as a param, with dict keys sorted: Snakemake compares params as text, and reordering keys
    in a config file must not re-run anything."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def merge_sections(base: Mapping, overrides: Mapping) -> dict:
    """``base`` with ``overrides`` laid over it, nested dicts merged key by key (inputs are not modified)."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_sections(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
