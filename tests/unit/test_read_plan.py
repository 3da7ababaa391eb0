"""What the read engine's plan costs in requests, and the digests its checkpoints carry, against
an in-memory API that enforces Personyze's row caps (tests/unit/test_read_windows.FakeApi)."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import pytest

from connectors.api.query import Query
from connectors.read import Checkpoint
from connectors.read.digest import row_digest
from tests.unit.test_read_windows import FakeApi, as_multiset, make_spec, read, rows_of


def rows(times: list[int]) -> list[dict[str, object]]:
    return [{"id": i + 1, "t": t, "code": "c", "note": "x"} for i, t in enumerate(times)]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_read_whose_first_page_is_not_full_costs_one_request(concurrency: int) -> None:
    api = FakeApi(rows(list(range(100, 149))))
    items = list(read(api, make_spec(), start=100, concurrency=concurrency))
    assert len(rows_of(items)) == 49
    assert api.requests == 1


@pytest.mark.parametrize("tie", [1, 300, 999])
def test_a_resumed_read_that_finds_nothing_new_costs_two_requests(tie: int) -> None:
    api = FakeApi(rows([50] * 10 + [100] * tie))
    items = list(read(api, make_spec(), start=100, concurrency=8, start_group=True))
    assert len(rows_of(items)) == tie
    assert api.requests == 2
    (last,) = [i for i in items if isinstance(i, Checkpoint)][-1:]
    assert last.value == 100
    assert Counter(last.digest) == Counter(row_digest(r) for r in rows_of(items))


def test_a_full_refresh_read_costs_one_request_per_page() -> None:
    """No probes without a snapshot; a unique key pages on '>': 50 new rows per page."""
    api = FakeApi(rows(list(range(1, 1001))))
    spec = make_spec(key="id")
    assert len(rows_of(list(read(api, spec, snapshot=False)))) == 1000
    assert api.requests == 1000 // 50 + 1


def test_a_tie_of_more_than_1000_goes_on_from_where_its_equality_read_stopped() -> None:
    api = FakeApi(rows([7] * 1200))
    items = list(read(api, make_spec(), start=7, end=7))
    assert as_multiset(rows_of(items)) == as_multiset(api.rows)
    # page, equality read of 1000, then the 200 left by the (unique) tie-breaker: 4 full
    # pages and a last one
    assert api.requests == 1 + 1 + 5


def test_every_checkpoint_carries_the_digests_of_the_rows_at_its_value() -> None:
    data = rows([t // 3 for t in range(3000)] + [500] * 120)
    api = FakeApi(data)
    for concurrency in (1, 8):
        items = list(read(api, make_spec(), concurrency=concurrency))
        assert as_multiset(rows_of(items)) == as_multiset(data)
        emitted: list[dict[str, object]] = []
        for item in items:
            if isinstance(item, Checkpoint):
                at_value = [row_digest(r) for r in emitted if r["t"] == item.value]
                assert Counter(item.digest) == Counter(at_value), item.value
            else:
                emitted.append(item)


def tied_times(count: int, seed: int) -> list[int]:
    """Keys like interactions': mostly ones and twos, some groups of 50 to 900 rows."""
    rng = random.Random(seed)
    times: list[int] = []
    while len(times) < count:
        size = rng.choice([1, 1, 1, 2, 3]) if rng.random() < 0.9 else rng.randrange(50, 900)
        times += [len(times) + 1] * size
    return times[:count]


@pytest.mark.parametrize(
    ("key", "times"),
    [
        ("t", [t // 2 for t in range(10_000)]),
        ("t", tied_times(10_000, seed=3)),
        ("id", list(range(10_000))),
    ],
    ids=["pairs", "flash-sales", "unique"],
)
def test_concurrent_windows_cost_what_a_sequential_read_does(key: str, times: list[int]) -> None:
    data = rows(times)
    sequential, concurrent = FakeApi(data), FakeApi(data)
    spec = make_spec(key=key)
    assert len(rows_of(list(read(sequential, spec, concurrency=1)))) == 10_000
    got = rows_of(list(read(concurrent, spec, concurrency=8)))
    assert as_multiset(got) == as_multiset(data)
    # Probe pages are records too (connectors.read.probes): the windows cost their pages, and
    # a window's last page may be short, so a few more requests, not one probe per window.
    # Windows shrink toward the end (guided, never below 8 pages), which adds short pages on a
    # read this small: at most 4%. The ramp's first round of probes may land inside long
    # groups of tied keys and cut nothing there: at most one request each, once per read.
    assert concurrent.requests <= sequential.requests * 1.04 + 2 + 7, (
        sequential.requests,
        concurrent.requests,
    )


class ProbeLog(FakeApi):
    """Remembers where each probe page landed (the offset of a query with one)."""

    def __init__(self, data: list[dict[str, object]]) -> None:
        super().__init__(data)
        self.offsets: list[int] = []

    def get(self, q):  # type: ignore[no-untyped-def]
        if q.offset:
            with self.lock:
                self.offsets.append(q.offset)
        return super().get(q)


def test_windows_shrink_toward_the_end_so_the_workers_finish_together() -> None:
    data = rows(list(range(1, 16_001)))
    api = ProbeLog(data)
    got = rows_of(list(read(api, make_spec(key="id"), concurrency=8)))
    assert as_multiset(got) == as_multiset(data)
    # Past the ramp (several probes per round, ``ramp_pages``) and far from the end a probe
    # lands as far as it can (19 pages), near it windows hold about an eighth of the rows
    # left, down to one page.
    after_ramp = api.offsets[api.offsets.index(949) :]
    assert 949 not in api.offsets[: api.offsets.index(949)]
    assert after_ramp[:5] == [949] * 5
    assert after_ramp[-1] == 50 - 1
    assert sorted(after_ramp, reverse=True) == after_ramp
    assert len(set(after_ramp)) > 5


class InFlight(FakeApi):
    """A FakeApi whose answers take ``seconds``; remembers when each request was in flight."""

    def __init__(self, data: list[dict[str, object]], seconds: float) -> None:
        super().__init__(data)
        self.seconds = seconds
        self.spans: list[tuple[float, float]] = []

    def get(self, q: Query) -> Any:
        began = time.monotonic()
        try:
            time.sleep(self.seconds)
            return super().get(q)
        finally:
            with self.lock:
                self.spans.append((began, time.monotonic()))

    def mean_in_flight(self, start: float, end: float) -> float:
        """Requests in flight between ``start`` and ``end``, on average."""
        busy = sum(max(0.0, min(b, end) - max(a, start)) for a, b in self.spans)
        return busy / (end - start)


@pytest.mark.parametrize(
    ("key", "times"),
    [("t", [t // 2 for t in range(8_000)]), ("id", list(range(8_000)))],
    ids=["pairs", "unique"],
)
def test_a_concurrent_read_has_every_slot_busy_from_its_second_round_trip(
    key: str, times: list[int]
) -> None:
    """One probe reaches only 1,000 rows, so a chain of one probe per round trip started the
    workers one round trip apart (8 busy after about 9 round trips, 40 requests). The first
    rounds send several probes at once and cut small windows that grow each round: after the
    first page, the next 8 requests leave together."""
    data = rows(times)
    api = InFlight(data, seconds=0.05)
    got = rows_of(list(read(api, make_spec(key=key), concurrency=8)))
    assert as_multiset(got) == as_multiset(data)
    spans = sorted(api.spans)
    first_page = spans[0][1]  # a read of one page costs one request: it goes alone
    assert all(a >= first_page for a, _ in spans[1:])
    # the 8 round trips after the first page: the old chain averaged about 4 in flight
    ramp = api.mean_in_flight(first_page, first_page + 8 * api.seconds)
    assert ramp >= 6.5, ramp


@pytest.mark.parametrize(
    ("key", "times"),
    [("t", [t // 2 for t in range(16_000)]), ("id", list(range(16_000)))],
    ids=["pairs", "unique"],
)
def test_the_workers_finish_together(key: str, times: list[int]) -> None:
    """The last windows are small (down to a page), so the slots stay busy to the end. With
    windows of at least 8 pages the last 3,200 rows went out as 8 windows at once, beside
    workers still in longer ones: 1.4-2.2 requests in flight over the last 6 round trips
    (4.7-7.1 without that floor)."""
    data = rows(times)
    api = InFlight(data, seconds=0.05)
    got = rows_of(list(read(api, make_spec(key=key), concurrency=8)))
    assert as_multiset(got) == as_multiset(data)
    end = max(b for _, b in api.spans)
    tail = api.mean_in_flight(end - 6 * api.seconds, end)
    assert tail >= 4.0, tail
