"""What the read engine's plan costs in requests, and the digests its checkpoints carry, against
an in-memory API that enforces Personyze's row caps (tests/unit/test_read_windows.FakeApi)."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import pytest

from connectors.api.query import Query, all_of, cond
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


@pytest.mark.parametrize("size", [999, 1000, 1200, 1999, 2000, 2001, 2600])
def test_a_tie_of_1000_or_more_is_read_from_both_ends_of_its_unique_tie_breaker(
    size: int,
) -> None:
    api = FakeApi(rows([5] * 3 + [7] * size + [9] * 3))
    items = list(read(api, make_spec(), start=7, end=7))
    got = rows_of(items)
    assert sorted(r["id"] for r in got) == [r["id"] for r in api.rows if r["t"] == 7]
    assert [i.value for i in items if isinstance(i, Checkpoint)] == [7]
    # the page (one value: thrown away), the equality read sorted up; past 1,000 rows the one
    # sorted down; past 2,000 the rows between the two, by pages of 50 (unique: 50 new rows
    # each, the last one ending on the lowest row of the read sorted down). Paging the rest
    # from the first read took 1 + (size - 1000) // 50 pages more: 35 requests for 2,600.
    between = max(0, size - 1999)
    assert api.requests == 1 + 1 + (size >= 1000) + -(-between // 50)


class Answers(FakeApi):
    """Remembers each query with the rows of its answer."""

    def __init__(self, data: list[dict[str, object]]) -> None:
        super().__init__(data)
        self.log: list[tuple[Query, list[dict[str, Any]]]] = []

    def get(self, q: Query) -> Any:
        answer = super().get(q)
        with self.lock:
            self.log.append((q, answer))
        return answer

    def thrown_pages(self, key: str) -> int:
        """Full pages from a bound that held one value: the read needs its equality read."""
        return sum(
            1
            for q, a in self.log
            if q.limit == 50 and not q.offset and len(a) == 50 and a[0][key] == a[-1][key]
        )

    def equality_reads(self, key: str) -> int:
        return sum(
            1 for q, _ in self.log if any(c.column == key and c.op == "=" for c in q.conditions())
        )


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_page_ending_in_a_burst_goes_on_with_its_equality_read(concurrency: int) -> None:
    """Sparse keys (ones and twos) with bursts of 60 to 900 rows on one value: a page that ends
    with 4 rows or more of a value where no value before it in the page has half as many goes
    on with that value's equality read, so no page comes back holding the burst alone (the
    keyset loop sent one such page per burst that began before a page's last 25 rows)."""
    rng = random.Random(11)
    times: list[int] = []
    while len(times) < 20_000:
        size = rng.randrange(60, 900) if rng.random() < 0.01 else rng.choice([1, 1, 1, 2])
        times += [len(times) + 1] * size
    api = Answers(rows(times))
    got = rows_of(list(read(api, make_spec(), concurrency=concurrency)))
    assert as_multiset(got) == as_multiset(api.rows)
    bursts = sum(1 for n in Counter(times).values() if n >= 60)
    assert bursts >= 10
    # Bursts beginning in a page's last 3 rows are still found by a page of them alone.
    assert api.thrown_pages("t") <= bursts // 4, (api.thrown_pages("t"), bursts)


@pytest.mark.parametrize("tie", [5, 10, 20])
def test_keys_all_tied_alike_are_paged_without_equality_reads(tie: int) -> None:
    """Every value with the same number of rows (a busy site's seconds): the page's last value
    never looks like a burst, so the read pages as a keyset loop does: no equality read, and
    each page moves on by its rows before its last value."""
    times = [t // tie for t in range(5_000)]
    api = Answers(rows(times))
    got = rows_of(list(read(api, make_spec(), concurrency=1)))
    assert as_multiset(got) == as_multiset(api.rows)
    assert api.equality_reads("t") == 0


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


def keyset_loop(api: FakeApi, key: str, tie: str = "id") -> int:
    """The plan a read is held to: the simplest correct keyset loop (benchmarks/plain_loop.py),
    one request at a time: pages of 50 from ``key >= low``; a page of one value read whole by
    an equality read of up to 1,000 rows, continued by pages of the tie-breaker. Returns the
    rows read; the requests are ``api.requests``."""
    low, got = 0, 0
    while True:
        where = all_of(cond(key, ">=", low))
        page = api.get(Query("things", where=where, order_by=(key,), offset=0, limit=50))
        if len(page) < 50:
            return got + len(page)
        value = page[-1][key]
        if page[0][key] != value:
            got += sum(1 for r in page if r[key] != value)
            low = value
            continue
        more = api.get(
            Query("things", where=all_of(cond(key, "=", value)), order_by=(tie,), limit=1000)
        )
        got, cap = got + len(more), 1000
        while len(more) == cap:
            where = all_of(cond(key, "=", value), cond(tie, ">", more[-1][tie]))
            more = api.get(Query("things", where=where, order_by=(tie,), offset=0, limit=50))
            got, cap = got + len(more), 50
        low = value + 1


@pytest.mark.parametrize(
    ("key", "times", "windows_cost"),
    [
        ("t", [t // 2 for t in range(10_000)], 1),
        ("t", tied_times(10_000, seed=3), 0),
        ("id", list(range(10_000)), 0),
        ("t", [t // 2 for t in range(4_000)] + [2_500] * 1_200 + list(range(2_501, 7_301)), 0),
    ],
    ids=["pairs", "flash-sales", "unique", "bulk-import"],
)
def test_a_read_sends_no_more_requests_than_the_keyset_loop(
    key: str, times: list[int], windows_cost: int
) -> None:
    """One request at a time a read never costs more than the keyset loop: its end probe is
    the range's last page (its rows are records), a burst is read by its equality read without
    a page of it alone first, and a tie of more than 1,000 rows from both ends. With 8 in
    flight, probe pages are records too (connectors.read.probes) and windows end where their
    pages do; on keys tied in pairs all along, where each window's last page is short, that
    costs one request more on this read."""
    data = rows(times)
    plan, sequential, concurrent = FakeApi(data), FakeApi(data), FakeApi(data)
    spec = make_spec(key=key)
    assert keyset_loop(plan, key) == len(data)
    assert as_multiset(rows_of(list(read(sequential, spec, concurrency=1)))) == as_multiset(data)
    assert as_multiset(rows_of(list(read(concurrent, spec, concurrency=8)))) == as_multiset(data)
    assert sequential.requests <= plan.requests, (plan.requests, sequential.requests)
    assert concurrent.requests <= plan.requests + windows_cost, (
        plan.requests,
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
