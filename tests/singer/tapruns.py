"""Running TapPersonyze in-process and checking what it emitted against a sandbox's SQLite file."""

from __future__ import annotations

import copy
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.api.client import PersonyzeClient
from connectors.spec import ObjectSpec
from connectors.spec.loader import default_specs
from personyze_sandbox.process import RunningSandbox
from tap_personyze import TapPersonyze

SPECS = default_specs()
Row = dict[str, Any]
TAP = str(Path(sys.executable).with_name("tap-personyze"))


def tap_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``tap-personyze`` as Meltano runs it, without any TAP_PERSONYZE_* of this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAP_PERSONYZE_")}
    return subprocess.run(
        [TAP, *args], capture_output=True, text=True, env={**clean, **(env or {})}, timeout=timeout
    )


def write_json(path: Path, value: Any) -> str:
    """``value`` as the JSON file ``path`` (a --config, --state or --catalog), and its path."""
    path.write_text(json.dumps(value))
    return str(path)


def messages_of(stdout: str) -> TapRun:
    return TapRun([json.loads(line) for line in stdout.splitlines() if line.strip()])


class FastRetryTap(TapPersonyze):
    """The tap with backoff sleeps cut short: faults are injected on purpose in these tests."""

    def new_client(self) -> PersonyzeClient:
        assert self.settings is not None
        return PersonyzeClient(self.settings, sleep=lambda s: time.sleep(min(s, 0.02)))


def config_for(sb: RunningSandbox, **extra: Any) -> dict[str, Any]:
    return {"api_key": sb.api_key, "base_url": sb.base_url, **extra}


@dataclass(frozen=True)
class TapRun:
    messages: list[dict[str, Any]]

    def records(self, stream: str) -> list[Row]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1]

    def streams(self) -> set[str]:
        return {m["stream"] for m in self.messages if m["type"] == "RECORD"}


def run_tap(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    streams: set[str] | None = None,
    state_every: int | None = None,
    tap_class: type[TapPersonyze] = FastRetryTap,
) -> TapRun:
    """One sync of the named streams (those selected by default when None), its Singer
    messages parsed. Named streams are selected in a catalog, as Meltano would pass it."""
    catalog = None
    if streams is not None:
        discovered = tap_class(config=config, parse_env_config=False).catalog_dict
        catalog = selected_catalog(discovered, streams)
    tap = tap_class(
        config=config, state=copy.deepcopy(state or {}), catalog=catalog, parse_env_config=False
    )
    for stream in tap.streams.values():
        if state_every is not None:
            stream.STATE_MSG_FREQUENCY = state_every
    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    return TapRun([json.loads(line) for line in out.getvalue().splitlines() if line.strip()])


def selected_catalog(catalog: dict[str, Any], streams: set[str]) -> dict[str, Any]:
    """``catalog`` with exactly ``streams`` selected."""
    catalog = copy.deepcopy(catalog)
    for entry in catalog["streams"]:
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
        root["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def table_specs() -> list[ObjectSpec]:
    return sorted((o for o in SPECS.readable() if o.kind == "table"), key=lambda o: o.name)


def comparable_columns(spec: ObjectSpec, db: Path) -> list[str]:
    """Documented scalar columns, whose values the API returns exactly as stored."""
    with sqlite3.connect(db) as conn:
        stored = {r[1] for r in conn.execute(f'PRAGMA table_info("{spec.name}")')}
    return [
        c.name
        for c in spec.columns
        if c.type in ("integer", "number", "string")
        and c.role != "packed_json"
        and c.name in stored
    ]


def reference_rows(spec: ObjectSpec, db: Path) -> list[Row]:
    """Rows a keyset read can reach (NULL keys cannot be paged by key)."""
    key = spec.read.key
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute(f'SELECT * FROM "{spec.name}"')]
    return [r for r in rows if key is None or r.get(key) is not None]


def multiset(rows: list[Row], columns: list[str]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(r.get(c) for c in columns) for r in rows)


def keys(rows: list[Row], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in columns) for r in rows]


def bookmark(state: dict[str, Any], stream: str) -> Any:
    return state.get("bookmarks", {}).get(stream, {}).get("replication_key_value")
