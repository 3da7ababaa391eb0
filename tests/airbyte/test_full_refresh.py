"""Full refresh of every stream returns exactly the sandbox's rows: no loss, no duplicate,
including ties larger than a page, and the same rows when the sandbox injects faults."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from connectors.spec import default_specs
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.airbyte import protocol
from tests.airbyte.conftest import sandbox_config
from tests.airbyte.rows import projected, sqlite_rows, sqlite_tables

pytestmark = pytest.mark.integration


def assert_same_rows(
    output: protocol.Output, sb: RunningSandbox, streams: Iterable[str] | None = None
) -> int:
    """Compare each stream with its table; every table when no streams are named."""
    tables = sqlite_tables(sb.db_path)
    compared = 0
    read = {m["record"]["stream"] for m in output.of_type("RECORD")}
    for stream in set(streams) if streams is not None else read | tables:
        if stream in tables and stream not in default_specs().objects:
            continue  # the sandbox's own bookkeeping
        if stream not in tables:
            continue
        got = projected(stream, output.records(stream))
        expected = sqlite_rows(sb.db_path, stream)
        assert got == expected, f"{stream}: {got.total()} rows read, {expected.total()} stored"
        compared += 1
    return compared


@pytest.fixture(scope="module")
def full_refresh(demo_config: dict[str, Any], demo_catalog: dict[str, Any]) -> protocol.Output:
    catalog = protocol.configured_catalog(demo_catalog, full_refresh=True)
    return protocol.run("read", demo_config, catalog=catalog)


def test_every_stream_returns_exactly_the_sandbox_rows(
    full_refresh: protocol.Output, demo_sandbox: RunningSandbox, demo_catalog: dict[str, Any]
) -> None:
    assert not full_refresh.errors()
    streams = {s["name"] for s in demo_catalog["streams"]}
    tables = streams & sqlite_tables(demo_sandbox.db_path)
    assert len(tables) > 15
    assert assert_same_rows(full_refresh, demo_sandbox, tables) == len(tables)
    assert {m["record"]["stream"] for m in full_refresh.of_type("RECORD")} >= tables
    (snippet,) = full_refresh.records("tracker_code")
    assert "<script" in str(next(iter(snippet.values())))


def test_the_users_tie_larger_than_a_page_is_read_once(full_refresh: protocol.Output) -> None:
    users = full_refresh.records("users")
    by_time: dict[int, int] = {}
    for user in users:
        by_time[user["data_last_modified"]] = by_time.get(user["data_last_modified"], 0) + 1
    assert max(by_time.values()) == 1200
    assert len({u["user_id"] for u in users}) == len(users)


def test_every_stream_reports_its_status_and_ends_with_a_state(
    full_refresh: protocol.Output, demo_catalog: dict[str, Any]
) -> None:
    for stream in demo_catalog["streams"]:
        running = ["RUNNING"] if full_refresh.records(stream["name"]) else []
        assert full_refresh.statuses(stream["name"]) == ["STARTED", *running, "COMPLETE"]
    last = {s["stream"]["stream_descriptor"]["name"]: s for s in full_refresh.states()}
    assert set(last) == {s["name"] for s in demo_catalog["streams"]}
    assert last["user_list_users"]["stream"]["stream_state"] == {}
    assert last["actions"]["stream"]["stream_state"] == {"__ab_no_cursor_state_message": True}
    # a state message always follows the records it covers: nothing after the last one
    order = [m["type"] for m in full_refresh.messages if m["type"] in ("RECORD", "STATE")]
    assert order[-1] == "STATE"


# Every kind of read (tie of 1,200, child partitions, lookback, no primary key, small table),
# on a dataset small enough that retries with backoff stay within seconds.
FAULTY_STREAMS = ("users", "user_list_users", "summary_actions", "forms", "articles", "actions")


@pytest.fixture(scope="module")
def faulty_sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(
        "demo",
        scale=1,
        seed=23,
        fault_rate=0.2,
        extra_args=("--slow-ms", "50", "--rows", "users=600"),
    ) as sb:
        yield sb


def test_a_read_through_faults_returns_the_same_rows(faulty_sandbox: RunningSandbox) -> None:
    # Enough retries that a 20 % fault rate cannot exhaust them in a test run (0.2**13).
    config = sandbox_config(faulty_sandbox, max_retries=12, request_timeout=5, max_concurrency=4)
    discovered = protocol.run("discover", config)
    assert not discovered.errors()
    catalog = protocol.configured_catalog(discovered.catalog(), FAULTY_STREAMS, full_refresh=True)
    output = protocol.run("read", config, catalog=catalog)
    assert not output.errors(), output.errors()
    assert assert_same_rows(output, faulty_sandbox, FAULTY_STREAMS) == len(FAULTY_STREAMS)
