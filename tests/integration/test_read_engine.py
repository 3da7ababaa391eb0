"""The read engine over real HTTP against the sandbox, checked against its SQLite file.

Every readable table object must come back exactly (as a multiset: no loss, no duplicate) at
concurrency 1 and 4, with checkpoints that only promise rows already yielded, and a run resumed
from any of its checkpoints must complete it. Ties larger than a page and larger than 1000 rows
(the users bulk import, the products_interactions flash-sale seconds) are part of the data.
"""

from __future__ import annotations

import bisect
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.api.client import PersonyzeClient
from connectors.api.query import Condition
from connectors.read import Checkpoint, Item, partitions, read_records
from connectors.settings import ConnectionSettings
from connectors.spec import ObjectSpec
from connectors.spec.loader import default_specs
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.singer.tapruns import comparable_columns

pytestmark = pytest.mark.integration

SPECS = default_specs()
TABLES = sorted((o for o in SPECS.readable() if o.kind == "table"), key=lambda o: o.name)
Rowkey = tuple[tuple[str, Any], ...]


def make_client(sb: RunningSandbox, concurrency: int = 4) -> PersonyzeClient:
    settings = ConnectionSettings.from_config(
        {"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": concurrency}
    )
    # Faults are injected on purpose here; back off for real but briefly.
    return PersonyzeClient(settings, sleep=lambda s: time.sleep(min(s, 0.02)))


@pytest.fixture(scope="module")
def client(demo_sandbox: RunningSandbox) -> Iterator[PersonyzeClient]:
    with make_client(demo_sandbox) as c:
        yield c


def reference_rows(spec: ObjectSpec, db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(f'SELECT * FROM "{spec.name}"')]


def key_of(row: dict[str, Any], columns: list[str]) -> Rowkey:
    return tuple((c, row.get(c)) for c in columns)


def multiset(rows: list[dict[str, Any]], columns: list[str]) -> Counter[Rowkey]:
    return Counter(key_of(r, columns) for r in rows)


def readable_reference(spec: ObjectSpec, db: Path) -> list[dict[str, Any]]:
    """Rows a keyset read can reach: NULL keys cannot be paged by key (see read_records)."""
    key = spec.read.key
    assert key is not None
    return [r for r in reference_rows(spec, db) if r.get(key) is not None]


def rows_of(items: list[Item]) -> list[dict[str, Any]]:
    return [i for i in items if not isinstance(i, Checkpoint)]


def check_checkpoints(items: list[Item], key: str, reference_keys: list[Any]) -> None:
    """Values never go back, and each promises exactly the rows yielded before it."""
    emitted, last = 0, None
    for item in items:
        if isinstance(item, Checkpoint):
            assert not reference_keys or isinstance(item.value, type(reference_keys[0]))
            assert last is None or item.value >= last, (last, item.value)
            last = item.value
            assert emitted == bisect.bisect_right(reference_keys, item.value), item
        else:
            assert last is None or item[key] > last
            emitted += 1


def read_all(
    client: PersonyzeClient, spec: ObjectSpec, concurrency: int
) -> dict[Condition | None, list[Item]]:
    """Items per partition (one partition, None, for a top-level object)."""
    if spec.read.parent is None:
        return {None: list(read_records(client, spec, concurrency=concurrency))}
    return {
        p: list(read_records(client, spec, prefix=(p,), concurrency=concurrency))
        for p in partitions(client, SPECS, spec)
    }


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
def test_every_object_reads_exactly_its_rows(
    client: PersonyzeClient, demo_sandbox: RunningSandbox, spec: ObjectSpec
) -> None:
    key = spec.read.key
    assert key is not None
    columns = comparable_columns(spec, demo_sandbox.db_path)
    assert key in columns
    reference = readable_reference(spec, demo_sandbox.db_path)
    assert reference, f"the demo dataset should populate {spec.name}"
    for concurrency in (1, 4):
        runs = read_all(client, spec, concurrency)
        got = [row for items in runs.values() for row in rows_of(items)]
        assert multiset(got, columns) == multiset(reference, columns), concurrency
        for part, items in runs.items():
            mine = [r for r in reference if part is None or str(r[part.column]) == part.value]
            check_checkpoints(items, key, sorted(r[key] for r in mine))


def test_the_bulk_import_tie_of_1200_users_is_read_whole(
    client: PersonyzeClient, demo_sandbox: RunningSandbox
) -> None:
    users = SPECS.object("users")
    value, size = Counter(
        r["data_last_modified"] for r in reference_rows(users, demo_sandbox.db_path)
    ).most_common(1)[0]
    assert size >= 1_200
    for concurrency in (1, 4):
        got = rows_of(
            list(read_records(client, users, start=value, end=value, concurrency=concurrency))
        )
        assert len(got) == size
        assert len({r["user_id"] for r in got}) == size
        assert {r["data_last_modified"] for r in got} == {value}


def resume_everywhere(
    client: PersonyzeClient, spec: ObjectSpec, db: Path, start: int | None, end: int | None
) -> int:
    """Resume the run from each checkpoint; return how many checkpoints were tried."""
    key = spec.read.key
    assert key is not None
    columns = comparable_columns(spec, db)
    full = list(read_records(client, spec, start=start, end=end))
    points = [(n, i.value) for n, i in enumerate(full) if isinstance(i, Checkpoint)]
    last = points[-1][1]
    assert isinstance(last, int)
    end = last if end is None else end
    expected = multiset(rows_of(full), columns)
    for n, value in points:
        before = [r for r in rows_of(full[:n]) if r[key] < value]
        resumed = rows_of(list(read_records(client, spec, start=value, end=end)))
        assert all(r[key] >= value for r in resumed)
        assert multiset(before, columns) + multiset(resumed, columns) == expected, value
    return len(points)


def test_resuming_users_from_every_checkpoint_completes_the_run(
    client: PersonyzeClient, demo_sandbox: RunningSandbox
) -> None:
    users = SPECS.object("users")
    assert resume_everywhere(client, users, demo_sandbox.db_path, None, None) > 10


def test_flash_sale_seconds_are_complete_and_resumable(
    client: PersonyzeClient, demo_sandbox: RunningSandbox
) -> None:
    spec = SPECS.object("products_interactions")
    columns = comparable_columns(spec, demo_sandbox.db_path)
    reference = readable_reference(spec, demo_sandbox.db_path)
    busy = sorted(t for t, n in Counter(r["time"] for r in reference).items() if n >= 300)
    assert len(busy) >= 3, "the demo dataset should have flash-sale seconds"
    for second in busy[:3]:
        got = rows_of(list(read_records(client, spec, start=second, end=second)))
        assert multiset(got, columns) == multiset(
            [r for r in reference if r["time"] == second], columns
        )
    # A stretch around two busy seconds, resumed from each of its checkpoints.
    times = sorted(r["time"] for r in reference)
    low = times[max(0, bisect.bisect_left(times, busy[0]) - 300)]
    high = times[min(len(times) - 1, bisect.bisect_right(times, busy[1]) + 300)]
    assert resume_everywhere(client, spec, demo_sandbox.db_path, low, high) > 5


def test_the_same_rows_come_back_through_injected_faults() -> None:
    names = ("users", "products_interactions", "user_list_users")
    with (
        running_sandbox("demo", seed=23, fault_rate=0.2, extra_args=("--slow-ms", "50")) as sb,
        make_client(sb) as faulty,
    ):
        for name in names:
            spec = SPECS.object(name)
            columns = comparable_columns(spec, sb.db_path)
            got = [row for items in read_all(faulty, spec, 4).values() for row in rows_of(items)]
            assert multiset(got, columns) == multiset(
                readable_reference(spec, sb.db_path), columns
            ), name
        assert faulty.stats.retries > 0


def test_an_empty_object_reads_nothing(empty_sandbox: RunningSandbox) -> None:
    with make_client(empty_sandbox) as c:
        for name in ("users", "products_interactions", "events"):
            for concurrency in (1, 4):
                assert list(read_records(c, SPECS.object(name), concurrency=concurrency)) == []


def test_rows_added_during_a_read_wait_for_the_next_one(fresh_sandbox: RunningSandbox) -> None:
    users = SPECS.object("users")
    with make_client(fresh_sandbox) as c:
        reading = read_records(c, users)
        first = next(reading)
        c.post("users", {"email": "late.arrival@example.com", "first_name": "Late"})
        got = [first, *reading]
        assert "late.arrival@example.com" not in {r.get("email") for r in rows_of(got)}
        assert isinstance(got[-1], Checkpoint)
        later = rows_of(list(read_records(c, users, start=got[-1].value)))
        assert "late.arrival@example.com" in {r.get("email") for r in later}


class CountingTransport(httpx.HTTPTransport):
    """The real transport, counting the requests in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            response = super().handle_request(request)
            response.read()
            return response
        finally:
            with self._lock:
                self.in_flight -= 1


@pytest.mark.parametrize("concurrency", [2, 5])
def test_max_concurrency_caps_the_requests_in_flight(concurrency: int) -> None:
    """``max_concurrency`` is the number of requests in flight at once, probes included: a
    concurrent read fills it and never goes past it."""
    spec = SPECS.object("products_interactions")
    with running_sandbox("demo", seed=7, latency_ms=15) as sb:
        transport = CountingTransport()
        settings = ConnectionSettings.from_config(
            {"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": concurrency}
        )
        with PersonyzeClient(settings, transport=transport) as c:
            got = rows_of(list(read_records(c, spec, concurrency=concurrency)))
        columns = comparable_columns(spec, sb.db_path)
        reference = readable_reference(spec, sb.db_path)
        assert multiset(got, columns) == multiset(reference, columns)
    assert transport.peak == concurrency
