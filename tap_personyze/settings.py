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

from connectors.redact import redact
from connectors.settings import ConnectionSettings, SettingsError
from connectors.spec import Specs
from connectors.spec.models import Setting

ADAPTER = "read"


def config_jsonschema(specs: Specs) -> dict[str, Any]:
    """JSON Schema of the tap's config: one property per setting that applies to reading."""
    settings = sorted(
        (s for s in specs.connection.settings if ADAPTER in s.applies_to), key=lambda s: s.order
    )
    return {
        "type": "object",
        "properties": {s.name: _property(s) for s in settings},
        "required": [s.name for s in settings if s.required],
    }


def _property(setting: Setting) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "type": [setting.type],
        "title": setting.title,
        "description": setting.description,
    }
    if setting.type == "array":
        prop["items"] = {}
    if setting.secret:
        prop.update(secret=True, writeOnly=True)
    if setting.pattern is not None:
        prop["pattern"] = setting.pattern
    if setting.default is not None:
        prop["default"] = setting.default
    if setting.examples and not setting.secret:
        prop["examples"] = list(setting.examples)
    if setting.minimum is not None:
        prop["minimum"] = setting.minimum
    if setting.maximum is not None:
        prop["maximum"] = setting.maximum
    return prop


def connection_settings(config: Mapping[str, Any]) -> tuple[ConnectionSettings | None, list[str]]:
    """The validated settings, or None and the problems (each naming its setting)."""
    try:
        return ConnectionSettings.from_config(config), []
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


def secrets_of(config: Mapping[str, Any], specs: Specs) -> list[str]:
    return [
        str(config[s.name])
        for s in specs.connection.settings
        if s.secret and config.get(s.name) not in (None, "")
    ]


def redacted(messages: list[str], secrets: list[str]) -> list[str]:
    return [redact(m, secrets) for m in messages]
