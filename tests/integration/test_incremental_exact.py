"""No row is emitted twice across incremental syncs, and none is skipped, in both read adapters.

Over real HTTP against a sandbox: a first sync, then rows arrive AT the bookmark's cursor value
(an exact copy of a row already emitted there, for objects without a primary key, and a new
row) and after it (two identical rows), and a summary_actions row inside the lookback window
changes; the next sync must emit exactly those rows, and a sync after it nothing. Rows are
written into the sandbox's SQLite file, as Personyze's own pipeline writes them (these objects
are read-only through the API), and compared as multisets of whole rows.
"""

from __future__ import annotations

import copy
import io
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from connectors.spec import ObjectSpec, default_specs
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tap_personyze import TapPersonyze
from tests.airbyte import protocol

pytestmark = pytest.mark.integration

SPECS = default_specs()
# Objects without a primary key (an append destination stores a repeated row again), a keyed
# object, and the object whose recent days are re-read (lookback).
STREAMS = ("products_interactions", "user_interests", "forms", "users", "summary_actions")
Row = dict[str, Any]
Sync = Callable[[dict[str, Any] | None], tuple[dict[str, list[Row]], dict[str, Any]]]


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("demo", seed=41) as sb:
        yield sb


def config(sb: RunningSandbox) -> dict[str, Any]:
    return {"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": 4}


def airbyte_sync(sb: RunningSandbox) -> Sync:
    """``source-personyze read`` of STREAMS; the state is the list of per-stream STATE
    messages a platform stores and sends back."""
    catalog = protocol.configured_catalog(protocol.run("discover", config(sb)).catalog(), STREAMS)

    def sync(state: dict[str, Any] | None) -> tuple[dict[str, list[Row]], dict[str, Any]]:
        states = list(state.values()) if state else None
        output = protocol.run("read", config(sb), catalog=catalog, state=states)
        assert not output.errors(), output.errors()
        final = {s["stream"]["stream_descriptor"]["name"]: s for s in protocol.final_states(output)}
        return {s: output.records(s) for s in STREAMS}, final

    return sync


def singer_sync(sb: RunningSandbox) -> Sync:
    """``tap-personyze --catalog`` of STREAMS with the tap state of the previous sync."""
    discovered = TapPersonyze(config=config(sb), parse_env_config=False).catalog_dict
    for entry in discovered["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in STREAMS

    def sync(state: dict[str, Any] | None) -> tuple[dict[str, list[Row]], dict[str, Any]]:
        tap = TapPersonyze(
            config=config(sb),
            catalog=copy.deepcopy(discovered),
            state=copy.deepcopy(state or {}),
            parse_env_config=False,
        )
        out = io.StringIO()
        with redirect_stdout(out):
            tap.sync_all()
        messages = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
        records: dict[str, list[Row]] = {s: [] for s in STREAMS}
        final: dict[str, Any] = {}
        for m in messages:
            if m["type"] == "RECORD":
                records[m["stream"]].append(m["record"])
            elif m["type"] == "STATE":
                final = m["value"]
        return records, final

    return sync


def bookmark(stream: str, state: dict[str, Any], adapter: str) -> int:
    if adapter == "airbyte":
        value = state[stream]["stream"]["stream_state"][cursor(stream)]
    else:
        value = state["bookmarks"][stream]["replication_key_value"]
    assert isinstance(value, int)
    return value


def cursor(stream: str) -> str:
    key = SPECS.object(stream).read.key
    assert key is not None
    return key


def columns(db: Path, stream: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[1] for r in conn.execute(f'PRAGMA table_info("{stream}")')]


def comparable(spec: ObjectSpec, db: Path) -> list[str]:
    """Scalar columns the API returns exactly as SQLite holds them."""
    stored = set(columns(db, spec.name))
    return [
        c.name
        for c in spec.columns
        if c.type in ("integer", "number", "string") and c.role != "packed_json"
        if c.name in stored
    ]


def multiset(rows: list[Row], cols: list[str]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(r.get(c) for c in cols) for r in rows)


def insert_copy(db: Path, stream: str, where: str, args: tuple[Any, ...], **changes: Any) -> Row:
    """Insert a copy of the first row matching ``where`` with ``changes``; the new row."""
    cols = columns(db, stream)
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        found = conn.execute(f'SELECT * FROM "{stream}" WHERE {where} LIMIT 1', args).fetchone()
        assert found is not None, (stream, where, args)
        row = {**dict(found), **changes}
        if stream == "users":  # the primary key is assigned by the table
            row.pop("user_id")
        names = [c for c in cols if c in row]
        conn.execute(
            f'INSERT INTO "{stream}" ({", ".join(names)}) VALUES ({", ".join("?" * len(names))})',
            [row[c] for c in names],
        )
        if stream == "users":
            row["user_id"] = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    return row


def change_rows(db: Path, stream: str, mark: int) -> list[Row]:
    """Rows that arrive after the first sync; the rows the next sync must emit."""
    key = cursor(stream)
    new: list[Row] = []
    if stream == "summary_actions":
        # a row inside the lookback window changes, and a new action appears on the last day
        with sqlite3.connect(db) as conn:
            conn.row_factory = sqlite3.Row
            day, action = conn.execute(
                "SELECT day, action_id FROM summary_actions WHERE day < ? ORDER BY day DESC",
                (mark,),
            ).fetchone()
            conn.execute(
                "UPDATE summary_actions SET n_executed = n_executed + 1000 "
                "WHERE day = ? AND action_id = ?",
                (day, action),
            )
            changed = conn.execute(
                "SELECT * FROM summary_actions WHERE day = ? AND action_id = ?", (day, action)
            ).fetchone()
        new.append(dict(changed))
        new.append(insert_copy(db, stream, "day = ?", (mark,), action_id=999_999))
        return new
    if stream == "users":
        for n, value in enumerate((mark, mark, mark + 1)):
            new.append(
                insert_copy(
                    db,
                    stream,
                    "data_last_modified = ?",
                    (mark,),
                    data_last_modified=value,
                    email=f"late.{n}@example.com",
                    internal_id=f"late-{n}",
                )
            )
        return new
    # no primary key: an exact copy of a row already emitted at the bookmark, a new row at the
    # bookmark, and two identical rows after it
    new.append(insert_copy(db, stream, f"{key} = ?", (mark,)))
    new.append(insert_copy(db, stream, f"{key} = ?", (mark,), user_id=987_654_321))
    for _ in range(2):
        new.append(insert_copy(db, stream, f"{key} = ?", (mark,), **{key: mark + 1}))
    return new


@pytest.mark.parametrize("adapter", ["airbyte", "singer"])
def test_the_next_sync_emits_exactly_the_rows_that_arrived(
    sandbox: RunningSandbox, adapter: str
) -> None:
    sync = (airbyte_sync if adapter == "airbyte" else singer_sync)(sandbox)
    first, state = sync(None)
    for stream in STREAMS:
        assert first[stream], stream
    arrived = {s: change_rows(sandbox.db_path, s, bookmark(s, state, adapter)) for s in STREAMS}
    second, state = sync(state)
    for stream in STREAMS:
        cols = comparable(SPECS.object(stream), sandbox.db_path)
        got, want = multiset(second[stream], cols), multiset(arrived[stream], cols)
        assert got == want, f"{stream}: extra {got - want}, missing {want - got}"
    third, final = sync(state)
    assert {s: len(rows) for s, rows in third.items()} == dict.fromkeys(STREAMS, 0)
    for stream in STREAMS:
        assert bookmark(stream, final, adapter) == bookmark(stream, state, adapter)


@pytest.mark.parametrize("adapter", ["airbyte", "singer"])
def test_a_state_holding_only_the_bookmark_still_works(
    sandbox: RunningSandbox, adapter: str
) -> None:
    """States written before the digest existed: the rows at the bookmark are emitted again
    (they cannot be told apart from new ones), nothing is lost."""
    sync = (airbyte_sync if adapter == "airbyte" else singer_sync)(sandbox)
    first, state = sync(None)
    old = copy.deepcopy(state)
    for stream in ("products_interactions", "users"):
        mark = bookmark(stream, state, adapter)
        if adapter == "airbyte":
            old[stream]["stream"]["stream_state"] = {cursor(stream): mark}
        else:
            old["bookmarks"][stream] = {
                "replication_key": cursor(stream),
                "replication_key_value": mark,
            }
    second, _ = sync(old)
    for stream in ("products_interactions", "users"):
        mark = bookmark(stream, state, adapter)
        at_mark = [r for r in first[stream] if r[cursor(stream)] == mark]
        cols = comparable(SPECS.object(stream), sandbox.db_path)
        assert multiset(second[stream], cols) == multiset(at_mark, cols), stream
