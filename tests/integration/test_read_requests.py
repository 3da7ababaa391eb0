"""What a sync costs in requests, counted from the sandbox's request log, for both adapters:

- an incremental sync after which nothing changed: at most 2 requests per incremental stream,
  and no schema sampling when the run is handed a catalog (its schemas are used);
- a full-refresh stream: one request per page of rows, nothing else (no probes).
"""

from __future__ import annotations

import copy
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from connectors.api.client import PersonyzeClient
from connectors.read import read_records
from connectors.settings import ConnectionSettings
from connectors.spec import default_specs
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tap_personyze import TapPersonyze
from tests.airbyte import protocol

pytestmark = pytest.mark.integration

SPECS = default_specs()
INCREMENTAL = sorted(
    o.name for o in SPECS.readable() if o.kind == "table" and o.read.mode == "incremental"
)
# Full-refresh objects whose key is their primary key (unique): n rows take n // 50 + 1 pages.
FULL_REFRESH = sorted(
    o.name
    for o in SPECS.readable()
    if o.kind == "table"
    and o.read.mode == "full_refresh"
    and o.read.parent is None
    and o.primary_key == (o.read.key,)
)
PAGE = SPECS.connection.limits.max_slow_rows
PLAIN_LOOP = Path(__file__).resolve().parents[2] / "benchmarks" / "plain_loop.py"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSandbox, Path]]:
    log = tmp_path_factory.mktemp("requests") / "requests.log"
    with running_sandbox("demo", seed=43, extra_args=("--request-log", str(log))) as sb:
        yield sb, log


def config(sb: RunningSandbox) -> dict[str, Any]:
    return {"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": 8}


def requests_per_object(log: Path, since: int) -> Counter[str]:
    """GET requests per object path after line ``since`` of the log."""
    lines = log.read_text().splitlines()[since:]
    return Counter(line.split()[1].split("/")[2] for line in lines if line.startswith("GET "))


def paths(log: Path, since: int) -> list[str]:
    return [line.split()[1] for line in log.read_text().splitlines()[since:]]


def lines(log: Path) -> int:
    return len(log.read_text().splitlines())


def rows_in(sb: RunningSandbox, name: str) -> int:
    with sqlite3.connect(sb.db_path) as db:
        return int(db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0])


def tap_messages(tap: TapPersonyze) -> list[dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def tap_catalog(sb: RunningSandbox, streams: list[str]) -> dict[str, Any]:
    catalog = TapPersonyze(config=config(sb), parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def test_airbyte_incremental_sync_without_change(logged: tuple[RunningSandbox, Path]) -> None:
    sb, log = logged
    catalog = protocol.configured_catalog(
        protocol.run("discover", config(sb)).catalog(), INCREMENTAL
    )
    first = protocol.run("read", config(sb), catalog=catalog)
    assert not first.errors()
    before = lines(log)
    second = protocol.run("read", config(sb), catalog=catalog, state=protocol.final_states(first))
    assert not second.errors()
    assert second.records() == []
    per_stream = requests_per_object(log, before)
    assert set(per_stream) <= set(INCREMENTAL), per_stream
    assert max(per_stream.values()) <= 2, per_stream


def test_singer_incremental_sync_with_a_catalog_samples_nothing(
    logged: tuple[RunningSandbox, Path],
) -> None:
    sb, log = logged
    catalog = tap_catalog(sb, INCREMENTAL)
    tap = TapPersonyze(config=config(sb), catalog=copy.deepcopy(catalog), parse_env_config=False)
    state = [m for m in tap_messages(tap) if m["type"] == "STATE"][-1]["value"]
    before = lines(log)
    again = TapPersonyze(
        config=config(sb), catalog=copy.deepcopy(catalog), state=state, parse_env_config=False
    )
    messages = tap_messages(again)
    assert [m for m in messages if m["type"] == "RECORD"] == []
    # sampling reads the newest rows (order_by_desc); nothing of the kind may be sent
    assert not [p for p in paths(log, before) if "/order_by_desc/" in p]
    per_stream = requests_per_object(log, before)
    assert max(per_stream.values()) <= 2, per_stream
    # the catalog's schemas are the ones the tap announces
    schemas = {m["stream"]: m["schema"] for m in messages if m["type"] == "SCHEMA"}
    given = {e["tap_stream_id"]: e["schema"] for e in catalog["streams"]}
    assert schemas == {name: given[name] for name in schemas}


@pytest.mark.parametrize("adapter", ["airbyte", "singer"])
def test_full_refresh_streams_cost_one_request_per_page(
    logged: tuple[RunningSandbox, Path], adapter: str
) -> None:
    sb, log = logged
    before = lines(log)
    if adapter == "airbyte":
        discovered = protocol.run("discover", config(sb)).catalog()
        before = lines(log)
        catalog = protocol.configured_catalog(discovered, FULL_REFRESH)
        output = protocol.run("read", config(sb), catalog=catalog)
        assert not output.errors()
    else:
        catalog = tap_catalog(sb, FULL_REFRESH)
        before = lines(log)
        tap_messages(TapPersonyze(config=config(sb), catalog=catalog, parse_env_config=False))
    per_stream = requests_per_object(log, before)
    expected = {name: rows_in(sb, name) // PAGE + 1 for name in FULL_REFRESH}
    assert dict(per_stream) == expected
    assert all("/limit/0," in p and "/column/" not in p for p in paths(log, before))


@pytest.mark.parametrize(("stream", "rows"), [("users", 6_000), ("products_interactions", 20_000)])
def test_a_read_sends_no_more_requests_than_the_plain_keyset_loop(
    tmp_path: Path, stream: str, rows: int
) -> None:
    """The plain keyset loop (benchmarks/plain_loop.py, the read benchmark's plan) against the
    engine at 1 and 8 in flight, requests counted from the sandbox's log: users with the
    1,200-user bulk import tie, interactions with their flash-sale seconds. Windows cost their
    pages (probe pages are records), the end probe is the range's last page, a burst is read
    by its equality read without a page of it alone first, a tie past 1,000 rows from both
    ends of its tie-breaker."""
    log = tmp_path / "requests.log"
    spec = SPECS.object(stream)
    key = spec.read.key
    args = ("--request-log", str(log), "--rows", f"{stream}={rows}")
    with running_sandbox("demo", seed=43, extra_args=args) as sb:
        out = tmp_path / "loop.jsonl"
        loop = [sys.executable, str(PLAIN_LOOP), sb.base_url, stream, str(out)]
        env = {**os.environ, "PERSONYZE_API_KEY": sb.api_key}
        before = lines(log)
        subprocess.run(loop, check=True, env=env, capture_output=True)
        sent = {"loop": lines(log) - before}
        with out.open() as fh:
            read = {"loop": Counter(json.dumps(json.loads(line), sort_keys=True) for line in fh)}
        for concurrency in (1, 8):
            before = lines(log)
            settings = ConnectionSettings.from_config(
                {"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": concurrency}
            )
            with PersonyzeClient(settings) as client:
                items = read_records(client, spec, concurrency=concurrency)
                read[str(concurrency)] = Counter(
                    json.dumps(r, sort_keys=True) for r in items if isinstance(r, dict)
                )
            sent[str(concurrency)] = lines(log) - before
        with sqlite3.connect(sb.db_path) as db:
            reachable = db.execute(
                f'SELECT COUNT(*) FROM "{stream}" WHERE "{key}" IS NOT NULL'
            ).fetchone()[0]
    assert read["1"] == read["8"] == read["loop"] and sum(read["1"].values()) == reachable
    assert sent["1"] <= sent["loop"] and sent["8"] <= sent["loop"], sent
