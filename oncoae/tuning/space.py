"""The search space of a hyperparameter search: dotted config keys -> Optuna suggestions -> config overrides.

Standard library and jsonschema (which Snakemake brings) only: the Snakefile checks the ``tuning:`` section with
this module before anything runs. Trials are used through their ``suggest_*`` methods, so Optuna itself is
imported only where trials run (``oncoae.tuning.search``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oncoae.config_check import _resolve
from oncoae.settings import OPERATIONAL_TRAINING_KEYS

SEARCHABLE_SECTIONS = ("architecture", "training")
# Keys that change how a job runs but not the model it produces, or where it runs: a search over them means nothing.
NOT_SEARCHABLE = tuple(f"training.{key}" for key in (*OPERATIONAL_TRAINING_KEYS, "accelerator", "devices", "strategy"))
HIDDEN_SIZES = "architecture.hidden_sizes"
# Optimization direction of each metric the search may be scored by (validation tumors only).
METRIC_DIRECTIONS = {"val_reconstruction_loss": "minimize", "val_c_index": "maximize"}


class TuningConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Parameter:
    """One dimension of the search space. ``key`` is the dotted config key and also Optuna's parameter name.

    Categorical choices that are lists (whole ``hidden_sizes``) go to Optuna as JSON text, which its
    categorical distribution can store; ``decode`` turns them back.
    """

    key: str
    kind: str  # "int", "float" or "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple | None = None

    def encode(self, value: Any) -> Any:
        return json.dumps(value) if isinstance(value, list) else value

    def decode(self, value: Any) -> Any:
        if self.kind == "categorical" and isinstance(value, str) and value.startswith("["):
            return json.loads(value)
        return value

    def suggest(self, trial: Any) -> Any:
        """The trial's value, decoded (a hidden_sizes choice comes back as a list)."""
        if self.kind == "int":
            step = int(self.step) if self.step is not None else 1
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=step, log=self.log)
        if self.kind == "float":
            return trial.suggest_float(self.key, float(self.low), float(self.high), step=self.step, log=self.log)
        return self.decode(trial.suggest_categorical(self.key, [self.encode(c) for c in self.choices]))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` (decoded) is a point of this dimension."""
        if self.kind == "categorical":
            return any(value == choice for choice in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and int(value) != value:
            return False
        return self.low <= value <= self.high

    def candidates(self) -> list:
        """The values the config names (bounds or choices), to check against the config schema."""
        return list(self.choices) if self.kind == "categorical" else [self.low, self.high]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_parameter(key: str, entry: Mapping) -> Parameter:
    """A space entry (type, low, high, log, step, choices) as a ``Parameter``; errors name the key."""
    where = f"tuning space {key!r}"
    kind = entry.get("type", "float")
    if kind == "categorical":
        choices = entry.get("choices")
        if not choices:
            raise TuningConfigError(f"{where}: a categorical parameter needs a non-empty list of choices")
        if any(entry.get(name) not in (None, False) for name in ("low", "high", "log", "step")):
            raise TuningConfigError(f"{where}: a categorical parameter takes choices, not low/high/log/step")
        return Parameter(key, kind, choices=tuple(choices))
    low, high, log, step = entry.get("low"), entry.get("high"), bool(entry.get("log", False)), entry.get("step")
    if entry.get("choices") is not None:
        raise TuningConfigError(f"{where}: choices belong to type categorical; {kind} takes low and high")
    if not (_number(low) and _number(high)):
        raise TuningConfigError(f"{where}: type {kind} needs numeric low and high")
    if low > high:
        raise TuningConfigError(f"{where}: low {low} is above high {high}")
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise TuningConfigError(f"{where}: type int needs integer low and high")
    if log and low <= 0:
        raise TuningConfigError(f"{where}: log scale needs low > 0")
    if log and step is not None:
        raise TuningConfigError(f"{where}: log scale and step do not go together")
    if step is not None and step <= 0:
        raise TuningConfigError(f"{where}: step must be positive")
    return Parameter(key, kind, low=low, high=high, log=log, step=step)


def parse_space(space: Mapping[str, Mapping]) -> list[Parameter]:
    """Every dimension of a ``space:`` section, sorted by key (the order is part of the sampler's state)."""
    return [parse_parameter(key, space[key]) for key in sorted(space)]


def leaf_schema(schema: Mapping, key: str) -> Mapping:
    """The config schema of one dotted key under architecture or training; an unknown key is an error naming it."""
    section = key.split(".", 1)[0]
    if section not in SEARCHABLE_SECTIONS or "." not in key:
        raise TuningConfigError(
            f"tuning space {key!r}: only keys under {' or '.join(SEARCHABLE_SECTIONS)} can be searched "
            "(e.g. architecture.latent_dim, training.learning_rate)"
        )
    if key in NOT_SEARCHABLE:
        raise TuningConfigError(f"tuning space {key!r}: this key does not change the model; it cannot be searched")
    node: Mapping = schema
    walked = []
    for part in key.split("."):
        node = _resolve(node, schema)
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        if part in properties:
            node = properties[part]
        elif isinstance(extra, Mapping):
            node = extra
        else:
            where = ".".join(walked) or "the top level"
            known = ", ".join(sorted(properties)) or "none"
            raise TuningConfigError(f"tuning space {key!r}: unknown config key {part!r} under {where} (known: {known})")
        walked.append(part)
    return _resolve(node, schema)


def _types(node: Mapping) -> set[str]:
    kinds = node.get("type", [])
    return {kinds} if isinstance(kinds, str) else set(kinds)


def _check_against_schema(parameter: Parameter, node: Mapping) -> None:
    import jsonschema

    validator = jsonschema.validators.validator_for(node)(node)
    types = _types(node)
    if parameter.key == HIDDEN_SIZES:
        if parameter.kind == "float":
            raise TuningConfigError(f"tuning space {parameter.key!r}: widths are integers; use type int")
        values = [[c] if not isinstance(c, list) else c for c in parameter.candidates()]
    else:
        if parameter.kind == "int" and not types & {"integer", "number"}:
            raise TuningConfigError(f"tuning space {parameter.key!r}: type int, but the key is {sorted(types)}")
        if parameter.kind == "float" and "number" not in types:
            raise TuningConfigError(f"tuning space {parameter.key!r}: type float, but the key is {sorted(types)}")
        values = parameter.candidates()
    for value in values:
        errors = sorted(error.message for error in validator.iter_errors(value))
        if errors:
            raise TuningConfigError(f"tuning space {parameter.key!r}: {value!r} is not allowed there: {errors[0]}")


def check_tuning(
    config: Mapping, schema: Mapping, model_configs: Mapping[str, Mapping], model_modalities: Mapping[str, Sequence]
) -> None:
    """Errors the schema cannot express: an unplanned model, an unknown or ill-typed dotted key, a range outside
    the key's allowed values, a C-index metric without a Cox head. ``model_configs`` holds each planned
    autoencoder's config (its variant's overrides laid over the top level), ``model_modalities`` its modalities."""
    for model, settings in config.get("tuning", {}).get("models", {}).items():
        if model not in model_configs:
            planned = ", ".join(sorted(model_configs)) or "none"
            raise TuningConfigError(f"tuning.models.{model}: not an autoencoder this config plans (planned: {planned})")
        model_config = model_configs[model]
        if not settings.get("space"):
            raise TuningConfigError(f"tuning.models.{model}.space is empty: name at least one key to search")
        try:
            for parameter in parse_space(settings["space"]):
                _check_against_schema(parameter, leaf_schema(schema, parameter.key))
                if parameter.key.startswith("training.modality_weights."):
                    modality = parameter.key.split(".", 2)[2]
                    if modality not in model_modalities[model]:
                        raise TuningConfigError(
                            f"tuning space {parameter.key!r}: {modality!r} is not a modality of this model "
                            f"({', '.join(model_modalities[model])})"
                        )
        except TuningConfigError as error:
            raise TuningConfigError(f"tuning.models.{model}: {error}") from None
        if settings.get("metric") == "val_c_index" and not model_config["heads"]["cox"]["weight"] > 0:
            raise TuningConfigError(
                f"tuning.models.{model}: metric val_c_index scores the Cox head, but this model has none "
                "(heads.cox.weight is 0); use val_reconstruction_loss or give the model a Cox head"
            )


def _get(section: Mapping, path: Sequence[str]) -> Any:
    node: Any = section
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def config_value(key: str, base: Mapping[str, Mapping]) -> Any:
    """The value the config itself gives a dotted key (a modality weight defaults to 1)."""
    value = _get(base, key.split("."))
    if value is None and key.startswith("training.modality_weights."):
        return 1.0
    return value


def config_values(parameters: Sequence[Parameter], base: Mapping[str, Mapping]) -> dict[str, Any]:
    """The config's own value of each dimension, in the dimension's terms (decoded): for an int search over
    hidden_sizes, the width when every layer has the same one, else the whole list."""
    values = {}
    for parameter in parameters:
        value = config_value(parameter.key, base)
        if parameter.key == HIDDEN_SIZES and parameter.kind == "int" and value and len(set(value)) == 1:
            value = value[0]
        values[parameter.key] = value
    return values


def default_point(parameters: Sequence[Parameter], base: Mapping[str, Mapping]) -> dict[str, Any] | None:
    """The config's own values as a point of the space, in Optuna's encoding; None if one lies outside it."""
    values = config_values(parameters, base)
    if not all(value is not None and p.contains(value) for p, value in zip(parameters, values.values(), strict=True)):
        return None
    return {p.key: p.encode(values[p.key]) for p in parameters}


def overrides(values: Mapping[str, Any], base: Mapping[str, Mapping]) -> dict[str, dict]:
    """Decoded trial values as nested ``{"architecture": {...}, "training": {...}}`` overrides of ``base``.

    A single width for ``architecture.hidden_sizes`` becomes that width for every hidden layer of ``base``.
    """
    nested: dict[str, dict] = {section: {} for section in SEARCHABLE_SECTIONS}
    for key, value in values.items():
        if key == HIDDEN_SIZES and not isinstance(value, list):
            value = [int(value)] * max(1, len(base["architecture"]["hidden_sizes"]))
        parts = key.split(".")
        node = nested[parts[0]]
        for part in parts[1:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return {section: entries for section, entries in nested.items() if entries}


def apply_overrides(base: Mapping[str, Mapping], changes: Mapping[str, Mapping]) -> dict[str, dict]:
    """``base`` (architecture and training sections) with ``changes`` laid over it, nested keys merged."""
    from oncoae.workflow import merge_sections

    merged = copy.deepcopy(dict(base))
    for section, entries in changes.items():
        merged[section] = merge_sections(merged.get(section, {}), entries)
    return merged
