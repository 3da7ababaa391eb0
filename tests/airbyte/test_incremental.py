"""Incremental reads through the protocol: bookmarks, new and changed rows, future state, and
resuming from every state message a run emitted."""

from __future__ import annotations

from collections import Counter
from typing import Any, TypeVar

import pytest

from connectors.api.client import PersonyzeClient
from connectors.api.query import Query, cond
from connectors.read import start_for
from connectors.settings import ConnectionSettings
from connectors.spec import default_specs
from personyze_sandbox.process import RunningSandbox
from tests.airbyte import protocol
from tests.airbyte.conftest import sandbox_config
from tests.airbyte.rows import RowKey, keys, row_key

pytestmark = pytest.mark.integration

LOOKBACK_DAYS = 2
# Resumed syncs per stream: every checkpoint of most streams; evenly spaced ones of events
# (~190 checkpoints) and user_list_users (~260), to keep the suite within minutes.
MAX_RESUMES = 36
T = TypeVar("T")


def incremental_streams(catalog: dict[str, Any]) -> list[str]:
    return [s["name"] for s in catalog["streams"] if "incremental" in s["supported_sync_modes"]]


def cursor_of(stream: str) -> str:
    key = default_specs().object(stream).read.key
    assert key is not None
    return key


def bookmark(state: dict[str, Any]) -> Any:
    stream = state["stream"]["stream_descriptor"]["name"]
    return state["stream"]["stream_state"][cursor_of(stream)]


def resumed_start(stream: str, value: Any) -> Any:
    """Where a sync that starts from bookmark ``value`` begins (the lookback, if any)."""
    return start_for(default_specs().object(stream), value, None, LOOKBACK_DAYS)


@pytest.fixture(scope="module")
def first_run(demo_config: dict[str, Any], demo_catalog: dict[str, Any]) -> protocol.Output:
    catalog = protocol.configured_catalog(demo_catalog, incremental_streams(demo_catalog))
    output = protocol.run("read", demo_config, catalog=catalog)
    assert not output.errors()
    return output


def test_every_incremental_stream_checkpoints_during_the_read(first_run: protocol.Output) -> None:
    for stream in ("users", "events", "products_interactions"):
        records = 0
        checkpoints_between_records = 0
        for message in first_run.messages:
            if message["type"] == "RECORD" and message["record"]["stream"] == stream:
                records += 1
            elif message["type"] == "STATE":
                named = message["state"]["stream"]["stream_descriptor"]["name"]
                checkpoints_between_records += named == stream and records > 0
        assert checkpoints_between_records > 5, stream
        assert first_run.statuses(stream) == ["STARTED", "RUNNING", "COMPLETE"]


def test_each_state_counts_the_records_of_its_stream_since_the_one_before(
    first_run: protocol.Output,
) -> None:
    """``sourceStats.recordCount``, which the platform checks against what it received."""
    since: Counter[str] = Counter()
    checked = 0
    for message in first_run.messages:
        if message["type"] == "RECORD":
            since[message["record"]["stream"]] += 1
        elif message["type"] == "STATE":
            stream = message["state"]["stream"]["stream_descriptor"]["name"]
            assert message["state"]["sourceStats"]["recordCount"] == since.pop(stream, 0)
            checked += 1
    assert checked > 10 and not +since  # every record is counted by a later state


def test_second_read_emits_nothing_when_nothing_changed(
    demo_config: dict[str, Any], demo_catalog: dict[str, Any], first_run: protocol.Output
) -> None:
    """The state names the rows already emitted at the bookmark (and in summary_actions'
    lookback window): none comes again."""
    streams = incremental_streams(demo_catalog)
    states = protocol.final_states(first_run)
    assert {s["stream"]["stream_descriptor"]["name"] for s in states} == set(streams)
    second = protocol.run(
        "read",
        demo_config,
        catalog=protocol.configured_catalog(demo_catalog, streams),
        state=states,
    )
    assert not second.errors()
    assert second.records() == []
    # Nothing changed in between: every bookmark stays where it was.
    assert protocol.final_states(second) == states


def test_state_from_the_future_reads_nothing_and_keeps_the_state(
    demo_config: dict[str, Any], demo_catalog: dict[str, Any]
) -> None:
    streams = incremental_streams(demo_catalog)

    def future(stream: str) -> int:
        # after any time and id of the demo; for a time, the largest unix seconds (year 2286):
        # a larger value is milliseconds and fails (tests/corpus/test_source_inputs.py)
        column = default_specs().object(stream).column(cursor_of(stream))
        return 9_999_999_999 if column.format == "unix_seconds" else 10**13

    states = [
        {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": stream},
                "stream_state": {cursor_of(stream): future(stream)},
            },
        }
        for stream in streams
    ]
    output = protocol.run(
        "read",
        demo_config,
        catalog=protocol.configured_catalog(demo_catalog, streams),
        state=states,
    )
    assert not output.errors()
    assert output.records() == []
    assert protocol.final_states(output) == states


def test_inserts_and_updates_are_read_by_the_next_sync(fresh_sandbox: RunningSandbox) -> None:
    config = sandbox_config(fresh_sandbox)
    discovered = protocol.run("discover", config).catalog()
    streams = ["users", "products"]
    catalog = protocol.configured_catalog(discovered, streams)
    first = protocol.run("read", config, catalog=catalog)
    states = protocol.final_states(first)
    settings = ConnectionSettings.from_config(config)
    with PersonyzeClient(settings) as client:
        new_users = {
            (client.post("users", {"email": f"new.reader{n}@example.com", "first_name": "N"}),)
            for n in range(4)
        }
        skus = [r["internal_id"] for r in first.records("products")[:3]]
        for sku in skus:
            changed = Query("products", where=((cond("internal_id", "=", sku),),))
            assert client.put(changed, {"price": 1234.5}) == 1
    changed_products = {(r["id"],) for r in first.records("products") if r["internal_id"] in skus}
    second = protocol.run("read", config, catalog=catalog, state=states)
    assert not second.errors()
    for stream, changed_keys in (("users", new_users), ("products", changed_products)):
        got = keys(stream, second.records(stream))
        assert max(got.values()) == 1, stream
        assert set(got) == changed_keys, stream
    assert {r["price"] for r in second.records("products") if r["internal_id"] in skus} == {1234.5}


RESUMED_STREAMS = ["users", "articles", "forms", "summary_actions", "user_list_users", "events"]


@pytest.mark.parametrize("stream", RESUMED_STREAMS)
def test_resume_from_every_state_message(
    stream: str, demo_config: dict[str, Any], demo_catalog: dict[str, Any]
) -> None:
    """A sync interrupted after any checkpoint and resumed from it loses no row, and repeats
    only rows at the checkpoint itself (the bookmark's value, or the resume point)."""
    catalog = protocol.configured_catalog(demo_catalog, [stream])
    full = protocol.run("read", demo_config, catalog=catalog)
    assert not full.errors()
    everything = keys(stream, full.records(stream))
    checkpoints: list[tuple[Counter[RowKey], dict[str, Any]]] = []
    emitted: list[dict[str, Any]] = []
    for message in full.messages:
        if message["type"] == "RECORD":
            emitted.append(message["record"]["data"])
        elif message["type"] == "STATE":
            state = {"type": "STREAM", "stream": message["state"]["stream"]}
            boundary = Counter(
                row_key(stream, r) for r in emitted if _at_checkpoint(stream, r, state)
            )
            checkpoints.append((keys(stream, emitted), state | {"boundary": boundary}))
    assert len(checkpoints) > 2

    def resume(state: dict[str, Any]) -> Counter[RowKey]:
        output = protocol.run("read", demo_config, catalog=catalog, state=[state])
        assert not output.errors()
        return keys(stream, output.records(stream))

    for before, state in spaced(checkpoints, MAX_RESUMES):
        again = resume({k: v for k, v in state.items() if k != "boundary"})
        if not state["stream"]["stream_state"] and before == everything:
            # the end of a resumable full refresh: the next sync reads everything again
            assert again == everything
            continue
        assert set(before + again) == set(everything), state
        repeated = before & again
        assert set(repeated) <= set(state["boundary"]), state


def spaced(items: list[T], most: int) -> list[T]:
    """Every item, or ``most`` of them evenly spaced (always the first and the last)."""
    if len(items) <= most:
        return items
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]


def _at_checkpoint(stream: str, row: dict[str, Any], state: dict[str, Any]) -> bool:
    value = state["stream"]["stream_state"]
    resume = value.get("resume")
    if resume is not None:
        return all(row[column] == v for column, v in resume.items())
    if not value:
        return False
    cursor = cursor_of(stream)
    return bool(resumed_start(stream, value[cursor]) <= row[cursor] <= value[cursor])
