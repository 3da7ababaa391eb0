"""One input record made ready to write: metadata dropped, field map applied, checked.

A record that cannot be written is refused here, before anything is sent, with a reason the
rejects file shows: missing match key, malformed email, a value of the wrong type, a column the
object does not have (objects without dynamic columns), a value above ``MAX_VALUE_CHARS``, or a
value strict JSON cannot carry (NaN, Infinity, text that is not valid Unicode, an integer beyond
64 bits). Each reason names the column and says what to do; the rejects file and the log add
the stream and the key.

The match key is normalised once, here (surrounding white space removed), and the normalised
text is what the strategies look up, write and count.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.spec.models import Column, ObjectSpec, WriteMode
from connectors.write.json_values import (
    FIX_AT_SOURCE,
    INT64_MAX,
    INT64_MIN,
    check_json_column,
    check_json_value,
    json_kind,
    short_digits,
)
from connectors.write.json_values import (
    Refused as Refused,  # re-exported: the strategies import it from here
)
from connectors.write.targets import StreamTarget

META_PREFIXES = ("_airbyte_", "_sdc_")
# No documented server limit (api §2.2); 65,535 is a MySQL TEXT column, the likely storage of a
# dynamic profile or catalog value, so a longer value would be cut or refused there.
MAX_VALUE_CHARS = 65_535
EMAIL = re.compile(r"^[^@\s,;/]+@[^@\s,;/]+\.[^@\s,;/]+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^-?\d+$")


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
    key_name = key_column(mode, target)
    key = None
    if key_name is not None:
        key = key_text(key_name, fields.get(key_name))
        if isinstance(fields[key_name], str):
            fields[key_name] = key  # the one form that is looked up, written and counted
    for name, value in fields.items():
        check_json_column(name, value)
        check_size(name, value)
    if isinstance(fields.get("email"), str):
        fields["email"] = fields["email"].strip()
    if target.match_key == "email" and key_name == "email" and key is not None:
        check_email("email", key)
    for name in mode.required_fields:
        if name not in fields:
            raise Refused(
                f"missing required column {name!r}: {spec.name} mode {mode.name} needs it; add "
                "it to the source, or map the column that holds it with field_map"
            )
    if mode.strategy != "commands":
        check_columns(spec, mode, target, fields)
    return Item(target.stream, clean, fields, key, content_hash(spec.name, fields), event_id)


def key_text(name: str, value: Any) -> str:
    if value is None or value == "":
        raise Refused(
            f"missing match key {name!r}: every record needs it to find its Personyze row; fill "
            "it in the source, or map the column that holds it with field_map"
        )
    if isinstance(value, bool | dict | list):
        raise Refused(
            f"match key {name!r} must be a text or a number, got a JSON {json_kind(value)}; fix "
            "it in the source, or map the column that holds the key with field_map"
        )
    if isinstance(value, float):
        if not value.is_integer():
            raise Refused(
                f"match key {name!r} must be a text or a whole number, got {value!r}; fix it in "
                "the source, or map the column that holds the key with field_map"
            )
        value = int(value)
    text = str(value).strip()
    if not text:
        raise Refused(
            f"missing match key {name!r}: it is blank; fill it in the source, or map the column "
            "that holds it with field_map"
        )
    if name == "user_id":
        if not _INTEGER.match(text):
            raise Refused(
                f"match key 'user_id' must be an integer (Personyze's profile id), got {value!r}; "
                "to match on your own ids use match_key email or internal_id"
            )
        if not INT64_MIN <= int(text) <= INT64_MAX:
            raise Refused(
                f"match key 'user_id': {short_digits(text)} is beyond Personyze's profile ids "
                f"(signed 64-bit integers, at most {INT64_MAX}), so no profile has it; map the "
                "column that holds Personyze's user_id, or match on email or internal_id instead"
            )
    return text


def check_email(name: str, value: Any) -> None:
    if not isinstance(value, str) or not EMAIL.match(value.strip()):
        raise Refused(
            f"column {name!r}: {value!r} is not a valid email address; correct it in the source "
            "(one address, name@domain.tld)"
        )


def check_size(name: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > MAX_VALUE_CHARS:
        raise Refused(
            f"column {name!r}: value of {len(text):,} characters is over the limit of "
            f"{MAX_VALUE_CHARS:,}; shorten it in the source, or drop the column with field_map "
            '(map it to "")'
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
        integer = col.type == "integer"
        if isinstance(value, bool) or not _numeric(value, integer=integer):
            raise Refused(
                f"{where} expects {'an integer' if integer else 'a number'}, got {value!r}; "
                f"{FIX_AT_SOURCE}"
            )
        if integer and isinstance(value, str):
            check_json_value(col.name, int(value.strip()))
    elif col.type == "string" and isinstance(value, dict | list):
        raise Refused(f"{where} expects a text, got a JSON {json_kind(value)}; {FIX_AT_SOURCE}")
    if col.enum is not None and value not in col.enum:
        allowed = ", ".join(repr(v) for v in col.enum)
        raise Refused(f"{where} must be one of {allowed}, got {value!r}; {FIX_AT_SOURCE}")


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
            if not INT64_MIN <= int(text) <= INT64_MAX:
                raise Refused(f"{short_digits(text)} is beyond the API's 64-bit integers")
            return int(text)
        if not integer and _NUMBER.match(text):
            number = float(text)
            return int(number) if _INTEGER.match(text) else number
    kind = "an integer" if integer else "a number"
    raise Refused(f"{value!r} is not {kind}")
