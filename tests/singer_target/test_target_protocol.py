"""The Singer protocol side of target-personyze, over real HTTP against the sandbox: STATE only
after the records before it are in Personyze, BATCH files written through, a target killed
mid-run and run again leaves every row exactly once, and the configuration errors it refuses."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connectors.api.query import Query, all_of, cond
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.readback import get, interactions, products_by_id, rejects, users_by_email
from tests.singer_target.targetruns import (
    TARGET,
    Records,
    base_config,
    messages_for,
    run_target,
    schema_of,
    write_config,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def sandbox() -> Any:
    with running_sandbox("demo", scale=1, seed=11) as sb:
        yield sb


def test_each_state_is_echoed_only_after_the_records_before_it_are_in_personyze(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    emails = [f"state{i}@example.com" for i in range(40)]
    records: Records = {
        "users": [{"email": e, "first_name": f"S{i}"} for i, e in enumerate(emails)]
    }
    config = base_config(sandbox, tmp_path, batch_size_rows=5)
    proc = subprocess.Popen(
        [str(TARGET), "--config", str(write_config(config, tmp_path))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdin is not None and proc.stdout is not None
    checked: list[tuple[int, int]] = []

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            state = json.loads(line)
            # Read Personyze the moment the STATE appears: every record before it is there.
            before = emails[: state["records"]]
            checked.append((state["records"], len(users_by_email(sandbox, before))))

    watcher = threading.Thread(target=watch)
    watcher.start()
    for message in messages_for(records, states_every=3):
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
        time.sleep(0.01)
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0
    watcher.join(timeout=30)
    assert all(wanted == found for wanted, found in checked), checked
    assert checked[-1] == (40, 40)
    # Checkpoints during the run, not only at the end, and never backwards.
    assert len(checked) >= 5
    assert [n for n, _ in checked] == sorted(n for n, _ in checked)


def test_batch_messages_jsonl_and_gzip_are_written(sandbox: RunningSandbox, tmp_path: Path) -> None:
    plain, packed = tmp_path / "users-1.jsonl", tmp_path / "users-2.jsonl.gz"
    first = [{"email": f"batch{i}@example.com", "first_name": f"B{i}"} for i in range(30)]
    second = [{"email": f"batch{i}@example.com", "first_name": f"B{i}"} for i in range(30, 50)]
    second.append({"email": "not-an-email"})
    plain.write_text("".join(json.dumps(r) + "\n" for r in first))
    with gzip.open(packed, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in second)
    schema = schema_of(first + second)
    messages = [
        {"type": "SCHEMA", "stream": "users", "schema": schema, "key_properties": ["email"]},
        {
            "type": "BATCH",
            "stream": "users",
            "encoding": {"format": "jsonl"},
            "manifest": [plain.as_uri()],
        },
        {"type": "STATE", "value": {"batches": 1}},
        {
            "type": "BATCH",
            "stream": "users",
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "manifest": [packed.as_uri()],
        },
        {"type": "STATE", "value": {"batches": 2}},
    ]
    run = run_target(base_config(sandbox, tmp_path), messages, tmp_path)
    assert run.states == [{"batches": 1}, {"batches": 2}]
    users = users_by_email(sandbox, [r["email"] for r in first + second[:-1]])
    assert len(users) == 50 and users["batch42@example.com"]["first_name"] == "B42"
    assert [r["key"] for r in rejects(tmp_path)] == ["not-an-email"]


CRASH_EMAILS = [f"crash{i}@example.com" for i in range(40)]


def crash_input() -> Records:
    return {
        "users": [{"email": e, "first_name": f"C{i}"} for i, e in enumerate(CRASH_EMAILS)],
        "products": [{"internal_id": f"C-{i}", "title": f"Crash {i}"} for i in range(10)],
        "products_interactions": [
            {"email": e, "product_internal_id": f"SKU-{i % 50 + 1:05d}", "status": s, "amount": i}
            for s in ("goal", "viewed")
            for i, e in enumerate(CRASH_EMAILS)
        ],
    }


def test_killed_mid_run_then_rerun_writes_every_row_exactly_once(tmp_path: Path) -> None:
    records = crash_input()
    messages = messages_for(records, states_every=10)
    with running_sandbox("demo", scale=1, seed=11, latency_ms=40) as sb:
        config = base_config(sb, tmp_path, batch_size_rows=5, max_concurrency=2)
        ledger = tmp_path / "ledger.db"
        proc = subprocess.Popen(
            [str(TARGET), "--config", str(write_config(config, tmp_path))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        assert proc.stdin is not None
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages).encode())
        proc.stdin.close()
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
                if states.get("pending") and states.get("done", 0) >= 10:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed = True
                    break
            time.sleep(0.002)
        proc.wait(timeout=30)
        assert killed
        emitted = (
            [json.loads(line) for line in proc.stdout.read().splitlines()] if proc.stdout else []
        )
        # Whatever STATE the killed run emitted, the records before it are in Personyze.
        if emitted:
            written = users_by_email(sb, CRASH_EMAILS)
            assert len(written) >= min(emitted[-1]["records"], 40)

        rerun = run_target(config, messages, tmp_path)
        assert rerun.states[-1]["done"] is True
        assert rejects(tmp_path) == []
        users = users_by_email(sb, CRASH_EMAILS)
        assert [users[e]["first_name"] for e in CRASH_EMAILS] == [f"C{i}" for i in range(40)]
        with sqlite3.connect(sb.db_path) as conn:
            dupes = conn.execute(
                "SELECT email, COUNT(*) FROM users WHERE email LIKE 'crash%' "
                "GROUP BY email HAVING COUNT(*) > 1"
            ).fetchall()
        assert dupes == []
        assert len(products_by_id(sb, [f"C-{i}" for i in range(10)])) == 10
        skus = sorted({r["product_internal_id"] for r in records["products_interactions"]})
        uids = sorted(u["user_id"] for u in users.values())
        events = get(
            sb,
            Query(
                "products_interactions",
                where=all_of(cond("product_internal_id", ":", skus), cond("user_id", ":", uids)),
                limit=1000,
            ),
        )
        got = Counter((e["user_id"], e["product_internal_id"], e["status"]) for e in events)
        want = Counter(
            (users[r["email"]]["user_id"], r["product_internal_id"], r["status"])
            for r in records["products_interactions"]
        )
        assert got == want
        assert sum(interactions(sb, skus).values()) >= len(records["products_interactions"])


# ---------------------------------------------------------------- configuration


def run_failing(config: dict[str, Any], messages: list[dict[str, Any]], tmp: Path) -> str:
    run = run_target(config, messages, tmp, check=False)
    assert run.returncode != 0 and run.states == []
    assert "Traceback" not in run.stderr
    return run.stderr


ONE_USER = {"users": [{"email": "cfg@example.com", "first_name": "Cfg"}]}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"load_method": "overwrite"}, "load_method: 'overwrite' is not supported"),
        ({"add_record_metadata": True}, "add_record_metadata: must be false"),
        (
            {"streams": {"users": {"object": "users", "mode": "sideways"}}},
            "setting 'mode' 'sideways' is not allowed for users",
        ),
        ({"load_method": "append-only", "streams": {"users": {"mode": "upsert"}}}, "forbids"),
        ({"batch_size_rows": 0}, "batch_size_rows"),
    ],
)
def test_settings_it_cannot_honour_are_refused_at_start(
    demo_sandbox: RunningSandbox, tmp_path: Path, extra: dict[str, Any], expected: str
) -> None:
    config = base_config(demo_sandbox, tmp_path, **extra)
    assert expected in run_failing(config, messages_for(ONE_USER), tmp_path)


def test_a_stream_without_a_write_target_fails_at_its_schema(
    demo_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    stderr = run_failing(
        base_config(demo_sandbox, tmp_path),
        messages_for({"customers": ONE_USER["users"]}),
        tmp_path,
    )
    assert "stream 'customers': no write target" in stderr
    assert "setting 'streams'" in stderr


def test_append_only_inserts_and_never_changes_existing_rows(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    records: Records = {
        "users": [
            {"email": "omar.chen.1@example.com", "first_name": "Changed"},
            {"email": "append@example.com", "first_name": "New"},
        ]
    }
    run_target(
        base_config(sandbox, tmp_path, load_method="append-only"), messages_for(records), tmp_path
    )
    users = users_by_email(sandbox, ["omar.chen.1@example.com", "append@example.com"])
    assert users["omar.chen.1@example.com"]["first_name"] == "Omar"
    assert users["append@example.com"]["first_name"] == "New"
    assert [r["key"] for r in rejects(tmp_path)] == ["omar.chen.1@example.com"]
