"""The Personyze path grammar: build a query path for the client, parse one for the sandbox.

``/<object>[/<id>]{/<modifier>/<value>}`` with the modifiers ``where``, ``columns``, ``column``,
``order_by``, ``order_by_desc`` and ``limit`` (api §4). Conditions combine with ``&`` (AND)
binding tighter than ``|`` (OR); there are no parentheses, so a where is kept in disjunctive
normal form: a tuple of OR-ed groups, each a tuple of AND-ed conditions.

Encoding (api §9 C6): the server splits on raw separators first and then percent-decodes each
atom up to twice. Values are therefore percent-encoded like ``encodeURIComponent`` after
``%`` and ``,`` were escaped once already: that survives both one and two decodings, so no value
can add a separator, an operator or a list element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import quote, unquote

Operator = Literal["=", "!=", ">", ">=", "<", "<=", ":", "!:"]
OPERATORS: tuple[Operator, ...] = ("!=", ">=", "<=", "!:", "=", ">", "<", ":")
LIST_OPERATORS: frozenset[str] = frozenset({":", "!:"})
MODIFIERS = ("where", "columns", "column", "order_by", "order_by_desc", "limit")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEX_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# Clients such as httpx and browsers percent-encode '<' and '>' in paths; '=', '!' and ':' are
# path-safe and travel raw. A value never starts where the operator is, so this is unambiguous.
_OP_FIRST = {"!": "!", ">": ">", "<": "<", "=": "=", ":": ":", "%3e": ">", "%3c": "<"}


class QuerySyntaxError(ValueError):
    """The path does not follow the grammar; the message says where."""


@dataclass(frozen=True)
class Condition:
    column: str
    op: Operator
    value: str | tuple[str, ...]

    def __post_init__(self) -> None:
        if not _IDENT.fullmatch(self.column):
            raise QuerySyntaxError(f"invalid column name {self.column!r}")
        if self.op not in OPERATORS:
            raise QuerySyntaxError(f"invalid operator {self.op!r}")
        is_list = isinstance(self.value, tuple)
        if is_list != (self.op in LIST_OPERATORS):
            raise QuerySyntaxError(f"operator {self.op!r} does not fit value {self.value!r}")


Where = tuple[tuple[Condition, ...], ...]


def cond(column: str, op: Operator, value: object) -> Condition:
    """A condition from Python values: numbers become their text, lists feed ':' and '!:'."""
    if op in LIST_OPERATORS:
        if not isinstance(value, list | tuple | set | frozenset):
            raise QuerySyntaxError(f"operator {op!r} needs a list of values")
        return Condition(column, op, tuple(_text(v) for v in value))
    return Condition(column, op, _text(value))


def all_of(*conditions: Condition) -> Where:
    """AND of conditions, as a where with one group."""
    return (tuple(conditions),) if conditions else ()


def any_of(*groups: Where) -> Where:
    """OR of wheres."""
    return tuple(group for where in groups for group in where)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Query:
    object: str
    id: str | None = None
    where: Where = ()
    columns: tuple[str, ...] = ()
    column: str | None = None
    order_by: tuple[str, ...] = ()
    order_by_desc: tuple[str, ...] = ()
    limit: int | None = None
    offset: int | None = None

    @property
    def row_count(self) -> int | None:
        return self.limit

    def conditions(self) -> list[Condition]:
        return [c for group in self.where for c in group]


def encode_value(value: str) -> str:
    """Percent-encode one value so that neither one nor two decodings change its meaning."""
    escaped = value.replace("%", "%25").replace(",", "%2C")
    try:
        return quote(escaped, safe="-_.!~*'()")
    except UnicodeEncodeError:
        raise QuerySyntaxError(f"value {value!r} is not valid Unicode text") from None


def decode_atom(atom: str) -> str:
    """Percent-decode an atom leniently up to twice (api §9 C6)."""
    once = unquote(atom, errors="strict")
    if _HEX_ESCAPE.search(once):
        return unquote(once, errors="strict")
    return once


def build_where(where: Where) -> str:
    return "|".join("&".join(_build_condition(c) for c in group) for group in where)


def _build_condition(c: Condition) -> str:
    if isinstance(c.value, tuple):
        value = ",".join(encode_value(v) for v in c.value)
    else:
        value = encode_value(c.value)
    return f"{c.column}{c.op}{value}"


def build_path(q: Query) -> str:
    """The path of a query below the API root, without a leading slash."""
    parts = [q.object]
    if q.id is not None:
        parts.append(encode_value(q.id))
    if q.where:
        parts += ["where", build_where(q.where)]
    if q.columns:
        parts += ["columns", ",".join(_checked_names(q.columns))]
    if q.column is not None:
        parts += ["column", _checked_names((q.column,))[0]]
    if q.order_by:
        parts += ["order_by", ",".join(_checked_names(q.order_by))]
    if q.order_by_desc:
        parts += ["order_by_desc", ",".join(_checked_names(q.order_by_desc))]
    if q.limit is not None:
        if q.limit < 0 or (q.offset is not None and q.offset < 0):
            raise QuerySyntaxError("limit and offset must not be negative")
        parts += ["limit", f"{q.offset},{q.limit}" if q.offset is not None else str(q.limit)]
    return "/".join(parts)


def _checked_names(names: tuple[str, ...]) -> tuple[str, ...]:
    for name in names:
        if not _IDENT.fullmatch(name):
            raise QuerySyntaxError(f"invalid column name {name!r}")
    return names


def parse_path(path: str) -> Query:
    """Parse a raw (still percent-encoded) path below the API root, e.g. ``users/where/a=1``."""
    segments = path.strip("/").split("/")
    if not segments or not segments[0]:
        raise QuerySyntaxError("missing object name")
    obj = segments[0]
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", obj):
        raise QuerySyntaxError(f"invalid object name {obj!r}")
    rest = segments[1:]
    fields: dict[str, object] = {}
    if rest and rest[0].isdigit():  # a bare number right after the object is a primary key
        fields["id"] = rest[0]
        rest = rest[1:]
    if len(rest) % 2:
        raise QuerySyntaxError(f"modifier {rest[-1]!r} has no value")
    for name, raw in zip(rest[::2], rest[1::2], strict=True):
        if name not in MODIFIERS:
            raise QuerySyntaxError(f"unknown modifier {name!r}")
        if name in fields:
            raise QuerySyntaxError(f"modifier {name!r} given more than once")
        fields[name] = raw
    return Query(
        object=obj,
        id=cast("str | None", fields.get("id")),
        where=_parse_where(cast(str, fields["where"])) if "where" in fields else (),
        columns=_parse_names(cast(str, fields["columns"])) if "columns" in fields else (),
        column=_parse_names(cast(str, fields["column"]))[0] if "column" in fields else None,
        order_by=_parse_names(cast(str, fields["order_by"])) if "order_by" in fields else (),
        order_by_desc=(
            _parse_names(cast(str, fields["order_by_desc"])) if "order_by_desc" in fields else ()
        ),
        **_parse_limit(cast(str, fields["limit"])) if "limit" in fields else {},
    )


def _decode(atom: str) -> str:
    try:
        return decode_atom(atom)
    except UnicodeDecodeError:
        raise QuerySyntaxError(f"bad percent-encoding in {atom!r}") from None


def _parse_names(raw: str) -> tuple[str, ...]:
    names = tuple(_decode(n) for n in raw.split(","))
    for name in names:
        if not _IDENT.fullmatch(name):
            raise QuerySyntaxError(f"invalid column name {name!r}")
    return names


def _parse_limit(raw: str) -> dict[str, int]:
    m = re.fullmatch(r"(\d{1,9})(?:,(\d{1,9}))?", raw)
    if not m:
        raise QuerySyntaxError(f"limit must be N or OFFSET,N, not {raw!r}")
    if m.group(2) is None:
        return {"limit": int(m.group(1))}
    return {"offset": int(m.group(1)), "limit": int(m.group(2))}


def _parse_where(raw: str) -> Where:
    if not raw:
        raise QuerySyntaxError("empty where")
    return tuple(
        tuple(_parse_condition(atom) for atom in group.split("&")) for group in raw.split("|")
    )


def _parse_condition(atom: str) -> Condition:
    m = _IDENT.match(atom)
    if not m:
        raise QuerySyntaxError(f"condition {atom!r} does not start with a column name")
    column, pos = m.group(0), m.end()
    first, pos = _op_char(atom, pos)
    if first is None:
        raise QuerySyntaxError(f"condition {atom!r} has no operator")
    second = atom[pos : pos + 1]
    if first + second in OPERATORS and second in "=:":
        op, pos = first + second, pos + 1
    elif first in OPERATORS:
        op = first
    else:
        raise QuerySyntaxError(f"condition {atom!r} has no valid operator")
    raw_value = atom[pos:]
    if op in LIST_OPERATORS:
        return Condition(
            column, cast(Operator, op), tuple(_decode(v) for v in raw_value.split(","))
        )
    return Condition(column, cast(Operator, op), _decode(raw_value))


def _op_char(atom: str, pos: int) -> tuple[str | None, int]:
    if atom[pos : pos + 3].lower() in _OP_FIRST:
        return _OP_FIRST[atom[pos : pos + 3].lower()], pos + 3
    if atom[pos : pos + 1] in _OP_FIRST:
        return _OP_FIRST[atom[pos : pos + 1]], pos + 1
    return None, pos
