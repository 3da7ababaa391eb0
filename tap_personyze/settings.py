"""The tap's settings: the read settings of ``specs/connection.json`` as singer-sdk config.

The JSON Schema is generated from the spec (nothing about a setting is written here twice); it
describes the settings (``--about``, Meltano). Validation is the core's
(``ConnectionSettings.from_config``), whose messages name the setting and never show a secret;
the SDK's schema check covers only its built-in settings (stream maps, flattening, batch).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from singer_sdk.configuration._dict_config import parse_environment_config
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR, extend_validator_with_defaults

from connectors.api.redact import redact
from connectors.settings import ConnectionSettings, SettingsError


def connection_settings(config: Mapping[str, Any]) -> tuple[ConnectionSettings | None, list[str]]:
    """The validated settings, or None and the problems (each naming its setting)."""
    try:
        return ConnectionSettings.from_config(config, side="read"), []
    except SettingsError as exc:
        return None, [str(exc)]


def environment_config(
    schema: dict[str, Any], builtin: dict[str, Any], prefix: str
) -> dict[str, Any]:
    """Config from ``<PREFIX><SETTING>`` environment variables (and a .env file): the SDK parses
    its built-in settings; the Personyze settings stay text for the core, which parses them
    and names the one it cannot (the SDK would fail on ``22,32`` for a list of integers, or on
    a non-number, with a traceback)."""
    config = parse_environment_config(builtin, prefix)  # also loads .env into os.environ
    for name in schema["properties"]:
        value = os.environ.get(prefix + name.upper())
        if value is not None:
            config[name] = value
    return config


def schema_problems(config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Problems of ``config`` against ``schema``; like the SDK, fills in the schema's defaults."""
    validator = extend_validator_with_defaults(DEFAULT_JSONSCHEMA_VALIDATOR)(schema)
    return [
        f"{'.'.join(str(p) for p in error.path) or 'config'}: {error.message}"
        for error in validator.iter_errors(config)
    ]


def redacted(messages: list[str], secrets: list[str]) -> list[str]:
    return [redact(m, secrets) for m in messages]
