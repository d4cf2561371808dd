"""Config checks that JSON Schema validation alone words poorly: unknown keys get a "did you mean".

Standard library only (the Snakefile imports it before anything runs).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping


class ConfigError(ValueError):
    pass


def _resolve(schema: Mapping, root: Mapping) -> Mapping:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/"):
        node: Mapping = root
        for part in reference[2:].split("/"):
            node = node[part]
        return _resolve(node, root)
    return schema


def unknown_keys(config: Mapping, schema: Mapping, root: Mapping | None = None, where: str = "") -> list[str]:
    """Messages for every key the schema does not allow, with the closest allowed key where there is one."""
    root = root or schema
    schema = _resolve(schema, root)
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
        raise ConfigError("invalid config:\n  " + "\n  ".join(messages))
