"""The destination's connector specification, generated from the write settings of the specs
(``specs/connection.json``: every setting whose ``applies_to`` names ``write``)."""

from __future__ import annotations

from typing import Any

from airbyte_cdk.models import ConnectorSpecification, DestinationSyncMode  # type: ignore[attr-defined]

from connectors.spec import Specs
from connectors.spec.models import Setting

DOCUMENTATION_URL = "https://docs.airbyte.com/integrations/destinations/personyze"


def write_settings(specs: Specs) -> list[Setting]:
    """The settings a writer offers, in their display order."""
    return sorted(
        (s for s in specs.connection.settings if "write" in s.applies_to), key=lambda s: s.order
    )


def connection_specification(specs: Specs) -> dict[str, Any]:
    settings = write_settings(specs)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Personyze Destination Spec",
        "type": "object",
        "required": [s.name for s in settings if s.required],
        "additionalProperties": True,
        "properties": {s.name: property_schema(s) for s in settings},
    }


def property_schema(setting: Setting) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": setting.type,
        "title": setting.title,
        "description": setting.description,
        "order": setting.order,
    }
    if setting.type == "array":
        schema["items"] = {}
    if setting.secret:
        schema["airbyte_secret"] = True
    if setting.examples:
        schema["examples"] = [_typed(setting, e) for e in setting.examples]
    if setting.pattern is not None:
        schema["pattern"] = setting.pattern
    if setting.minimum is not None:
        schema["minimum"] = _typed(setting, setting.minimum)
    if setting.maximum is not None:
        schema["maximum"] = _typed(setting, setting.maximum)
    if setting.default is not None:
        schema["default"] = _typed(setting, setting.default)
    return schema


def _typed(setting: Setting, value: Any) -> Any:
    """JSON Schema keywords hold values of the property's own type (``60``, not ``60.0``)."""
    if setting.type in ("integer", "number") and isinstance(value, float) and value.is_integer():
        return int(value)
    if setting.type == "string" and value is not None and not isinstance(value, str):
        return str(value)
    return value


def connector_specification(
    specs: Specs, sync_modes: list[DestinationSyncMode]
) -> ConnectorSpecification:
    return ConnectorSpecification(
        documentationUrl=DOCUMENTATION_URL,
        connectionSpecification=connection_specification(specs),
        supportsIncremental=True,
        supported_destination_sync_modes=sync_modes,
    )
