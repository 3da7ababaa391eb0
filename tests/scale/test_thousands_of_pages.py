"""Both read adapters, as the executables users run, over a stream of thousands of pages: the
full sync returns exactly the sandbox's rows (no loss, no duplicate), ties on the cursor
included (flash-sale seconds of hundreds of rows, a 1,200-user import sharing one second)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = Path(sys.executable).parent
INTERACTIONS = 120_000  # about 2,400 pages of 50 rows
STREAMS = ("products_interactions", "users")
COLUMNS = {
    "products_interactions": ("user_id", "product_internal_id", "status", "time", "quantity"),
    "users": ("user_id", "email", "data_last_modified"),
}


@pytest.fixture(scope="module")
def big() -> Iterator[RunningSandbox]:
    rows = ["--rows", f"products_interactions={INTERACTIONS}"]
    with running_sandbox("demo", seed=29, extra_args=rows) as sb:
        yield sb


def reference(sb: RunningSandbox, stream: str) -> Counter[tuple[Any, ...]]:
    cols = ", ".join(COLUMNS[stream])
    with sqlite3.connect(sb.db_path) as db:
        return Counter(tuple(r) for r in db.execute(f"SELECT {cols} FROM {stream}"))


def synced(lines: list[str], stream: str, protocol: str) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for line in lines:
        message = json.loads(line)
        if message.get("type") != "RECORD":
            continue
        record = message["record"] if protocol == "airbyte" else message
        data = record["data"] if protocol == "airbyte" else record["record"]
        if record["stream"] == stream:
            out[tuple(data[c] for c in COLUMNS[stream])] += 1
    return out


def tap_lines(sb: RunningSandbox, tmp: Path) -> list[str]:
    config = tmp / "tap.json"
    config.write_text(json.dumps({"base_url": sb.base_url, "max_concurrency": 4}))
    env = {"TAP_PERSONYZE_API_KEY": sb.api_key, "PATH": str(BIN)}
    found = subprocess.run(
        [str(BIN / "tap-personyze"), "--config", str(config), "--config", "ENV", "--discover"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    catalog = json.loads(found.stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in STREAMS
    (tmp / "catalog.json").write_text(json.dumps(catalog))
    done = subprocess.run(
        [
            str(BIN / "tap-personyze"),
            "--config",
            str(config),
            "--config",
            "ENV",
            "--catalog",
            str(tmp / "catalog.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    assert sb.api_key not in done.stdout + done.stderr
    return done.stdout.splitlines()


def source_lines(sb: RunningSandbox, tmp: Path) -> list[str]:
    config = tmp / "source.json"
    config.write_text(
        json.dumps({"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": 4})
    )
    found = subprocess.run(
        [str(BIN / "source-personyze"), "discover", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    streams = []
    for line in found.stdout.splitlines():
        for stream in json.loads(line).get("catalog", {}).get("streams", []):
            if stream["name"] in STREAMS:
                streams.append(
                    {
                        "stream": stream,
                        "sync_mode": "incremental",
                        "destination_sync_mode": "append",
                        "cursor_field": stream["default_cursor_field"],
                    }
                )
    (tmp / "catalog.json").write_text(json.dumps({"streams": streams}))
    done = subprocess.run(
        [
            str(BIN / "source-personyze"),
            "read",
            "--config",
            str(config),
            "--catalog",
            str(tmp / "catalog.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    assert sb.api_key not in done.stdout + done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("adapter", ["singer", "airbyte"])
def test_full_sync_of_thousands_of_pages_is_exact(
    big: RunningSandbox, adapter: str, tmp_path: Path
) -> None:
    lines = (tap_lines if adapter == "singer" else source_lines)(big, tmp_path)
    for stream in STREAMS:
        got, want = synced(lines, stream, adapter), reference(big, stream)
        assert sum(want.values()) >= (INTERACTIONS if stream != "users" else 2_000)
        assert got == want, f"{adapter} {stream}: lost {want - got}, extra {got - want}"
