"""What a write strategy works with: one stream's target and spec, the gateway, the ledger, the
outcome callbacks, and lookups shared by strategies (users by key, rows by key)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from connectors.api.query import Query, all_of, cond
from connectors.spec.loader import Specs
from connectors.spec.models import ObjectSpec, WriteMode
from connectors.write.execute import Gateway, parallel, send_do
from connectors.write.ledger import Ledger
from connectors.write.plan import MAX_EQUALITY_ROWS, in_list_chunks
from connectors.write.readback import EventTally
from connectors.write.records import Item
from connectors.write.targets import StreamTarget


@dataclass
class Context:
    """One stream's write setup, built once per run. ``accept(item, count)`` settles an item as
    written (``count`` names the summary counter, None for none), ``reject(item, reason)`` as
    refused, ``unknown(item, reason)`` as sent with an unknown outcome (reported, not resent);
    ``report``/``report_unknown`` do the same for what has no item (an earlier run's event)."""

    stream: str
    target: StreamTarget
    spec: ObjectSpec
    mode: WriteMode
    specs: Specs
    gw: Gateway
    ledger: Ledger
    pool: ThreadPoolExecutor | None
    accept: Callable[[Item, str | None], None]
    reject: Callable[[Item, str], None]
    unknown: Callable[[Item, str], None]
    count: Callable[[str, int], None]
    report: Callable[[str | None, str, Any], None]
    report_unknown: Callable[[str | None, str, Any], None]
    users: UserDirectory
    tally: EventTally
    skip_unchanged: bool = True
    state: dict[str, Any] = field(default_factory=dict)


def existing_values(
    gw: Gateway, stream: str, obj: str, column: str, values: list[str]
) -> set[str] | None:
    """Which of ``values`` some row of ``obj`` holds in ``column`` (an indexed column), by
    IN-list reads; None in a dry run."""
    found: set[str] = set()
    for chunk in in_list_chunks(values):
        q = Query(
            obj, where=all_of(cond(column, ":", chunk)), column=column, limit=MAX_EQUALITY_ROWS
        )
        rows = gw.get(stream, q)
        if rows is None:
            return None
        found |= {str(v) for v in rows if v is not None}
    return found


def row_id(value: Any) -> int | str:
    """A row id as Personyze returns it (a number), or a dry run's placeholder for a row it
    would create (``<new users row 3>``)."""
    text = str(value)
    return int(text) if text.lstrip("-").isdigit() else text


def lowest_id(values: list[Any]) -> int | str:
    """The lowest id; a real one before a placeholder."""
    ids = [row_id(v) for v in values]
    return min(ids, key=lambda i: (isinstance(i, str), i if isinstance(i, int) else 0, str(i)))


def existing_rows(
    ctx: Context, obj: str, column: str, values: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``obj`` whose ``column`` (indexed) holds one of ``values``, by value, read
    whole (to compare their content) by IN-list reads, several in flight."""
    found: dict[str, list[dict[str, Any]]] = {}

    def read(chunk: list[str]) -> list[Any]:
        q = Query(obj, where=all_of(cond(column, ":", chunk)), limit=MAX_EQUALITY_ROWS)
        return list(ctx.gw.get(ctx.stream, q))

    for rows in parallel(ctx.pool, read, in_list_chunks(values)):
        for row in rows:
            if row.get(column) is not None:
                found.setdefault(str(row[column]), []).append(dict(row))
    return found


class UserDirectory:
    """user_id of profiles by email, internal_id or user_id, cached for the run. When several
    profiles share a key the lowest user_id is used, so the choice is stable."""

    def __init__(self, gw: Gateway, pool: ThreadPoolExecutor | None = None) -> None:
        self.gw = gw
        self.pool = pool
        self._ids: dict[tuple[str, str], int | str] = {}
        self._lock = threading.Lock()

    def remember(self, key: str, rows: dict[str, list[dict[str, Any]]]) -> None:
        """Profiles read by another strategy (rows by ``key`` value): no need to look them up."""
        with self._lock:
            for value, found in rows.items():
                ids = [r["user_id"] for r in found if r.get("user_id") is not None]
                if ids:
                    self._ids[(key, value)] = lowest_id(ids)

    def lookup(self, stream: str, key: str, values: list[str]) -> dict[str, int | str]:
        """Known user ids by key value (a dry run's placeholders for profiles it would create)."""
        with self._lock:
            wanted = [v for v in dict.fromkeys(values) if (key, v) not in self._ids]
        found: dict[str, int | str] = {}

        def read(chunk: list[str]) -> list[Any]:
            q = Query(
                "users",
                where=all_of(cond(key, ":", chunk)),
                columns=tuple(dict.fromkeys(("user_id", key))),
                order_by=("user_id",),
                limit=MAX_EQUALITY_ROWS,
            )
            return list(self.gw.get(stream, q))

        for rows in parallel(self.pool, read, in_list_chunks(wanted)):
            for row in rows:
                value = row.get(key)
                if value is not None and str(value) not in found:
                    found[str(value)] = row_id(row["user_id"])
        with self._lock:
            for value, uid in found.items():
                self._ids[(key, value)] = uid
            return {v: self._ids[(key, v)] for v in values if (key, v) in self._ids}

    def ensure(
        self, stream: str, key: str, values: list[str], command: Callable[[str], list[Any]]
    ) -> dict[str, int | str]:
        """Like ``lookup``, creating missing profiles first with ``command(value)`` (a `do`
        `User profile` command keyed by ``key``, which creates a stub profile: api §6.3)."""
        known = self.lookup(stream, key, values)
        missing = [v for v in dict.fromkeys(values) if v not in known]
        if not missing or key == "user_id":
            return known
        refused: set[int] = set()

        def settle(start: int, end: int, outcome: str, reason: str) -> None:
            if outcome == "rejected":
                refused.update(range(start, end))

        send_do(self.gw, stream, [command(v) for v in missing], settle, idempotent=True)
        # read back even the profiles whose every answer was lost: they may have been created
        created = [v for i, v in enumerate(missing) if i not in refused]
        return {**known, **self.lookup(stream, key, created)}
