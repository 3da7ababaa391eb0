"""End to end with a real client: PyAirbyte runs the installed `source-personyze` console script
against the demo sandbox and loads every stream into DuckDB."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.read.selection import writes_to_account
from connectors.spec import default_specs
from personyze_sandbox.process import RunningSandbox
from tests.e2e.pyairbyte_env import pyairbyte_python

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

READ_SCRIPT = Path(__file__).with_name("pyairbyte_read.py")


def sandbox_tables(db_path: Path) -> dict[str, list[list[str]]]:
    """Primary keys (as text) of every stream's table, or one empty list per row without one."""
    tables: dict[str, list[list[str]]] = {}
    with sqlite3.connect(db_path) as db:
        names = {n for (n,) in db.execute("select name from sqlite_master where type='table'")}
        for name, spec in default_specs().objects.items():
            if name not in names or not spec.readable:
                continue
            columns = ", ".join(f'"{c}"' for c in spec.primary_key) or "1"
            rows = db.execute(f'select {columns} from "{name}"').fetchall()
            tables[name] = [[str(v) for v in r] if spec.primary_key else [] for r in rows]
    return tables


def test_pyairbyte_reads_every_stream_into_duckdb(
    demo_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    python = pyairbyte_python()
    executable = Path(sys.executable).with_name("source-personyze")
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"api_key": demo_sandbox.api_key, "base_url": demo_sandbox.base_url})
    )
    result = tmp_path / "result.json"
    env = {
        **os.environ,
        "AIRBYTE_OFFLINE_MODE": "1",
        "AIRBYTE_CACHE_ROOT": str(tmp_path / "cache"),
        "AIRBYTE_LOGGING_ROOT": str(tmp_path / "logs"),
        "DO_NOT_TRACK": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [
            str(python),
            str(READ_SCRIPT),
            str(executable),
            str(config),
            str(tmp_path / "personyze.duckdb"),
            str(result),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert demo_sandbox.api_key not in done.stdout + done.stderr
    loaded = json.loads(result.read_text())
    expected = sandbox_tables(demo_sandbox.db_path)
    # the stream that writes to the account is offered only on opt-in (test_read_only.py)
    readable = {o.name for o in default_specs().readable() if not writes_to_account(o)}
    assert set(loaded) == readable
    for stream, rows in expected.items():
        got = loaded[stream]
        assert got["count"] == len(rows), stream
        if got["primary_key"]:
            assert sorted(map(tuple, got["keys"])) == sorted(map(tuple, rows)), stream
    assert loaded["tracker_code"]["count"] == 1
