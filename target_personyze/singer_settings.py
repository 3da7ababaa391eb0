"""The target's settings: the write settings of ``specs/connection.json`` as singer-sdk config,
plus what the target makes of singer-sdk's built-in target settings.

The JSON Schema of the Personyze settings is generated from the spec; their validation is the
core's (``write_setup``), whose messages name the setting and never show the key.

singer-sdk adds ``load_method``, ``batch_size_rows``, ``validate_records`` and
``add_record_metadata`` to every target. Here:

- ``load_method``: ``upsert`` (the default here) writes each stream with its configured mode, or
  its object's default mode; ``append-only`` only adds to Personyze and never changes or removes
  what is there: streams without a ``mode`` insert (an existing row is rejected, not changed) or
  append events, and a stream configured with a mode that changes or removes rows is a
  configuration error; ``overwrite`` (delete everything, then load) is refused: the API cannot
  empty an object, and list memberships have their own ``mirror`` mode.
- ``batch_size_rows``: the write engine's batch size (records buffered per stream); it is one of
  the Personyze write settings, so the spec's definition (default, range) replaces the SDK's.
- ``validate_records`` (default true): each record is checked against its stream's SCHEMA; an
  invalid record goes to the rejects file with the validator's reason and the run goes on.
- ``add_record_metadata``: refused when true. Personyze has no place for ``_sdc_*`` columns (the
  write engine drops them), so the setting could only mislead.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.settings.schema import singer_settings_schema
from connectors.spec import Specs
from connectors.write import Operation, WriteConfigError, operations

UPSERT, APPEND_ONLY, OVERWRITE = "upsert", "append-only", "overwrite"
LOAD_METHODS = (UPSERT, APPEND_ONLY, OVERWRITE)
# Modes that only add: a new row (insert) or an event (append).
ADDING_MODES = frozenset({"insert", "append"})

BUILTIN_SETTINGS: dict[str, dict[str, Any]] = {
    "load_method": {
        "type": ["string"],
        "title": "Load method",
        "description": (
            "upsert: each stream writes with its mode (streams.<name>.mode, or the object's "
            "default). append-only: only add to Personyze, never change or remove: streams "
            "without a mode insert new rows (existing rows are rejected) or append events. "
            "overwrite is not supported: the API cannot empty an object (use mode mirror for "
            "list memberships)."
        ),
        "enum": [UPSERT, APPEND_ONLY, OVERWRITE],
        "default": UPSERT,
    },
    "validate_records": {
        "type": ["boolean"],
        "title": "Validate records",
        "description": (
            "Check each record against its stream's SCHEMA message; a record that does not "
            "match goes to the rejected-records file with the reason, and the run goes on."
        ),
        "default": True,
    },
    "add_record_metadata": {
        "type": ["boolean"],
        "title": "Add record metadata",
        "description": (
            "Not supported (must be false): Personyze has no place for _sdc_* metadata "
            "columns; they are dropped before writing."
        ),
        "default": False,
    },
}


def config_jsonschema(specs: Specs) -> dict[str, Any]:
    """JSON Schema of the target's config: one property per setting that applies to writing,
    then the SDK's built-in target settings as this target implements them."""
    schema = singer_settings_schema(specs, "write")
    for name, prop in BUILTIN_SETTINGS.items():
        schema["properties"].setdefault(name, prop)
    return schema


def load_method(config: Mapping[str, Any]) -> str:
    value = config.get("load_method") or UPSERT
    if value == OVERWRITE:
        raise WriteConfigError(
            "load_method: 'overwrite' is not supported: the Personyze API cannot delete every "
            "row of an object before a load. Use load_method 'upsert' (to make a list's "
            "members equal the input, give that stream mode 'mirror')"
        )
    if value not in LOAD_METHODS:
        raise WriteConfigError(
            f"load_method: {value!r} is not a load method; use 'upsert' or 'append-only'"
        )
    return str(value)


def check_builtin_settings(config: Mapping[str, Any]) -> None:
    """Refuse the SDK settings this target cannot honour; the message says what to do."""
    load_method(config)
    if config.get("add_record_metadata") in (True, "true", "True", 1):
        raise WriteConfigError(
            "add_record_metadata: must be false: Personyze has no place for _sdc_* metadata "
            "columns (the target drops them before writing)"
        )


def streams_for_load_method(
    method: str, streams_config: Mapping[str, Mapping[str, Any]], stream: str, specs: Specs
) -> dict[str, Any] | None:
    """``stream``'s configuration under ``method`` (None: no entry, the object's defaults).
    Raises ``WriteConfigError`` when the stream cannot be written that way."""
    entry = dict(streams_config[stream]) if stream in streams_config else None
    if method != APPEND_ONLY:
        return entry
    obj = (entry or {}).get("object") or stream
    ops = [op for op in operations(specs) if op.object == obj]
    if not ops:
        return entry  # not a writable object: parse_targets says so, naming the setting
    mode = (entry or {}).get("mode")
    if mode in (None, ""):
        chosen = _adding_mode(ops)
        if chosen is None:
            raise WriteConfigError(
                f"stream {stream!r}: load_method 'append-only' cannot write {obj}: it has no "
                "mode that only adds (insert or append); use load_method 'upsert'"
            )
        return {**(entry or {}), "mode": chosen.mode}
    if mode not in ADDING_MODES:
        raise WriteConfigError(
            f"stream {stream!r}: setting 'mode' {mode!r} changes or removes existing data, "
            "which load_method 'append-only' forbids; use mode insert/append or load_method "
            "'upsert'"
        )
    return entry


def _adding_mode(ops: list[Operation]) -> Operation | None:
    for op in ops:
        if op.default and op.mode in ADDING_MODES:
            return op
    return next((op for op in ops if op.mode == "insert"), None)


def json_native(value: Any) -> Any:
    """``value`` with the SDK's ``Decimal`` numbers (its JSON reader parses every
    float in the input and in the config file as one)
    turned into ``int`` (whole numbers) or ``float``, as the engine and the JSON encoder want."""
    if isinstance(value, dict):
        return {k: json_native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_native(v) for v in value]
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    return value
