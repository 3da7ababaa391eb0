"""Which Personyze object, mode, match key and field map each input stream writes with.

Everything a stream may be configured with comes from the ``write.modes`` of the object specs
(specs/objects/*.json, plus the write-only entries of specs/write/*.json such as
``articles_interactions``, which is not an object of the REST API). Bad configuration fails at
start with a ``WriteConfigError`` naming the stream and the setting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from connectors.settings import SettingsError
from connectors.spec.loader import Specs, default_specs, load_model, specs_dir
from connectors.spec.models import ObjectSpec, WriteMode

logger = logging.getLogger("personyze.write")

SETTINGS = (
    "object",
    "mode",
    "match_key",
    "field_map",
    "list_id",
    "list_name",
    "event_id_column",
)


class WriteConfigError(SettingsError):
    """A stream's write configuration is wrong; the message names the stream and the setting."""


@dataclass(frozen=True)
class StreamTarget:
    stream: str
    object: str
    mode: str
    match_key: str | None
    field_map: Mapping[str, str] = field(default_factory=dict)
    list_id: int | None = None
    list_name: str | None = None
    event_id_column: str | None = None


@dataclass(frozen=True)
class Operation:
    """One (object, mode) a stream can be configured with."""

    object: str
    mode: str
    default: bool
    match_keys: tuple[str, ...]
    default_match_key: str | None
    unreliable_match_keys: tuple[str, ...]
    required_fields: tuple[str, ...]
    event: bool
    description: str


@lru_cache(maxsize=1)
def _write_only_entries() -> tuple[ObjectSpec, ...]:
    folder = specs_dir() / "write"
    return tuple(load_model(p, ObjectSpec) for p in sorted(folder.glob("*.json")))


def writable_objects(specs: Specs | None = None) -> dict[str, ObjectSpec]:
    """Objects that have write modes, by name (REST objects first, then write-only entries)."""
    specs = specs or default_specs()
    found = {n: o for n, o in specs.objects.items() if o.write.modes}
    for entry in _write_only_entries():
        found.setdefault(entry.name, entry)
    return found


def operations(specs: Specs | None = None) -> list[Operation]:
    out = []
    for name, spec in sorted(writable_objects(specs).items()):
        for mode in spec.write.modes:
            out.append(
                Operation(
                    object=name,
                    mode=mode.name,
                    default=mode.default,
                    match_keys=mode.match_keys,
                    default_match_key=mode.match_keys[0] if mode.match_keys else None,
                    unreliable_match_keys=mode.unreliable_match_keys,
                    required_fields=mode.required_fields,
                    event=mode.event,
                    description=mode.description,
                )
            )
    return out


def parse_targets(
    streams_config: Mapping[str, Mapping[str, Any]] | None,
    stream_names: Iterable[str],
    specs: Specs | None = None,
) -> dict[str, StreamTarget]:
    """One target per stream: configured in ``streams_config[stream]``, or, for a stream named
    like a writable object, that object with its default mode and match key."""
    objects = writable_objects(specs)
    config = dict(streams_config or {})
    names = list(dict.fromkeys([*stream_names, *config]))
    return {name: _target(name, config.get(name), objects) for name in names}


def _target(
    stream: str, raw: Mapping[str, Any] | None, objects: Mapping[str, ObjectSpec]
) -> StreamTarget:
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(SETTINGS))
    if unknown:
        raise WriteConfigError(
            f"stream {stream!r}: unknown setting {unknown[0]!r}; use {', '.join(SETTINGS)}"
        )
    obj = raw.get("object") or stream
    if not isinstance(obj, str) or obj not in objects:
        where = "setting 'object'" if "object" in raw else "no setting 'object' and the name"
        raise WriteConfigError(
            f"stream {stream!r}: {where} {obj!r} is not a writable Personyze object; "
            f"use one of {', '.join(sorted(objects))}"
        )
    spec = objects[obj]
    mode = _mode(stream, spec, raw.get("mode"))
    match_key = _match_key(stream, spec, mode, raw.get("match_key"))
    field_map = _field_map(stream, raw.get("field_map"))
    list_id, list_name = _list(stream, spec, mode, raw.get("list_id"), raw.get("list_name"))
    event_id = _event_id_column(stream, spec, mode, raw.get("event_id_column"))
    return StreamTarget(stream, obj, mode.name, match_key, field_map, list_id, list_name, event_id)


def _mode(stream: str, spec: ObjectSpec, name: Any) -> WriteMode:
    if name is None or name == "":
        mode = spec.write.default_mode
        assert mode is not None  # writable_objects keeps objects with modes only
        return mode
    mode = spec.write.mode(name) if isinstance(name, str) else None
    if mode is None:
        allowed = ", ".join(m.name for m in spec.write.modes)
        raise WriteConfigError(
            f"stream {stream!r}: setting 'mode' {name!r} is not allowed for {spec.name}; "
            f"use one of {allowed}"
        )
    return mode


def _match_key(stream: str, spec: ObjectSpec, mode: WriteMode, key: Any) -> str | None:
    if not mode.match_keys:
        if key not in (None, ""):
            raise WriteConfigError(
                f"stream {stream!r}: setting 'match_key' does not apply to {spec.name} {mode.name}"
            )
        return None
    if key is None or key == "":
        key = mode.match_keys[0]
    if key not in mode.match_keys:
        raise WriteConfigError(
            f"stream {stream!r}: setting 'match_key' {key!r} is not allowed for {spec.name} "
            f"{mode.name}; use one of {', '.join(mode.match_keys)}"
        )
    if key in mode.unreliable_match_keys:
        logger.warning(
            "stream %r: match_key %r for %s is unreliable on live accounts (lookups by it may "
            "match nothing and inserts may duplicate, api §9 C1); prefer %s",
            stream,
            key,
            spec.name,
            " or ".join(k for k in mode.match_keys if k not in mode.unreliable_match_keys),
        )
    return str(key)


def _field_map(stream: str, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise WriteConfigError(
            f"stream {stream!r}: setting 'field_map' must map source column names to Personyze "
            'column names (text to text; map to "" to drop a column)'
        )
    return dict(raw)


def _list(
    stream: str, spec: ObjectSpec, mode: WriteMode, list_id: Any, list_name: Any
) -> tuple[int | None, str | None]:
    members = mode.strategy.startswith("members_")
    if not members:
        for setting, value in (("list_id", list_id), ("list_name", list_name)):
            if value not in (None, ""):
                raise WriteConfigError(
                    f"stream {stream!r}: setting {setting!r} applies to list memberships only, "
                    f"not to {spec.name}"
                )
        return None, None
    if list_id not in (None, "") and list_name not in (None, ""):
        raise WriteConfigError(f"stream {stream!r}: set 'list_id' or 'list_name', not both")
    number: int | None = None
    if list_id not in (None, ""):
        try:
            number = int(list_id)
        except (TypeError, ValueError):
            number = None
        if number is None or number <= 0 or isinstance(list_id, bool | float):
            raise WriteConfigError(
                f"stream {stream!r}: setting 'list_id' {list_id!r} must be a positive integer"
            )
    name = None
    if list_name not in (None, ""):
        if not isinstance(list_name, str) or not list_name.strip():
            raise WriteConfigError(f"stream {stream!r}: setting 'list_name' must be a text")
        name = list_name.strip()
    return number, name


def _event_id_column(stream: str, spec: ObjectSpec, mode: WriteMode, value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not mode.event:
        raise WriteConfigError(
            f"stream {stream!r}: setting 'event_id_column' applies to events (interactions, "
            f"do commands), not to {spec.name} {mode.name}"
        )
    if not isinstance(value, str) or not value.strip():
        raise WriteConfigError(
            f"stream {stream!r}: setting 'event_id_column' must name a column of the input"
        )
    return value.strip()


def resolve(target: StreamTarget, specs: Specs | None = None) -> tuple[ObjectSpec, WriteMode]:
    spec = writable_objects(specs)[target.object]
    mode = spec.write.mode(target.mode)
    if mode is None:
        raise WriteConfigError(
            f"stream {target.stream!r}: setting 'mode' {target.mode!r} is not allowed for "
            f"{target.object}"
        )
    return spec, mode
