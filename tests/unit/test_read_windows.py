"""The read engine's pure parts, and the keyset scan against an in-memory API with the caps."""

from __future__ import annotations

import bisect
import itertools
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from connectors.api.errors import RowCapExceeded
from connectors.api.query import Condition, Query, cond
from connectors.read import (
    Checkpoint,
    UnpageableGroup,
    read_records,
    run_windows,
    split_windows,
    start_for,
)
from connectors.read.keyset import Item, QueryClient
from connectors.read.windows import SWITCH_INTERVAL
from connectors.spec.loader import load_model, specs_dir
from connectors.spec.models import ConnectionSpec, ObjectSpec

LIMITS = load_model(specs_dir() / "connection.json", ConnectionSpec).limits
DAY = 86_400


def make_spec(
    *,
    tie_breaker: str | None = "id",
    primary_key: tuple[str, ...] = ("id",),
    key: str = "t",
    lookback: bool = False,
    key_kind: str = "time",
) -> ObjectSpec:
    return ObjectSpec.model_validate(
        {
            "name": "things",
            "path": "things",
            "kind": "table",
            "group": "interactions",
            "description": "test",
            "sources": ["TEST"],
            "methods": ["GET"],
            "primary_key": list(primary_key),
            "columns": [
                {"name": "id", "type": "integer", "indexed": True, "description": "", "source": ""},
                {"name": "t", "type": "integer", "indexed": True, "description": "", "source": ""},
                {
                    "name": "code",
                    "type": "string",
                    "indexed": True,
                    "description": "",
                    "source": "",
                },
                {"name": "note", "type": "string", "description": "", "source": ""},
            ],
            "read": {
                "mode": "incremental",
                "key": key,
                "key_kind": key_kind,
                "tie_breaker": tie_breaker,
                "lookback": lookback,
            },
            "write": {"read_only": True},
        }
    )


class FakeApi:
    """Answers GETs like Personyze does, including both row caps, from a list of rows."""

    indexed = frozenset({"id", "t", "code"})

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.requests = 0
        self.lock = threading.Lock()
        self._sorted: dict[str, tuple[list[int], list[dict[str, Any]]] | None] = {}

    def get(self, q: Query) -> Any:
        with self.lock:
            self.requests += 1
        slow = any(
            c.op in LIMITS.slow_operators or c.column not in self.indexed for c in q.conditions()
        )
        cap = LIMITS.max_slow_rows if slow else LIMITS.max_offset_plus_limit
        offset, limit = q.offset or 0, q.limit if q.limit is not None else cap
        if offset + limit > LIMITS.max_offset_plus_limit or limit > cap:
            raise RowCapExceeded("", object=q.object, status=400)
        found = [
            r
            for r in self._candidates(q)
            if any(all(_match(r, c) for c in g) for g in q.where) or not q.where
        ]
        order = q.order_by or q.order_by_desc
        found.sort(key=lambda r: tuple(r[c] for c in order), reverse=bool(q.order_by_desc))
        found = found[offset : offset + limit]
        if q.column:
            return [r[q.column] for r in found]
        return [dict(r) for r in found]

    def _candidates(self, q: Query) -> list[dict[str, Any]]:
        """The rows a query can match, narrowed by bisection on its sort column's integer
        bounds, so that the fake's own work per request stays small beside the latencies the
        tests measure (a scan of 16,000 rows per request, 8 at a time, kept one core busy)."""
        order = q.order_by or q.order_by_desc
        if len(q.where) != 1 or not order:
            return self.rows
        column = order[0]
        if column not in self._sorted:
            values = [r[column] for r in self.rows]
            ints = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
            ranked = sorted(self.rows, key=lambda r: r[column]) if ints else []
            self._sorted[column] = ([r[column] for r in ranked], ranked) if ints else None
        index = self._sorted[column]
        if index is None:
            return self.rows
        keys, ranked = index
        low, high = 0, len(keys)
        for c in q.where[0]:
            if c.column != column or not str(c.value).lstrip("-").isdigit():
                continue
            value = int(c.value)
            if c.op in (">=", "="):
                low = max(low, bisect.bisect_left(keys, value))
            if c.op == ">":
                low = max(low, bisect.bisect_right(keys, value))
            if c.op in ("<=", "="):
                high = min(high, bisect.bisect_right(keys, value))
            if c.op == "<":
                high = min(high, bisect.bisect_left(keys, value))
        return ranked[low:high]


def _match(row: dict[str, Any], c: Condition) -> bool:
    value = row[c.column]
    target: Any = type(value)(c.value) if isinstance(c.value, str) else c.value
    outcome: bool = {
        "=": value == target,
        "!=": value != target,
        ">": value > target,
        ">=": value >= target,
        "<": value < target,
        "<=": value <= target,
    }[c.op]
    return outcome


def tied_rows() -> list[dict[str, Any]]:
    """Ties at every scale: singles, groups across page ends, 120, 999, 1000 and 1200 rows."""
    rng = random.Random(5)
    sizes = {100: 1, 101: 49, 102: 50, 103: 51, 104: 120, 105: 999, 106: 1000, 107: 1200}
    times = [t for t, n in sizes.items() for _ in range(n)]
    times += [rng.randrange(200, 400) for _ in range(300)]
    rng.shuffle(times)
    return [{"id": i + 1, "t": t, "code": f"c{t % 7}", "note": "x"} for i, t in enumerate(times)]


def read(client: QueryClient, spec: ObjectSpec, **kwargs: Any) -> Generator[Item, None, None]:
    return read_records(client, spec, limits=LIMITS, **kwargs)


def rows_of(items: list[Any]) -> list[dict[str, Any]]:
    return [i for i in items if not isinstance(i, Checkpoint)]


def as_multiset(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(sorted(r.items())) for r in rows)


# ---- split_windows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "count"),
    [
        (0, 0, 8),
        (0, 9, 3),
        (5, 5, 1),
        (1, 1000, 32),
        (10, 12, 32),
        (-3, 3, 4),
        (0, 99, 100),
    ],
)
def test_windows_are_contiguous_disjoint_and_cover(low: int, high: int, count: int) -> None:
    windows = split_windows(low, high, count)
    assert windows[0][0] == low and windows[-1][1] == high
    assert all(a <= b for a, b in windows)
    assert all(prev[1] + 1 == nxt[0] for prev, nxt in itertools.pairwise(windows))
    assert len(windows) == min(count, high - low + 1)
    widths = [b - a + 1 for a, b in windows]
    assert max(widths) - min(widths) <= 1


def test_no_windows_for_an_empty_range() -> None:
    assert split_windows(5, 4, 8) == []


# ---- run_windows -----------------------------------------------------------------------------


def test_run_windows_yields_in_window_order() -> None:
    def scan(w: tuple[int, int]) -> Iterator[int]:
        for v in range(w[0], w[1] + 1):
            if v % 97 == 0:
                time.sleep(0.001)
            yield v

    out = list(run_windows(split_windows(0, 4999, 40), scan, concurrency=4, queue_size=2))
    assert out == list(range(5000))


def test_run_windows_raises_a_later_windows_error_promptly() -> None:
    release, first_done = threading.Event(), threading.Event()

    def scan(w: tuple[int, int]) -> Iterator[int]:
        if w[0] == 0:
            release.wait(10)  # the first window hangs until the error reached the consumer
            first_done.set()
            yield 0
        elif w[0] == 2:
            raise RuntimeError("window 2 failed")
        else:
            yield w[0]

    try:
        with pytest.raises(RuntimeError, match="window 2 failed"):
            list(run_windows(split_windows(0, 3, 4), scan, concurrency=4))
        assert not first_done.is_set()
    finally:
        release.set()


def test_closing_early_stops_the_workers() -> None:
    produced = Counter[int]()

    def scan(w: tuple[int, int]) -> Iterator[int]:
        for v in range(w[0], w[1] + 1):
            produced[w[0]] += 1
            yield v

    gen = run_windows(split_windows(0, 999_999, 16), scan, concurrency=2, queue_size=2)
    assert [next(gen) for _ in range(10)] == list(range(10))
    gen.close()
    total = sum(produced.values())
    time.sleep(0.2)
    assert sum(produced.values()) == total  # nobody is still producing
    assert total < 1_000_000 // 4


# ---- start_for -------------------------------------------------------------------------------


def test_bookmark_wins_over_start_date() -> None:
    assert start_for(make_spec(), 1_700_000_123, 1_600_000_000, 3) == 1_700_000_123
    assert start_for(make_spec(), None, 1_600_000_000, 3) == 1_600_000_000
    assert start_for(make_spec(), None, None, 3) is None


def test_id_keys_ignore_start_date() -> None:
    spec = make_spec(key="id", key_kind="id", tie_breaker=None)
    assert start_for(spec, None, 1_600_000_000, 0) is None
    assert start_for(spec, 42, 1_600_000_000, 0) == 42


def test_lookback_moves_a_bookmark_back_to_a_day_start() -> None:
    spec = make_spec(lookback=True, key_kind="day")
    bookmark = 1_700_000_000  # 2023-11-14 22:13:20 UTC
    assert start_for(spec, bookmark, None, 3) == (bookmark - 3 * DAY) // DAY * DAY
    assert start_for(spec, bookmark, None, 0) == bookmark // DAY * DAY
    assert start_for(spec, None, bookmark, 3) == bookmark // DAY * DAY


# ---- the scan against the fake API -----------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 3])
def test_every_row_once_with_ties_larger_than_a_page_and_than_1000(concurrency: int) -> None:
    rows = tied_rows()
    items = list(read(FakeApi(rows), make_spec(), concurrency=concurrency))
    got = rows_of(items)
    assert as_multiset(got) == as_multiset(rows)
    assert [r["t"] for r in got] == sorted(r["t"] for r in rows)
    points = [i.value for i in items if isinstance(i, Checkpoint)]
    assert points == sorted(points) and points[-1] == max(r["t"] for r in rows)


def test_checkpoints_promise_only_what_was_yielded_and_resume_from_each() -> None:
    rows = tied_rows()
    api = FakeApi(rows)
    items = list(read(api, make_spec()))
    full = as_multiset(rows)
    for n, item in enumerate(items):
        if not isinstance(item, Checkpoint):
            continue
        before = rows_of(items[:n])
        assert as_multiset([r for r in rows if r["t"] <= item.value]) <= as_multiset(before)
        resumed = rows_of(list(read(api, make_spec(), start=item.value)))
        assert as_multiset(before) | as_multiset(resumed) == full
        assert all(r["t"] >= item.value for r in resumed)


def test_identical_rows_without_a_primary_key_keep_their_multiplicity() -> None:
    rows = [{"id": 1, "t": 10 + i // 70, "code": "a", "note": "same"} for i in range(400)]
    spec = make_spec(tie_breaker=None, primary_key=())
    got = rows_of(list(read(FakeApi(rows), spec)))
    assert as_multiset(got) == as_multiset(rows)


def test_a_group_of_1000_without_tie_breaker_is_a_clear_error() -> None:
    rows = [{"id": i, "t": 5, "code": "a", "note": ""} for i in range(1000)]
    with pytest.raises(UnpageableGroup, match=r"things.*t=5.*tie-breaker"):
        list(read(FakeApi(rows), make_spec(tie_breaker=None)))


def test_a_tie_breaker_that_is_not_unique_enough_is_a_clear_error() -> None:
    rows = [{"id": i // 1000, "t": 5, "code": "a", "note": ""} for i in range(2000)]
    with pytest.raises(UnpageableGroup, match="id=0"):
        list(read(FakeApi(rows), make_spec(primary_key=())))


def test_a_slow_partition_filter_lowers_the_group_read_to_50_rows() -> None:
    rows = [{"id": i, "t": i // 60, "code": "a", "note": "n"} for i in range(600)]
    prefix = (cond("note", "=", "n"),)  # note is not indexed: every read is slow
    got = rows_of(list(read(FakeApi(rows), make_spec(), prefix=prefix)))
    assert as_multiset(got) == as_multiset(rows)


def test_string_keys_and_bounds() -> None:
    rows: list[dict[str, Any]] = [
        {"id": i, "t": 0, "code": f"k{i % 9:02d}", "note": ""} for i in range(700)
    ]
    spec = make_spec(key="code", key_kind="id")
    api = FakeApi(rows)
    assert as_multiset(rows_of(list(read(api, spec, concurrency=4)))) == as_multiset(rows)
    some = rows_of(list(read(api, spec, start="k03", end="k05")))
    assert as_multiset(some) == as_multiset([r for r in rows if "k03" <= r["code"] <= "k05"])


def test_an_empty_object_reads_nothing() -> None:
    assert list(read(FakeApi([]), make_spec(), concurrency=4)) == []
    assert list(read(FakeApi([]), make_spec())) == []


def test_end_is_fixed_at_the_start_of_the_read() -> None:
    rows = [{"id": i, "t": 100 + i // 30, "code": "a", "note": ""} for i in range(300)]
    api = FakeApi(rows)
    gen = read(api, make_spec())
    first = next(gen)
    rows.append({"id": 999, "t": 10_000, "code": "a", "note": "late"})
    got = rows_of([first, *gen])
    assert all(r["note"] != "late" for r in got) and len(got) == 300


def test_non_table_objects_are_refused() -> None:
    spec = make_spec().model_copy(update={"kind": "html"})
    with pytest.raises(ValueError, match="not a readable table"):
        list(read(FakeApi([]), spec))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_integer_keys_sent_as_numeric_strings_still_give_integer_checkpoints(
    concurrency: int,
) -> None:
    rows = [{"id": i, "t": str(1000 + i // 40), "code": "a", "note": ""} for i in range(900)]
    items = list(read(FakeApi(rows), make_spec(), concurrency=concurrency))
    assert as_multiset(rows_of(items)) == as_multiset(rows)
    points = [i.value for i in items if isinstance(i, Checkpoint)]
    assert points and all(isinstance(v, int) for v in points) and points == sorted(points)


def test_a_probe_chain_hands_over_its_windows_in_order_then_ends() -> None:
    from connectors.read.windows import ProbeChain

    asked: list[int] = []

    def step(start: int) -> tuple[list[tuple[int, int]], int | None]:
        asked.append(start)
        end = min(start + 99, 9_999)
        return [(start, start + 9), (start + 10, end)], (end + 1 if end < 9_999 else None)

    chain = ProbeChain([(0, 49)], 50, step, ahead=3)
    taken = []
    while (window := chain.take()) is not None:
        assert isinstance(window, tuple)
        taken.append(window)
    assert taken[0] == (0, 49) and taken[-1][1] == 9_999
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(taken))
    assert asked == list(range(50, 10_000, 100))  # one step per probe, the first one given


def test_a_probe_chains_error_reaches_the_reader() -> None:
    from connectors.read.windows import ProbeChain

    def step(start: int) -> tuple[list[tuple[int, int]], int | None]:
        raise RowCapExceeded("refused", object="things", status=400)

    chain = ProbeChain([(0, 9)], 10, step, ahead=2)
    assert chain.take() == (0, 9)
    with pytest.raises(RowCapExceeded):
        chain.take()


def test_run_windows_takes_windows_from_a_probe_chain() -> None:
    from connectors.read.windows import ProbeChain

    def scan(window: tuple[int, int]) -> Iterator[int]:
        return iter(range(window[0], window[1] + 1))

    def step(start: int) -> tuple[list[tuple[int, int]], int | None]:
        return [(start, start + 49)], (start + 50 if start + 50 < 10_000 else None)

    source = ProbeChain([], 0, step, ahead=4)
    assert list(run_windows(source, scan, concurrency=4)) == list(range(10_000))


def test_the_gil_changes_hands_sooner_while_windows_run_and_as_before_after() -> None:
    # Workers whose answers arrived must not wait 5 ms for the consumer at each hand-over.
    before = sys.getswitchinterval()
    seen: list[float] = []

    def scan(window: tuple[int, int]) -> Iterator[int]:
        seen.append(sys.getswitchinterval())
        yield from range(window[0], window[1] + 1)

    got = list(run_windows([(0, 9), (10, 19), (20, 29)], scan, concurrency=3))
    assert got == list(range(30))
    assert seen and max(seen) <= SWITCH_INTERVAL < before
    assert sys.getswitchinterval() == before
