"""What a dry run would have changed, kept in memory: rows it would have added, hidden (deleted)
or patched, so that its later reads answer what the real run's reads would (``rehearsal``).

Rows the dry run would create get placeholder ids (``<new users row 3>``): they appear as such in
the printed plan and are never sent to Personyze in a read.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.api.query import Condition, Query, Where

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def text(value: Any) -> str:
    """A value as a path condition spells it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("<new ") and value.endswith(">")


def snake_name(name: str) -> str:
    """`firstName` and `First Name` are stored as `first_name` (api §2.3)."""
    name = _CAMEL.sub(r"_\1", name.strip())
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()


def matches(view: Mapping[str, Any], c: Condition) -> bool | None:
    """Whether a row holds a condition; None when the row does not show the column."""
    if c.column not in view:
        return None
    value = text(view[c.column]) if view[c.column] is not None else None
    if isinstance(c.value, tuple):
        inside = value in c.value
        return inside if c.op == ":" else not inside
    if c.op == "=":
        return value == c.value
    if c.op == "!=":
        return value != c.value
    if value is None:
        return False
    a: Any = value
    b: Any = c.value
    if _NUMBER.match(value) and _NUMBER.match(c.value):
        a, b = float(value), float(c.value)
    return bool({">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[c.op])


def holds(view: Mapping[str, Any], where: Where) -> bool:
    """A row (every column shown) holds a where in disjunctive normal form."""
    return not where or any(all(matches(view, c) for c in group) for group in where)


def equalities(where: Where) -> dict[str, str]:
    """Columns a where fixes to one value (single group: ``=`` or a one-value ``:``)."""
    if len(where) != 1:
        return {}
    fixed = {}
    for c in where[0]:
        if c.op == "=" and not isinstance(c.value, tuple):
            fixed[c.column] = c.value
        elif c.op == ":" and isinstance(c.value, tuple) and len(c.value) == 1:
            fixed[c.column] = c.value[0]
    return fixed


def without_placeholders(q: Query) -> Query | None:
    """The query Personyze can answer: placeholder values dropped (no real row has them); None
    when no real row can match."""
    groups = []
    for group in q.where:
        kept: list[Condition] = []
        for c in group:
            if isinstance(c.value, tuple):
                values = tuple(v for v in c.value if not placeholder(v))
                if values == c.value:
                    kept.append(c)
                elif values:
                    kept.append(Condition(c.column, c.op, values))
                elif c.op == ":":
                    break  # in an empty list: nothing real matches this group
            elif not placeholder(c.value):
                kept.append(c)
            elif c.op == "=":
                break
        else:
            groups.append(tuple(kept))
    if q.where and not groups:
        return None
    return Query(
        q.object,
        q.id,
        tuple(groups),
        q.columns,
        q.column,
        q.order_by,
        q.order_by_desc,
        q.limit,
        q.offset,
    )


@dataclass
class Overlay:
    added: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hidden: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    patches: dict[str, list[tuple[dict[str, str], dict[str, Any]]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, obj: str) -> str:
        return f"<new {obj} row {next(self._ids)}>"

    def add(self, obj: str, row: dict[str, Any]) -> None:
        self.added.setdefault(obj, []).append(row)

    def hide(self, obj: str, conditions: Mapping[str, Any]) -> None:
        self.hidden.setdefault(obj, []).append({k: text(v) for k, v in conditions.items()})

    def unhide(self, obj: str, conditions: Mapping[str, Any]) -> None:
        wanted = {k: text(v) for k, v in conditions.items()}
        self.hidden[obj] = [h for h in self.hidden.get(obj, []) if h != wanted]

    def patch(self, obj: str, conditions: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
        wanted = {k: text(v) for k, v in conditions.items()}
        self.patches.setdefault(obj, []).append((wanted, dict(fields)))
        for row in self.added.get(obj, []):
            if all(text(row.get(k)) == v for k, v in wanted.items()):
                row.update(fields)

    def visible(self, obj: str, view: Mapping[str, Any]) -> bool:
        return not any(
            all(k in view and text(view[k]) == v for k, v in tomb.items())
            for tomb in self.hidden.get(obj, [])
        )

    def patched(self, obj: str, view: Mapping[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        for conditions, fields in self.patches.get(obj, []):
            if all(k in view and text(view[k]) == v for k, v in conditions.items()):
                row.update({k: v for k, v in fields.items() if k in row})
        return row

    def virtual(self, q: Query) -> list[dict[str, Any]]:
        rows = [r for r in self.added.get(q.object, []) if holds(r, q.where)]
        return [r for r in rows if self.visible(q.object, r)]

    def answer(self, q: Query, real: list[Any]) -> list[Any]:
        """What the real run would read: real rows not hidden (patched), then added rows,
        projected and ordered like the query asks."""
        fixed = equalities(q.where)
        out: list[Any] = []
        for row in real:
            if isinstance(row, dict):
                view = {**fixed, **row}
                if self.visible(q.object, view):
                    out.append(self.patched(q.object, view, dict(row)))
            elif self.visible(q.object, {**fixed, str(q.column): row}):
                out.append(row)
        added = self.virtual(q)
        order = q.order_by or q.order_by_desc
        if order:
            added.sort(key=lambda r: tuple(_sortable(r.get(c)) for c in order))
        for row in added:
            if q.column:
                out.append(row.get(q.column))
            elif q.columns:
                out.append({c: row.get(c) for c in q.columns})
            else:
                out.append(dict(row))
        return out


def _sortable(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, text(value))
