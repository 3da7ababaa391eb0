"""What the head-start tests of both adapters share (``tests/airbyte/test_head_start.py``,
``tests/singer/test_head_start.py``): a sandbox that logs every request, what the core alone
reads and sends for a stream, and a spy on a head start module's ``take``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from connectors.api.client import PersonyzeClient
from connectors.read.head_start import HeadStart
from connectors.read.streams import discover
from connectors.read.sync import ReadOptions, StateUpdate, read_stream
from connectors.settings import ConnectionSettings
from connectors.spec import default_specs
from personyze_sandbox.process import RunningSandbox, running_sandbox

SPECS = default_specs()


def logged_sandbox(folder: Path) -> Iterator[tuple[RunningSandbox, Path]]:
    """A demo sandbox with 3,000 users and its request log (one line per request)."""
    log = folder / "requests.log"
    args = ("--request-log", str(log), "--rows", "users=3000")
    with running_sandbox("demo", seed=31, extra_args=args) as sb:
        yield sb, log


def lines(log: Path) -> int:
    return len(log.read_text().splitlines())


def users_in(sb: RunningSandbox) -> list[int]:
    with sqlite3.connect(sb.db_path) as db:
        return sorted(int(r[0]) for r in db.execute("SELECT user_id FROM users"))


def core_alone(config: dict[str, Any], name: str, log: Path) -> tuple[int, int]:
    """Rows and requests of the stream ``name`` read by the core alone, without an adapter."""
    settings = ConnectionSettings.from_config(config, side="read")
    (stream,) = [d for d in discover(None, SPECS) if d.name == name]
    before = lines(log)
    with PersonyzeClient(settings) as client:
        items = read_stream(client, SPECS, stream, {}, ReadOptions.from_settings(settings))
        rows = sum(1 for i in items if not isinstance(i, StateUpdate))
    return rows, lines(log) - before


class Takes:
    """Spies on ``module.take`` (an adapter's head start): what each stream got."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> None:
        self.got: list[tuple[str, bool]] = []
        real = module.take

        def take(name: str, *args: Any) -> HeadStart | None:
            started: HeadStart | None = real(name, *args)
            self.got.append((name, started is not None))
            return started

        monkeypatch.setattr(module, "take", take)
