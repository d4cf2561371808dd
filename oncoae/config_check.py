"""Config checks that JSON Schema validation alone words poorly: unknown keys and misspelt clinical columns get a
"did you mean".

Standard library only (the Snakefile imports it before anything runs).
"""

from __future__ import annotations

import csv
import difflib
import gzip
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


class ConfigError(ValueError):
    pass


def resolve_reference(schema: Mapping, root: Mapping) -> Mapping:
    """``schema`` itself, or the node of ``root`` its ``$ref`` ("#/definitions/...") points to."""
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/"):
        node: Mapping = root
        for part in reference[2:].split("/"):
            node = node[part]
        return resolve_reference(node, root)
    return schema


_resolve = resolve_reference  # the name oncoae.tuning.space imports


def unknown_keys(config: Mapping, schema: Mapping, root: Mapping | None = None, where: str = "") -> list[str]:
    """Messages for every key the schema does not allow, with the closest allowed key where there is one."""
    root = root or schema
    schema = resolve_reference(schema, root)
    if not isinstance(config, Mapping):
        return []
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    messages = []
    for key, value in config.items():
        path = f"{where}.{key}" if where else str(key)
        if key in properties:
            messages += unknown_keys(value, properties[key], root, path)
        elif isinstance(extra, Mapping):
            messages += unknown_keys(value, extra, root, path)
        elif extra is False:
            close = difflib.get_close_matches(str(key), list(properties), n=1, cutoff=0.6)
            hint = f"; did you mean {where + '.' if where else ''}{close[0]!r}?" if close else ""
            allowed = ", ".join(sorted(properties))
            messages.append(f"unknown config key {path!r}{hint} (allowed here: {allowed})")
    return messages


def check_config_keys(config: Mapping, schema: Mapping) -> None:
    messages = unknown_keys(config, schema)
    if messages:
        # One line per key: the console shows each as it is.
        raise ConfigError("\n".join(messages))


# The clinical columns the simulator writes (oncoae.data.simulate.simulate_cohort; a test keeps them in step).
SIMULATED_CLINICAL_COLUMNS = ("sample", "subtype", "risk_program", "os_days", "os_event", "age")


def read_header(path: str | Path) -> list[str]:
    """The column names of a clinical table as the readers see them: '#' lines (cBioPortal) skipped, gzip
    opened, ',' for .csv and tab otherwise, quotes removed, names stripped."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    delimiter = "," if path.name.removesuffix(".gz").endswith(".csv") else "\t"
    with opener(path, "rt", newline="") as handle:
        for line in handle:
            if not line.startswith("#"):
                return [field.strip() for field in next(csv.reader([line], delimiter=delimiter), [])]
    return []


def configured_columns(config: Mapping) -> list[tuple[str, str]]:
    """(config key, column) for every clinical column the config names."""
    clinical, split = config["clinical"], config["split"]
    named = [("clinical.id_column", clinical.get("id_column"))]
    named += [("clinical.labels", label) for label in clinical.get("labels", [])]
    survival = clinical.get("survival") or {}
    named += [("clinical.survival.time", survival.get("time")), ("clinical.survival.event", survival.get("event"))]
    named += [("split.stratify", split.get("stratify")), ("split.column", split.get("column"))]
    named += [("evaluation.enrichment_columns", c) for c in config.get("evaluation", {}).get("enrichment_columns", [])]
    classification = config.get("heads", {}).get("classification", {})
    if classification.get("weight", 0) > 0:
        named.append(("heads.classification.label", classification.get("label")))
    guided = config.get("models", {}).get("autoencoders", {}).get("guided", {})
    if guided.get("enabled", True):
        named.append(("models.autoencoders.guided.label", guided.get("label")))
    return [(key, column) for key, column in named if column]


def closest_column(column: str, columns: list[str]) -> str | None:
    """The column meant: the same name in another case first (TCGA tables mix PAM50/pam50, OS_MONTHS/os_months,
    and column names are case-sensitive everywhere else), then the most similar name."""
    by_lower = {name.lower(): name for name in reversed(columns)}
    if column.lower() in by_lower:
        return by_lower[column.lower()]
    close = difflib.get_close_matches(column.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def check_clinical_columns(config: Mapping, columns: list[str], where: str, prefix: str = "") -> None:
    """Every clinical column the config names is in ``columns`` (the header of ``where``), or one line says which
    key names a missing column and which column was probably meant."""
    for key, column in configured_columns(config):
        if column not in columns:
            close = closest_column(column, columns)
            hint = f"; did you mean {close!r}?" if close else f"; columns are {', '.join(columns[:30])}"
            raise ConfigError(f"{prefix}{key}: column {column!r} not in {where}{hint}")


def config_error_message(error: BaseException) -> str | None:
    """The message a config error should show, or None for an error that is not about the config (a bug keeps
    its traceback). Snakemake's ``validate`` wraps the JSON Schema error, whose own message names the key."""
    for cause in (*getattr(error, "args", ()), error.__cause__, error.__context__):
        if hasattr(cause, "message") and hasattr(cause, "absolute_path"):
            where = ".".join(str(part) for part in cause.absolute_path) or "config"
            return f"{where}: {cause.message}"
    if isinstance(error, ValueError):
        return str(error)
    return None


@contextmanager
def config_errors_in_one_line() -> Iterator[None]:
    """A config error ends the run with its message alone (one line per culprit) instead of Snakemake's report of
    the file, line and call stack that raised it: the config, not the workflow, is at fault."""
    try:
        yield
    except Exception as error:
        message = config_error_message(error)
        if message is None:
            raise
        print("\n".join(f"oncoae: {line}" for line in message.splitlines()), file=sys.stderr)
        raise SystemExit(1) from None
