"""What the API refuses before it touches data: scan rules, row caps, unknown columns.

The texts and numbers come from the specs; the decisions follow personyze-api.md §4.7-§4.8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from connectors.api.query import Condition, Query
from connectors.spec import ObjectSpec
from connectors.spec.models import ApiLimits
from personyze_sandbox.schema import bad_request

Behaviour = Literal["documented", "observed"]
# Operators an index can serve; '!=' and '!:' scan the table even on an indexed column.
INDEX_OPERATORS = frozenset({"=", ":", ">", ">=", "<", "<="})


@dataclass(frozen=True)
class ReadRules:
    limits: ApiLimits
    behaviour: Behaviour = "documented"
    row_caps: bool = True

    def indexed(self, spec: ObjectSpec, column: str) -> bool:
        if not spec.has_column(column):
            return False
        col = spec.column(column)
        if self.behaviour == "observed" and col.indexed_observed is not None:
            return col.indexed_observed
        return col.indexed

    def check_scan(self, spec: ObjectSpec, q: Query) -> None:
        """Refuse a GET that would scan the whole table (api §4.8)."""
        rule = spec.scan
        if rule is None or rule.kind == "open" or q.id is not None:
            return
        groups = q.where
        if rule.kind == "required_where":
            ok = bool(groups) and all(
                any(c.column in rule.required_columns for c in g) for g in groups
            )
        else:
            # documented indexes decide the scan rule; an observed non-index only makes it slow
            ok = bool(groups) and all(
                any(
                    spec.has_column(c.column)
                    and spec.column(c.column).indexed
                    and c.op in INDEX_OPERATORS
                    for c in g
                )
                for g in groups
            )
            if not ok and rule.kind == "indexed_where_or_order" and not groups:
                first = (q.order_by or q.order_by_desc or ("",))[0]
                ok = spec.has_column(first) and spec.column(first).indexed
        if not ok:
            raise bad_request(rule.error)

    def is_slow(self, spec: ObjectSpec, q: Query) -> bool:
        """A range condition or a condition on a non-indexed column (api §4.7)."""
        return any(self._slow_condition(spec, c) for c in q.conditions())

    def _slow_condition(self, spec: ObjectSpec, c: Condition) -> bool:
        return c.op in self.limits.slow_operators or not self.indexed(spec, c.column)

    def row_window(self, spec: ObjectSpec, q: Query) -> tuple[int, int]:
        """Offset and row count to serve; a request beyond the caps is a bare 400."""
        slow = self.is_slow(spec, q)
        cap = self.limits.max_slow_rows if slow else self.limits.max_offset_plus_limit
        offset = q.offset or 0
        if q.limit is None:
            return offset, cap if self.row_caps else 1_000_000_000
        if self.row_caps and (
            offset + q.limit > self.limits.max_offset_plus_limit or q.limit > cap
        ):
            raise bad_request("")
        return offset, q.limit

    def check_modifiers(self, q: Query) -> None:
        if q.order_by and q.order_by_desc:
            raise bad_request("Use either order_by or order_by_desc, not both")
        if q.columns and q.column:
            raise bad_request("Use either columns or column, not both")
