"""Running target-personyze on Singer messages (as a subprocess or in-process) and reading
Personyze back through the API."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.api.client import PersonyzeClient
from connectors.settings import ConnectionSettings
from personyze_sandbox.process import RunningSandbox
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


def run_target_bytes(
    config: dict[str, Any], data: bytes, tmp: Path, *, timeout: float = 120
) -> TargetRun:
    """``target-personyze --config`` with ``data`` on stdin as given (raw bytes: blank lines,
    invalid UTF-8, lines that are not JSON); asserts clean output like ``run_target``."""
    proc = subprocess.run(
        [str(TARGET), "--config", str(write_config(config, tmp))],
        input=data,
        capture_output=True,
        timeout=timeout,
        cwd=tmp,
    )
    run = TargetRun(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )
    assert_clean_output(run, config["api_key"])
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
