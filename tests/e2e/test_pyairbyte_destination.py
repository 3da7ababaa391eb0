"""End to end with a real client, offline: PyAirbyte reads `source-personyze` from the demo
sandbox into a DuckDB cache, then writes the cached dataset through the installed
`destination-personyze` console script into a second, empty sandbox. The rows must arrive,
read back through the API, without the `_airbyte_*` columns of the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.api.query import Query
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.airbyte_destination import protocol as p
from tests.e2e.pyairbyte_env import pyairbyte_python

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(2400)]

STREAMS = ["users", "products", "user_lists"]

# Runs inside the PyAirbyte venv (PyAirbyte pins SQLAlchemy and rich: not the project's venv).
SCRIPT = textwrap.dedent("""
    import json, os, sys

    os.environ["AIRBYTE_OFFLINE_MODE"] = "1"  # before the import: no registry download

    import airbyte as ab
    from airbyte.caches import DuckDBCache

    source_exe, destination_exe, source_cfg, destination_cfg, db, streams, out = sys.argv[1:8]
    load = lambda path: json.load(open(path, encoding="utf-8"))
    source = ab.get_source("source-personyze", local_executable=source_exe,
                           config=load(source_cfg))
    source.select_streams(streams.split(","))
    read = source.read(cache=DuckDBCache(db_path=db))
    cached = {name: read[name].to_pandas() for name in streams.split(",")}

    destination = ab.get_destination("destination-personyze", local_executable=destination_exe,
                                      config=load(destination_cfg))
    destination.check()
    destination.write(read)
    json.dump({
        "columns": {n: sorted(f.columns) for n, f in cached.items()},
        "counts": {n: len(f) for n, f in cached.items()},
        "emails": sorted(cached["users"]["email"].dropna()),
        "products": sorted(cached["products"]["internal_id"]),
        "lists": sorted(cached["user_lists"]["name"]),
    }, open(out, "w", encoding="utf-8"))
""")


@pytest.fixture
def empty_target() -> Iterator[RunningSandbox]:
    with running_sandbox("empty") as sb:
        yield sb


def test_pyairbyte_writes_a_cached_dataset_through_the_destination(
    demo_sandbox: RunningSandbox, empty_target: RunningSandbox, tmp_path: Path
) -> None:
    python = pyairbyte_python()
    bin_dir = Path(sys.executable).parent
    script, result = tmp_path / "write.py", tmp_path / "result.json"
    script.write_text(SCRIPT)
    source_cfg, destination_cfg = tmp_path / "source.json", tmp_path / "destination.json"
    source_cfg.write_text(
        json.dumps({"api_key": demo_sandbox.api_key, "base_url": demo_sandbox.base_url})
    )
    destination_cfg.write_text(
        json.dumps(
            {
                "api_key": empty_target.api_key,
                "base_url": empty_target.base_url,
                "rejects_path": str(tmp_path / "rejects.jsonl"),
                "ledger_path": str(tmp_path / "ledger.sqlite"),
            }
        )
    )
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
            str(script),
            str(bin_dir / "source-personyze"),
            str(bin_dir / "destination-personyze"),
            str(source_cfg),
            str(destination_cfg),
            str(tmp_path / "personyze.duckdb"),
            ",".join(STREAMS),
            str(result),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert empty_target.api_key not in output and demo_sandbox.api_key not in output
    cached = json.loads(result.read_text())
    assert any(c.startswith("_airbyte_") for c in cached["columns"]["users"])  # from the cache
    assert cached["counts"]["users"] > 1000 and cached["counts"]["products"] > 100

    emails = cached["emails"]
    users = [
        u
        for i in range(0, len(emails), 100)
        for u in p.users_by_email(empty_target, emails[i : i + 100]).values()
    ]
    assert sorted(u["email"] for u in users) == emails
    assert not any(k.startswith("_airbyte_") for u in users for k in u)
    products = {
        k
        for i in range(0, len(cached["products"]), 100)
        for k in p.products_by_id(empty_target, cached["products"][i : i + 100])
    }
    assert sorted(products) == cached["products"]
    lists = Counter(lst["name"] for lst in p.get(empty_target, Query("user_lists")))
    assert set(lists) == set(cached["lists"]) and max(lists.values()) == 1  # upsert by name
    assert not (tmp_path / "rejects.jsonl").exists()
