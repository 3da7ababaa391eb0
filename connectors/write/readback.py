"""Reading events back: how many rows like an event Personyze already holds.

Of a product interaction Personyze stores the user, the product, the status, transaction_time,
quantity, amount and action_id, and nothing else: rows equal in all of these cannot be told
apart, so events are counted, not identified. The n-th event of a run with a given content is
sent only when Personyze holds fewer than n rows with that content (``EventTally``); that is
what lets a rerun, or an Airbyte attempt retried in a new container, send nothing twice without
any file. Reads use the indexed columns only (product, user, status: up to 1000 rows per
request, api §4.7) and compare the other columns here; a request that comes back full is split.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from connectors.api.query import Query, all_of, cond, encode_value
from connectors.write.execute import parallel
from connectors.write.plan import MAX_EQUALITY_ROWS, MAX_IN_CHARS

if TYPE_CHECKING:
    from connectors.write.context import Context

# object, user key type, user key value, the stored columns as (name, value) pairs
EventKey = tuple[str, str, str, tuple[tuple[str, Any], ...]]
STORED = ("status", "transaction_time", "quantity", "amount", "action_id")
# Rows of one (user, item, transaction_time) read per request when a full read must be split
# down to one pair: a condition on transaction_time (not indexed) is a slow query (api §4.7).
SLOW_ROWS = 50


def normalised(column: str, value: Any) -> Any:
    """A stored value as the read-back compares it (quantity defaults to 1, api §6.2)."""
    if column == "quantity" and value in (None, ""):
        return 1.0
    if value in (None, ""):
        return None
    if column in ("transaction_time", "action_id"):
        return int(float(value))
    if column in ("quantity", "amount"):
        return float(value)
    return str(value)


def match_of(item_column: str, item: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """What Personyze will store of an event (the columns a read-back compares)."""
    out = {item_column: normalised(item_column, item)}
    out.update({c: normalised(c, fields.get(c)) for c in STORED})
    return out


def event_key(readback: Mapping[str, Any]) -> EventKey:
    kind, value = readback["user"]
    return (
        str(readback["object"]),
        str(kind),
        str(value),
        tuple(sorted(readback["match"].items())),
    )


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class EventTally:
    """How many events of each content the run has asked for, shared by the streams of a run
    (16-byte digests: a run may hold millions of events). ``track``: count each identity once
    (a ledger file can name an event again: a leftover of an earlier run, then its record)."""

    def __init__(self, *, track: bool = False) -> None:
        self._seen: Counter[bytes] = Counter()
        self._counted: set[bytes] | None = set() if track else None
        self._lock = threading.Lock()

    def count(self, identity: str, key: EventKey) -> int:
        """Count an event; its rank among the run's events like it."""
        digest = _digest(repr(key))
        with self._lock:
            if self._counted is None:
                self._seen[digest] += 1
            elif (mark := _digest(identity)) not in self._counted:
                self._counted.add(mark)
                self._seen[digest] += 1
            return self._seen[digest]

    def uncount(self, identity: str, key: EventKey) -> None:
        """An event Personyze refused: it does not count toward what should be there."""
        digest = _digest(repr(key))
        with self._lock:
            if self._counted is not None:
                mark = _digest(identity)
                if mark not in self._counted:
                    return
                self._counted.discard(mark)
            self._seen[digest] -= 1

    def seen(self, key: EventKey) -> int:
        with self._lock:
            return self._seen[_digest(repr(key))]


def held(ctx: Context, keys: Iterable[EventKey]) -> dict[EventKey, int]:
    """Rows Personyze holds now for each key (0 when the user does not exist yet)."""
    wanted = list(dict.fromkeys(keys))
    uids: dict[EventKey, str] = {}
    by_kind: dict[str, list[str]] = {}
    for key in wanted:
        if key[1] == "user_id":
            uids[key] = key[2]
        else:
            by_kind.setdefault(key[1], []).append(key[2])
    for kind, values in by_kind.items():
        found = ctx.users.lookup(ctx.stream, kind, values)
        for key in wanted:
            if key[1] == kind and key[2] in found:
                uids[key] = str(found[key[2]])
    out = {key: 0 for key in wanted}
    for obj in dict.fromkeys(k[0] for k in uids):
        pairs = [(k, uids[k]) for k in wanted if k in uids and k[0] == obj]
        rows: Counter[tuple[str, tuple[tuple[str, Any], ...]]] = Counter()
        chunks = _chunks(pairs)

        def read(chunk: list[tuple[EventKey, str]], obj: str = obj) -> list[dict[str, Any]]:
            return _read(ctx, obj, chunk)

        for chunk, answer in zip(chunks, parallel(ctx.pool, read, chunks), strict=True):
            for row in answer:
                rows[_row_key(row, chunk[0][0])] += 1
        for key, uid in pairs:
            out[key] = rows[(uid, key[3])]
    return out


def _item_column(key: EventKey) -> str:
    return next(name for name, _ in key[3] if name not in STORED)


def _row_key(row: Mapping[str, Any], sample: EventKey) -> tuple[str, tuple[tuple[str, Any], ...]]:
    names = [name for name, _ in sample[3]]
    return str(row.get("user_id")), tuple(sorted((n, normalised(n, row.get(n))) for n in names))


def _chunks(pairs: list[tuple[EventKey, str]]) -> list[list[tuple[EventKey, str]]]:
    """Pairs cut so that the IN-lists of items, users and statuses fit one path."""
    out: list[list[tuple[EventKey, str]]] = []
    current: list[tuple[EventKey, str]] = []
    listed: set[tuple[int, str]] = set()
    size = 0
    for key, uid in pairs:
        values = dict(key[3])
        atoms = {(0, str(values[_item_column(key)])), (1, uid), (2, str(values["status"]))}
        cost = sum(len(encode_value(v)) + 1 for _, v in atoms - listed)
        if current and size + cost > MAX_IN_CHARS:
            out.append(current)
            current, listed, size = [], set(), 0
            cost = sum(len(encode_value(v)) + 1 for _, v in atoms)
        current.append((key, uid))
        listed |= atoms
        size += cost
    if current:
        out.append(current)
    return out


def _read(ctx: Context, obj: str, pairs: list[tuple[EventKey, str]]) -> list[dict[str, Any]]:
    """Rows of ``obj`` for these pairs by the indexed columns; a full answer may have been cut
    at the row cap, so it is read again in halves (one pair: by transaction_time)."""
    item_column = _item_column(pairs[0][0])
    columns = ("user_id", item_column, *STORED)
    items = sorted({str(dict(k[3])[item_column]) for k, _ in pairs})
    users = sorted({u for _, u in pairs})
    statuses = sorted({str(dict(k[3])["status"]) for k, _ in pairs})
    q = Query(
        obj,
        where=all_of(
            cond(item_column, ":", items),
            cond("user_id", ":", users),
            cond("status", ":", statuses),
        ),
        columns=columns,
        limit=MAX_EQUALITY_ROWS,
    )
    rows = ctx.gw.get(ctx.stream, q) or []
    if len(rows) < MAX_EQUALITY_ROWS:
        return list(rows)
    if len(pairs) > 1:
        half = len(pairs) // 2
        return _read(ctx, obj, pairs[:half]) + _read(ctx, obj, pairs[half:])
    key, uid = pairs[0]
    values = dict(key[3])
    # Over a thousand rows of one user and item with this status: only the event's second
    # can narrow it, a slow query. At most SLOW_ROWS identical events in one second are seen,
    # which is more than any input holds.
    q = Query(
        obj,
        where=all_of(
            cond(item_column, "=", values[item_column]),
            cond("user_id", "=", uid),
            cond("status", "=", values["status"]),
            cond("transaction_time", "=", values["transaction_time"]),
        ),
        columns=columns,
        limit=SLOW_ROWS,
    )
    return list(ctx.gw.get(ctx.stream, q) or [])
