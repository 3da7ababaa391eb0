"""Turning JSON input into stored values and stored values back into JSON, per column spec."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from connectors.spec import Column, ObjectSpec
from personyze_sandbox.schema import bad_request

_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
INT64 = (-(2**63), 2**63 - 1)


def snake_name(name: str) -> str:
    """`firstName` and `First Name` are accepted for `first_name` (api §2.3, §6.2)."""
    name = _CAMEL.sub(r"_\1", name.strip())
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()


def column_name(spec: ObjectSpec, name: str) -> str:
    if spec.write.column_aliases and not spec.has_column(name):
        alias = snake_name(name)
        if alias:
            return alias
    return name


def checked_number(where: str, value: Any) -> Any:
    """An integer SQLite can hold (64 bits), or a 400 naming where it was."""
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        digits = str(value)
        shown = digits if len(digits) <= 24 else digits[:20] + "..."
        raise bad_request(f"{where} is out of range (64-bit integers): {shown}")
    return value


def to_stored(spec: ObjectSpec, name: str, value: Any) -> Any:
    """Validate and convert one input value; a wrong value is refused with the column named."""
    if not spec.has_column(name):
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":"))
        return checked_number(f"Column {name} of {spec.name}", value)
    col = spec.column(name)
    stored = checked_number(f"Column {name} of {spec.name}", _convert(spec, col, value))
    if col.enum is not None and stored is not None and stored not in col.enum:
        allowed = ", ".join(repr(v) for v in col.enum)
        raise bad_request(f"Column {name} of {spec.name} must be one of {allowed}")
    return stored


def _convert(spec: ObjectSpec, col: Column, value: Any) -> Any:
    if value is None:
        return None
    where = f"Column {col.name} of {spec.name}"
    if col.type in ("array", "object", "any"):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, dict | list):
        raise bad_request(f"{where} expects a {col.type}, not a JSON {type(value).__name__}")
    if col.type == "integer":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise bad_request(f"{where} expects an integer, got {value!r}")
    if col.type == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _NUMBER.match(value.strip()):
            return float(value)
        raise bad_request(f"{where} expects a number, got {value!r}")
    text = value if isinstance(value, str) else json.dumps(value)
    if col.format in ("date", "datetime"):
        return _date_text(where, text)
    return text


def _date_text(where: str, text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{where} expects a date like 2024-01-31, got {text!r}") from None
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def to_json(spec: ObjectSpec, row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the API returns it (JSON columns decoded, packed JSON expanded)."""
    return json_columns(spec).decode(row)


class JsonColumns:
    """Which of an object's stored columns hold JSON text: the columns of a JSON type
    (decoded in place) and a packed column (expanded into the row). Found once per object,
    not once per value: a row of 39 columns looked each one up among the spec's columns."""

    def __init__(self, spec: ObjectSpec) -> None:
        self.packed = frozenset(c.name for c in spec.columns if c.role == "packed_json")
        self.typed = frozenset(
            c.name
            for c in spec.columns
            if c.role != "packed_json" and c.type in ("array", "object", "any")
        )
        self._special = self.packed | self.typed

    def decode(self, row: dict[str, Any]) -> dict[str, Any]:
        if self._special.isdisjoint(row):
            return row
        out: dict[str, Any] = {}
        for name, value in row.items():
            if name in self.packed:
                packed = json.loads(value) if isinstance(value, str) and value else {}
                for key, item in (packed or {}).items():
                    out.setdefault(key, item)
            elif name in self.typed and isinstance(value, str):
                out[name] = json.loads(value)
            else:
                out[name] = value
        return out


_JSON_COLUMNS: dict[int, tuple[ObjectSpec, JsonColumns]] = {}


def json_columns(spec: ObjectSpec) -> JsonColumns:
    """The JsonColumns of ``spec``, made on first use (kept with the spec they describe)."""
    found = _JSON_COLUMNS.get(id(spec))
    if found is None or found[0] is not spec:
        found = (spec, JsonColumns(spec))
        _JSON_COLUMNS[id(spec)] = found
    return found[1]


def where_value(affinity: str, text: str) -> Any:
    """Bind a path value so SQLite compares it like the column's values."""
    if affinity in ("INTEGER", "REAL", "") and _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    return text
