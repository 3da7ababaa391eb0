"""Running target-personyze on Singer messages (as a subprocess or in-process) and reading
Personyze back through the API."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.client import PersonyzeClient
from connectors.query import Query, all_of, cond
from connectors.sandbox.process import RunningSandbox
from connectors.settings import ConnectionSettings
from target_personyze import singer_writer
from target_personyze.target import TargetPersonyze

TARGET = Path(sys.executable).with_name("target-personyze")
Records = dict[str, list[dict[str, Any]]]


def schema_of(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A SCHEMA that accepts every record given: each column of any type."""
    columns = dict.fromkeys(c for r in records for c in r)
    return {"type": "object", "properties": {c: {} for c in columns}}


def messages_for(records: Records, states_every: int | None = None) -> list[dict[str, Any]]:
    """SCHEMA then RECORD messages per stream, in the order given; a STATE every
    ``states_every`` records (value: the count so far) and one at the end."""
    out: list[dict[str, Any]] = []
    count = 0
    for stream, rows in records.items():
        out.append(
            {"type": "SCHEMA", "stream": stream, "schema": schema_of(rows), "key_properties": []}
        )
        for row in rows:
            out.append({"type": "RECORD", "stream": stream, "record": row})
            count += 1
            if states_every and count % states_every == 0:
                out.append({"type": "STATE", "value": {"records": count}})
    out.append({"type": "STATE", "value": {"records": count, "done": True}})
    return out


def base_config(sb: RunningSandbox, tmp: Path, **extra: Any) -> dict[str, Any]:
    return {
        "api_key": sb.api_key,
        "base_url": sb.base_url,
        "max_retries": 10,
        "rejects_path": str(tmp / "rejects.jsonl"),
        "ledger_path": str(tmp / "ledger.db"),
        **extra,
    }


@dataclass
class TargetRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def states(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def write_config(config: dict[str, Any], tmp: Path) -> Path:
    path = tmp / "config.json"
    path.write_text(json.dumps(config))
    return path


def run_target(
    config: dict[str, Any],
    messages: list[dict[str, Any]],
    tmp: Path,
    *,
    check: bool = True,
    timeout: float = 120,
) -> TargetRun:
    """``target-personyze --config`` with the messages on stdin; asserts that stdout carries
    STATE lines only and that the key shows nowhere."""
    proc = subprocess.run(
        [str(TARGET), "--config", str(write_config(config, tmp))],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp,
    )
    run = TargetRun(proc.returncode, proc.stdout, proc.stderr)
    assert_clean_output(run, config["api_key"])
    if check:
        assert run.returncode == 0, run.stderr[-4000:]
    return run


def assert_clean_output(run: TargetRun, key: str) -> None:
    for line in run.stdout.splitlines():
        if line.strip():
            assert isinstance(json.loads(line), dict), line  # a state value, nothing else
    assert key not in run.stdout and key not in run.stderr


class FastRetryClient(PersonyzeClient):
    """Backoff sleeps cut short: faults are injected on purpose."""

    def __init__(self, settings: ConnectionSettings, **kwargs: Any) -> None:
        super().__init__(settings, sleep=lambda s: time.sleep(min(s, 0.01)), **kwargs)


def run_in_process(
    config: dict[str, Any], messages: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """The target in this process (fast retries); returns the STATE values written."""
    monkeypatch.setattr(singer_writer, "PersonyzeClient", FastRetryClient)
    target = TargetPersonyze(config=config, parse_env_config=False)
    out = io.StringIO()
    with redirect_stdout(out):
        target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def rejects(tmp: Path) -> list[dict[str, Any]]:
    path = tmp / "rejects.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- reading Personyze back


def client(sb: RunningSandbox) -> PersonyzeClient:
    return PersonyzeClient(
        ConnectionSettings.from_config(
            {"api_key": sb.api_key, "base_url": sb.base_url, "max_retries": 8}
        )
    )


def get(sb: RunningSandbox, q: Query) -> Any:
    with client(sb) as c:
        return c.get(q)


def users_by_email(sb: RunningSandbox, emails: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(emails), 200):
        rows = get(
            sb, Query("users", where=all_of(cond("email", ":", emails[i : i + 200])), limit=1000)
        )
        found.update({r["email"]: r for r in rows})
    return found


def products_by_id(sb: RunningSandbox, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = get(sb, Query("products", where=all_of(cond("internal_id", ":", ids)), limit=1000))
    return {r["internal_id"]: r for r in rows}


def members(sb: RunningSandbox, list_id: int) -> set[int]:
    rows = get(
        sb,
        Query(
            "user_list_users",
            where=all_of(cond("user_list_id", "=", list_id)),
            column="user_id",
            limit=1000,
        ),
    )
    return set(rows)


def lists_named(sb: RunningSandbox, name: str) -> list[dict[str, Any]]:
    return [lst for lst in get(sb, Query("user_lists", order_by=("id",))) if lst["name"] == name]


def interactions(sb: RunningSandbox, products: list[str]) -> Counter[tuple[Any, ...]]:
    rows = get(
        sb,
        Query(
            "products_interactions",
            where=all_of(cond("product_internal_id", ":", products)),
            limit=1000,
        ),
    )
    return Counter(
        (r["user_id"], r["product_internal_id"], r["status"], r["quantity"], r["amount"])
        for r in rows
    )


def article_interactions(sb: RunningSandbox) -> Counter[tuple[Any, ...]]:
    # No REST object holds article interactions: read the sandbox's internal table.
    with sqlite3.connect(sb.db_path) as conn:
        rows = conn.execute(
            "SELECT user_id, article_internal_id, status FROM _articles_interactions"
        ).fetchall()
    return Counter(tuple(r) for r in rows)


def table_counts(sb: RunningSandbox) -> dict[str, int]:
    with sqlite3.connect(sb.db_path) as conn:
        return {
            t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            for t in (
                "users",
                "products",
                "articles",
                "user_lists",
                "user_list_users",
                "products_interactions",
                "_articles_interactions",
            )
        }
