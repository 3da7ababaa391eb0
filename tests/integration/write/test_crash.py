"""A writer killed mid-run and run again leaves every row exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from connectors.api.query import Query, all_of, cond
from personyze_sandbox.process import running_sandbox
from tests.integration.write.runs import Records, write
from tests.readback import (
    get,
    users_by_email,
)

pytestmark = pytest.mark.integration


CRASH_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from connectors.api.client import PersonyzeClient
    from connectors.settings import ConnectionSettings
    from connectors.write import WriteEngine, WriteOptions, parse_targets
    base_url, key, ledger, data = sys.argv[1:5]
    records = json.loads(Path(data).read_text())
    client = PersonyzeClient(ConnectionSettings.from_config({"api_key": key, "base_url": base_url}))
    engine = WriteEngine(client, parse_targets(None, records),
                         WriteOptions(ledger_path=Path(ledger), batch_size=5, concurrency=2))
    for stream, rows in records.items():
        for row in rows:
            engine.add(stream, row)
    engine.finish()
    print("finished", flush=True)
""")


def crash_input() -> Records:
    emails = [f"crash{i}@example.com" for i in range(40)]
    return {
        "users": [{"email": e, "first_name": f"C{i}"} for i, e in enumerate(emails)],
        "products": [{"internal_id": f"C-{i}", "title": f"Crash {i}"} for i in range(10)],
        # no transaction_time: the engine stamps one so a pending event can be looked up
        "products_interactions": [
            {
                "email": e,
                "product_internal_id": f"SKU-{i % 50 + 1:05d}",
                "status": "goal",
                "amount": i,
            }
            for i, e in enumerate(emails)
        ]
        + [
            {"email": e, "product_internal_id": f"SKU-{i % 50 + 1:05d}", "status": "viewed"}
            for i, e in enumerate(emails)
        ],
    }


@pytest.mark.parametrize("done_before_kill", [1, 10, 45])
def test_killed_mid_run_then_rerun_writes_every_row_exactly_once(
    tmp_path: Path, done_before_kill: int
) -> None:
    records = crash_input()
    data, ledger, script = tmp_path / "input.json", tmp_path / "ledger.db", tmp_path / "w.py"
    data.write_text(json.dumps(records))
    script.write_text(CRASH_SCRIPT)
    with running_sandbox("demo", scale=1, seed=11, latency_ms=40) as sb:
        proc = subprocess.Popen(
            [sys.executable, str(script), sb.base_url, sb.api_key, str(ledger), str(data)],
            env={**os.environ},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        killed = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if ledger.exists():
                try:
                    with sqlite3.connect(ledger, timeout=0.05) as conn:
                        states = dict(
                            conn.execute(
                                "SELECT state, COUNT(*) FROM events GROUP BY state"
                            ).fetchall()
                        )
                except sqlite3.OperationalError:
                    states = {}
                if states.get("pending") and states.get("done", 0) >= done_before_kill:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed = True
                    break
            time.sleep(0.002)
        proc.wait(timeout=30)
        assert killed, proc.stderr.read() if proc.stderr else ""
        proc.stdout and proc.stdout.close()
        proc.stderr and proc.stderr.close()

        summary = write(sb, {}, records, tmp_path)
        assert summary.total("rejected") == 0 and summary.total("unknown") == 0
        assert summary.streams["products_interactions"].skipped >= done_before_kill
        emails = [r["email"] for r in records["users"]]
        users = users_by_email(sb, emails)
        assert len(users) == 40 and all(
            users[e]["first_name"] == f"C{i}" for i, e in enumerate(emails)
        )
        with sqlite3.connect(sb.db_path) as conn:
            dupes = conn.execute(
                "SELECT email, COUNT(*) FROM users WHERE email LIKE 'crash%' "
                "GROUP BY email HAVING COUNT(*) > 1"
            ).fetchall()
        assert dupes == []
        skus = sorted({r["product_internal_id"] for r in records["products_interactions"]})
        uids = {users[e]["user_id"] for e in emails}
        events = get(
            sb,
            Query(
                "products_interactions",
                where=all_of(
                    cond("product_internal_id", ":", skus), cond("user_id", ":", sorted(uids))
                ),
                limit=1000,
            ),
        )
        got = Counter((e["user_id"], e["product_internal_id"], e["status"]) for e in events)
        want = Counter(
            (users[r["email"]]["user_id"], r["product_internal_id"], r["status"])
            for r in records["products_interactions"]
        )
        assert got == want
        assert (
            len(
                get(
                    sb,
                    Query(
                        "products",
                        where=all_of(cond("internal_id", ":", [f"C-{i}" for i in range(10)])),
                    ),
                )
            )
            == 10
        )
