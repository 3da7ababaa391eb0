"""An object's columns as the JSON Schema both read adapters and the destination show: the
documented columns typed by the spec, plus the dynamic columns seen in sample rows (typed from
their values). Additional properties stay allowed: an account can add columns at any time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connectors.spec.models import Column, ObjectSpec

JSON_TYPES: dict[str, Any] = {
    "integer": {"type": ["null", "integer"]},
    "number": {"type": ["null", "number"]},
    "string": {"type": ["null", "string"]},
    "array": {"type": ["null", "array"], "items": {}},
    "object": {"type": ["null", "object"], "additionalProperties": True},
    "any": {},
}


def json_schema(spec: ObjectSpec, sample: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for col in spec.columns:
        if col.role == "packed_json":
            continue  # its keys are returned as columns of their own
        properties[col.name] = _column_schema(col)
    seen: dict[str, set[str]] = {}
    for row in sample:
        for name, value in row.items():
            if name not in properties:
                seen.setdefault(name, set()).add(_json_type(value))
    for name in sorted(seen):
        types = seen[name] - {"null"}
        if len(types) == 1:
            properties[name] = {"type": ["null", *types]}
        elif types == {"integer", "number"}:
            properties[name] = {"type": ["null", "number"]}
        else:
            properties[name] = {}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "description": spec.description,
        "properties": properties,
        "additionalProperties": True,
    }


def _column_schema(col: Column) -> dict[str, Any]:
    schema = dict(JSON_TYPES[col.type])
    schema["description"] = col.description
    return schema


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
