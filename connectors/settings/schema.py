"""The shared settings of specs/connection.json as the JSON Schema a framework shows in its UI
(Airbyte's connectionSpecification, a Singer plugin's config schema)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from connectors.spec import Specs
from connectors.spec.models import Setting

Scope = Literal["read", "write"]


def scoped_settings(specs: Specs, scope: Scope) -> list[Setting]:
    """The settings an adapter of that side offers, in their display order."""
    return sorted(
        (s for s in specs.connection.settings if scope in s.applies_to), key=lambda s: s.order
    )


def settings_json_schema(
    specs: Specs, scope: Scope, *, title: str, secret: Mapping[str, Any]
) -> dict[str, Any]:
    """Draft-07 schema of the scope's settings; ``secret`` holds the keywords the framework
    uses to hide a value (Airbyte: ``{"airbyte_secret": True}``)."""
    settings = scoped_settings(specs, scope)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": title,
        "type": "object",
        "required": [s.name for s in settings if s.required],
        "additionalProperties": True,
        "properties": {s.name: property_schema(s, secret) for s in settings},
    }


def property_schema(setting: Setting, secret: Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": setting.type,
        "title": setting.title,
        "description": setting.description,
        "order": setting.order,
    }
    if setting.type == "array":
        schema["items"] = {}
    if setting.secret:
        schema.update(secret)
    if setting.examples:
        schema["examples"] = [_typed(setting, e) for e in setting.examples]
    for keyword in ("pattern", "minimum", "maximum", "default"):
        value = getattr(setting, keyword)
        if value is not None:
            schema[keyword] = _typed(setting, value)
    return schema


def _typed(setting: Setting, value: Any) -> Any:
    """JSON Schema keywords hold values of the property's own type (``60``, not ``60.0``)."""
    if setting.type in ("integer", "number") and isinstance(value, float) and value.is_integer():
        return int(value)
    if setting.type == "string" and value is not None and not isinstance(value, str):
        return str(value)
    return value


def singer_settings_schema(specs: Specs, scope: Scope) -> dict[str, Any]:
    """The scope's settings as a singer-sdk ``config_jsonschema`` (the tap's and the target's):
    types as lists, a secret marked ``secret``/``writeOnly`` and given no pattern or examples,
    since a JSON Schema error message would quote the value."""
    settings = scoped_settings(specs, scope)
    return {
        "type": "object",
        "properties": {s.name: _singer_property(s) for s in settings},
        "required": [s.name for s in settings if s.required],
    }


def _singer_property(setting: Setting) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "type": [setting.type],
        "title": setting.title,
        "description": setting.description,
    }
    if setting.type == "array":
        prop["items"] = {}
    if setting.secret:
        prop.update(secret=True, writeOnly=True)
    else:
        if setting.pattern is not None:
            prop["pattern"] = setting.pattern
        if setting.examples:
            prop["examples"] = list(setting.examples)
    for keyword in ("default", "minimum", "maximum"):
        value = getattr(setting, keyword)
        if value is not None:
            prop[keyword] = value
    return prop


def secret_values(config: Mapping[str, Any], specs: Specs) -> list[str]:
    """The values of the secret settings in ``config``, for redaction."""
    return [
        str(config[s.name])
        for s in specs.connection.settings
        if s.secret and config.get(s.name) not in (None, "")
    ]
