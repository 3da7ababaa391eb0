"""How the tap's messages reach stdout: each RECORD at once when the read runs several requests
in flight (a write lets the threads fetching the next pages have the interpreter lock), in full
buffers with one in flight; in both cases a STATE goes out with every record before it."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox
from tests.singer.tapruns import FastRetryTap, config_for, selected_catalog

pytestmark = pytest.mark.integration

STREAM = "products_interactions"


class Writes(io.RawIOBase):
    """A stdout that keeps each write the tap's process would make."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)


def writes_of_a_sync(
    sb: RunningSandbox, concurrency: int
) -> tuple[list[bytes], list[dict[str, Any]]]:
    config = config_for(sb, max_concurrency=concurrency)
    catalog = selected_catalog(
        FastRetryTap(config=config, parse_env_config=False).catalog_dict, {STREAM}
    )
    tap = FastRetryTap(config=config, catalog=catalog, parse_env_config=False)
    raw = Writes()
    stdout = io.TextIOWrapper(io.BufferedWriter(raw, buffer_size=65_536), encoding="utf-8")
    with redirect_stdout(stdout):
        tap.sync_all()
    stdout.flush()
    messages = [json.loads(line) for line in b"".join(raw.chunks).splitlines()]
    return raw.chunks, messages


def test_with_several_requests_in_flight_each_record_is_written_at_once(
    demo_sandbox: RunningSandbox,
) -> None:
    chunks, messages = writes_of_a_sync(demo_sandbox, 4)
    records = [m for m in messages if m["type"] == "RECORD"]
    assert len(records) > 200
    # every write ends a message, and no write holds two records
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    per_write = [chunk.count(b'"type":"RECORD"') for chunk in chunks]
    assert max(per_write) == 1
    assert sum(per_write) == len(records)


def test_with_one_request_in_flight_records_share_writes_and_a_state_flushes_them(
    demo_sandbox: RunningSandbox,
) -> None:
    chunks, messages = writes_of_a_sync(demo_sandbox, 1)
    records = [m for m in messages if m["type"] == "RECORD"]
    assert len(chunks) < len(records) / 10
    # each STATE ends a write: what it covers is out with it
    for chunk in chunks:
        if b'"type":"STATE"' in chunk:
            assert chunk.rstrip(b"\n").rsplit(b"\n", 1)[-1].startswith(b'{"type":"STATE"')
    # the same records, in the same order, whatever the writes
    _, at_once = writes_of_a_sync(demo_sandbox, 4)
    assert [m["record"] for m in at_once if m["type"] == "RECORD"] == [m["record"] for m in records]
