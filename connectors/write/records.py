"""One input record made ready to write: metadata dropped, field map applied, checked.

A record that cannot be written is refused here, before anything is sent, with a reason the
rejects file shows: missing match key, malformed email, a value of the wrong type, a column the
object does not have (objects without dynamic columns), or a value above ``MAX_VALUE_CHARS``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.spec.models import Column, ObjectSpec, WriteMode
from connectors.write.targets import StreamTarget

META_PREFIXES = ("_airbyte_", "_sdc_")
# No documented server limit (api §2.2); 65,535 is a MySQL TEXT column, the likely storage of a
# dynamic profile or catalog value, so a longer value would be cut or refused there.
MAX_VALUE_CHARS = 65_535
EMAIL = re.compile(r"^[^@\s,;/]+@[^@\s,;/]+\.[^@\s,;/]+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^-?\d+$")


class Refused(Exception):
    """A record that cannot be written; ``str()`` is the reason."""


@dataclass
class Item:
    """A record ready to write. ``record`` is the input without metadata columns (what the
    rejects file shows); ``fields`` the mapped content (empty values dropped). ``event_id`` is
    the value of the stream's event-id column; ``identity`` the event's identity in this run
    (set by the engine)."""

    stream: str
    record: dict[str, Any]
    fields: dict[str, Any]
    key: str | None
    hash: str
    event_id: str | None = None
    identity: str = ""


def without_metadata(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith(META_PREFIXES)}


def map_fields(record: Mapping[str, Any], field_map: Mapping[str, str]) -> dict[str, Any]:
    """Rename columns by the field map (a column mapped to "" is dropped); drop empty values,
    which Personyze ignores on write anyway (api §2.3)."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        target = field_map.get(name, name)
        if not target or value is None or value == "":
            continue
        out[target] = value
    return out


def key_column(mode: WriteMode, target: StreamTarget) -> str | None:
    return "key" if mode.strategy == "commands" else target.match_key


def content_hash(obj: str, fields: Mapping[str, Any]) -> str:
    text = json.dumps({"object": obj, "fields": fields}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def shape(
    target: StreamTarget, spec: ObjectSpec, mode: WriteMode, record: Mapping[str, Any]
) -> Item:
    """The item for ``record``, or ``Refused`` with the reason."""
    clean = without_metadata(record)
    fields = map_fields(clean, target.field_map)
    event_id = None
    if target.event_id_column is not None:
        # the event's identity, not a Personyze column: not sent unless field_map maps it
        value = fields.pop(target.event_id_column, None)
        if value is None or isinstance(value, bool | dict | list):
            raise Refused(
                f"missing event id: column {target.event_id_column!r} (the stream's "
                f"event_id_column) must hold a text or a number, got {value!r}"
            )
        event_id = str(value)
    for name, value in fields.items():
        check_size(name, value)
    key_name = key_column(mode, target)
    key = None
    if key_name is not None:
        key = key_text(key_name, fields.get(key_name))
    if target.match_key == "email" and key_name == "email" and key is not None:
        check_email("email", key)
    for name in mode.required_fields:
        if name not in fields:
            raise Refused(f"missing required column {name!r}")
    if mode.strategy != "commands":
        check_columns(spec, mode, target, fields)
    return Item(target.stream, clean, fields, key, content_hash(spec.name, fields), event_id)


def key_text(name: str, value: Any) -> str:
    if value is None or value == "":
        raise Refused(f"missing match key {name!r}")
    if isinstance(value, bool | dict | list):
        raise Refused(f"match key {name!r} must be a text or a number, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise Refused(f"match key {name!r} must be a text or a whole number, got {value!r}")
        value = int(value)
    text = str(value).strip()
    if not text:
        raise Refused(f"missing match key {name!r}")
    if name == "user_id" and not _INTEGER.match(text):
        raise Refused(f"match key 'user_id' must be an integer, got {value!r}")
    return text


def check_email(name: str, value: Any) -> None:
    if not isinstance(value, str) or not EMAIL.match(value.strip()):
        raise Refused(f"column {name!r}: {value!r} is not a valid email address")


def check_size(name: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > MAX_VALUE_CHARS:
        raise Refused(
            f"column {name!r}: value of {len(text):,} characters is over the limit of "
            f"{MAX_VALUE_CHARS:,}"
        )


def check_columns(
    spec: ObjectSpec, mode: WriteMode, target: StreamTarget, fields: Mapping[str, Any]
) -> None:
    allowed = {c.name for c in spec.columns} | set(mode.input_columns)
    for name, value in fields.items():
        if name == "email":
            check_email(name, value)
        if spec.has_column(name):
            check_value(spec.column(name), value)
        elif name != "email" and not spec.dynamic_columns and name not in allowed:
            raise Refused(
                f"unknown column {name!r}: {spec.name} has no such column (map it with "
                'field_map, or drop it by mapping it to "")'
            )


def check_value(col: Column, value: Any) -> None:
    where = f"column {col.name!r}"
    if col.type in ("integer", "number"):
        if isinstance(value, bool) or not _numeric(value, integer=col.type == "integer"):
            raise Refused(
                f"{where} expects {'an integer' if col.type == 'integer' else 'a number'}"
                f", got {value!r}"
            )
    elif col.type == "string" and isinstance(value, dict | list):
        raise Refused(f"{where} expects a text, got a JSON {type(value).__name__}")
    if col.enum is not None and value not in col.enum:
        allowed = ", ".join(repr(v) for v in col.enum)
        raise Refused(f"{where} must be one of {allowed}, got {value!r}")


def _numeric(value: Any, *, integer: bool) -> bool:
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer() or not integer
    if isinstance(value, str):
        pattern = _INTEGER if integer else _NUMBER
        return bool(pattern.match(value.strip()))
    return False


def as_number(value: Any, *, integer: bool) -> int | float:
    """A numeric value or numeric text as a JSON number (the do command table wants numbers)."""
    if isinstance(value, bool):
        raise Refused(f"{value!r} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if integer and not value.is_integer():
            raise Refused(f"{value!r} is not an integer")
        return int(value) if integer else value
    if isinstance(value, str):
        text = value.strip()
        if integer and _INTEGER.match(text):
            return int(text)
        if not integer and _NUMBER.match(text):
            number = float(text)
            return int(number) if _INTEGER.match(text) else number
    kind = "an integer" if integer else "a number"
    raise Refused(f"{value!r} is not {kind}")
