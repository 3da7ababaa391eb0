"""Data activation: the write engine's operations as an Airbyte ``DESTINATION_CATALOG``, and a
configured stream's ``destination_object_name`` / sync mode / matching key back into a stream
setting of the engine.

The catalog is built from ``connectors.write.operations()`` with the protocol's own models
(``airbyte_protocol_dataclasses``: ``DestinationCatalog``, ``DestinationOperation``). airbyte-cdk
7.39 re-declares ``AirbyteMessage`` without the ``destination_catalog`` field, so the message is
serialised with the protocol package's ``AirbyteMessage`` instead.

Airbyte names operations by a destination sync mode; the engine's modes map onto them as the
Airbyte data-activation destinations (Salesforce, HubSpot) do: ``append_dedup`` is an upsert on a
matching key, ``append`` an insert, ``update`` an update of existing rows, ``soft_delete`` a
delete. ``mirror`` (make a list's membership equal the input) is ``overwrite``. The ``append`` of
events and the ``insert`` of rows never belong to the same object, so every (object, sync mode)
names one operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airbyte_cdk.models import ConfiguredAirbyteCatalog, ConfiguredAirbyteStream  # type: ignore[attr-defined]
from airbyte_protocol_dataclasses.models import AirbyteMessage as ProtocolMessage
from airbyte_protocol_dataclasses.models import (
    DestinationCatalog,
    DestinationOperation,
    DestinationSyncMode,
    Type,
)
from serpyco_rs import Serializer

from connectors.spec import Specs
from connectors.write import Operation, WriteConfigError, operations
from connectors.write.schemas import matching_columns, operation_schema
from connectors.write.targets import writable_objects

SYNC_MODES: dict[str, DestinationSyncMode] = {
    "upsert": DestinationSyncMode.append_dedup,
    "insert": DestinationSyncMode.append,
    "append": DestinationSyncMode.append,
    "update": DestinationSyncMode.update,
    "delete": DestinationSyncMode.soft_delete,
    "mirror": DestinationSyncMode.overwrite,
}
_SERIALIZER: Serializer[ProtocolMessage] = Serializer(ProtocolMessage, omit_none=True)


def sync_mode(operation: Operation) -> DestinationSyncMode:
    try:
        return SYNC_MODES[operation.mode]
    except KeyError:
        raise ValueError(
            f"write mode {operation.mode!r} of {operation.object} has no Airbyte destination "
            "sync mode; add it to SYNC_MODES in target_personyze/destination_catalog.py"
        ) from None


def supported_sync_modes(specs: Specs) -> list[DestinationSyncMode]:
    modes = {sync_mode(op) for op in operations(specs)}
    return [m for m in DestinationSyncMode if m in modes]


def destination_catalog(specs: Specs) -> DestinationCatalog:
    """One operation per (object, mode), with its matching keys (the default first)."""
    objects = writable_objects(specs)
    out = []
    for op in operations(specs):
        spec = objects[op.object]
        mode = spec.write.mode(op.mode)
        assert mode is not None  # operations() lists the spec's own modes
        out.append(
            DestinationOperation(
                object_name=op.object,
                sync_mode=sync_mode(op),
                json_schema=operation_schema(spec, mode, op.default_match_key),
                matching_keys=[[c] for c in matching_columns(op, mode)] or None,
            )
        )
    return DestinationCatalog(operations=out)


def catalog_message(catalog: DestinationCatalog) -> dict[str, Any]:
    """The ``DESTINATION_CATALOG`` message as a JSON-ready dict."""
    message = ProtocolMessage(type=Type.DESTINATION_CATALOG, destination_catalog=catalog)
    return dict(_SERIALIZER.dump(message))


# -- configured catalog -> stream settings -----------------------------------------------------


def stream_settings(
    catalog: ConfiguredAirbyteCatalog,
    configured: Mapping[str, Mapping[str, Any]],
    specs: Specs,
) -> dict[str, dict[str, Any]]:
    """Stream settings for the engine: the config's ``streams`` entries, plus, for a configured
    stream with a ``destination_object_name`` and no entry there, its object, its sync mode as
    the mode and its primary key as the match key. Streams without either are left to the
    engine (a stream named like an object writes that object with its default mode)."""
    out = {name: dict(entry) for name, entry in configured.items()}
    ops = _operations_by_sync_mode(specs)
    for stream in catalog.streams:
        name = stream.stream.name
        if name in out or not stream.destination_object_name:
            continue
        out[name] = _from_configured_stream(stream, ops)
    return out


def stream_names(catalog: ConfiguredAirbyteCatalog) -> list[str]:
    return list(dict.fromkeys(s.stream.name for s in catalog.streams))


def _operations_by_sync_mode(
    specs: Specs,
) -> dict[str, dict[DestinationSyncMode, tuple[Operation, list[str]]]]:
    """Per object and sync mode: the operation and its matching columns."""
    objects = writable_objects(specs)
    found: dict[str, dict[DestinationSyncMode, tuple[Operation, list[str]]]] = {}
    for op in operations(specs):
        mode = objects[op.object].write.mode(op.mode)
        assert mode is not None  # operations() lists the spec's own modes
        found.setdefault(op.object, {})[sync_mode(op)] = (op, matching_columns(op, mode))
    return found


def _from_configured_stream(
    stream: ConfiguredAirbyteStream,
    ops: Mapping[str, Mapping[DestinationSyncMode, tuple[Operation, list[str]]]],
) -> dict[str, Any]:
    name, obj = stream.stream.name, stream.destination_object_name
    entry: dict[str, Any] = {"object": obj}
    by_sync_mode = ops.get(str(obj))
    if by_sync_mode is None:
        return entry  # not a writable object: the engine says which objects are
    sync = stream.destination_sync_mode
    if sync not in by_sync_mode:
        allowed = ", ".join(f"{m.value} ({op.mode})" for m, (op, _) in by_sync_mode.items())
        raise WriteConfigError(
            f"stream {name!r}: destination sync mode {_value(sync)!r} has no operation on "
            f"{obj}; use one of {allowed}"
        )
    op, columns = by_sync_mode[sync]
    entry["mode"] = op.mode
    key = stream.primary_key or []
    if len(key) > 1 or any(len(path) != 1 for path in key):
        raise WriteConfigError(
            f"stream {name!r}: matching key {key!r} must be one top-level column "
            f"(one of the matching_keys of {obj} {op.mode}: {', '.join(columns)})"
        )
    # A matching column that is not a match key (``key`` of ``do``) leaves the choice to each
    # record: the engine's default applies.
    if key and (key[0][0] in op.match_keys or key[0][0] not in columns):
        entry["match_key"] = key[0][0]
    return entry


def _value(mode: Any) -> str:
    return str(getattr(mode, "value", mode))
