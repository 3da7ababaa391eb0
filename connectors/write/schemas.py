"""What a record of each write operation may carry, for UIs that map warehouse columns onto
Personyze objects (Airbyte data activation, documentation)."""

from __future__ import annotations

from typing import Any

from connectors.spec.json_schema import json_schema
from connectors.spec.models import ObjectSpec, WriteMode
from connectors.write.records import key_column
from connectors.write.targets import Operation, StreamTarget

# Columns the server maintains itself are not offered as mapping targets.
_SERVER_ROLES = frozenset({"modified_time", "insert_time", "packed_json"})
# An event's own time: what lets events that can be read back be sent exactly once (events.py).
EVENT_TIME = "transaction_time"
EVENT_TIME_TEXT = (
    "The event's own time, unix seconds. Map it: with it each event is sent exactly once, also "
    "when Airbyte retries a failed attempt in a new container (Personyze is read back before "
    "sending, no file needed). Without it the send time is stamped, and a retried attempt may "
    "send again the events the failed one had sent after its last checkpoint."
)


def operation_schema(spec: ObjectSpec, mode: WriteMode, default_key: str | None) -> dict[str, Any]:
    """The fields a record of this operation may carry: the object's columns (typed as the
    source's read schema types them) and the mode's extra input columns; the match key and the
    mode's required fields are required."""
    read = json_schema(spec)["properties"]
    properties: dict[str, Any] = {}
    for col in spec.columns:
        if col.role in _SERVER_ROLES or col.name not in read:
            continue
        if col.role == "auto_id" and col.name not in mode.match_keys:
            continue
        properties[col.name] = read[col.name]
    target = StreamTarget(spec.name, spec.name, mode.name, default_key)
    key = key_column(mode, target)
    required = list(dict.fromkeys([*([key] if key else []), *mode.required_fields]))
    for name in (*mode.input_columns, *required):
        properties.setdefault(name, {"description": f"input column of {spec.name} {mode.name}"})
    if mode.readback is not None and EVENT_TIME in properties:
        properties[EVENT_TIME] = {**properties[EVENT_TIME], "description": EVENT_TIME_TEXT}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "description": mode.description,
        "properties": properties,
        "required": required,
        "additionalProperties": spec.dynamic_columns,
    }


def matching_columns(op: Operation, mode: WriteMode) -> list[str]:
    """The record columns that find the row, one per match key, as the engine reads them: the
    match key itself, except for modes whose records name their key in a column of their own
    (``do``: ``key``, with ``key_type`` saying which match key it is)."""
    columns = (
        key_column(mode, StreamTarget(op.object, op.object, op.mode, k)) for k in op.match_keys
    )
    return list(dict.fromkeys(c for c in columns if c))
