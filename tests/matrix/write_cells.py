"""One cell of the writers' fault and crash matrices: the input a source would send, the two
writers run as real processes on it, and a rerun from the last STATE they echoed.

The input is what a warehouse sync sends, stream after stream: profiles, products, articles,
list members added to one list and mirrored into another, product interactions and article
interactions. Incremental streams carry a bookmark (the index of their last record) in the STATE
messages; a rerun resumes each of them after its bookmark in the last STATE the killed writer
echoed, as Airbyte and Meltano do. The mirror stream is full refresh, so a rerun sends it whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from personyze_sandbox.process import RunningSandbox

Records = dict[str, list[dict[str, Any]]]
T0 = 1_700_000_000
STATE_EVERY = 5
BATCH = 5  # batch_size_rows: many requests, many STATE messages, many crash points
ADD_LIST, MIRROR_LIST = "Matrix add", "Matrix mirror"
OLD_MEMBERS = [f"old{i}@matrix.example" for i in range(8)]  # in the mirror list beforehand
FULL_REFRESH = frozenset({"vip_mirror"})
STREAMS = {
    "vip_add": {"object": "user_list_users", "list_name": ADD_LIST},
    "vip_mirror": {"object": "user_list_users", "mode": "mirror", "list_name": MIRROR_LIST},
}
PRODUCT_STATUSES = ("viewed", "extra", "favorite", "goal")
ARTICLE_STATUSES = ("viewed", "liked", "commented", "goal")
BIN = Path(sys.executable).parent


def email(i: int) -> str:
    return f"u{i}@matrix.example"


def matrix_input() -> Records:
    """The records, in the order a source sends them; every event is distinct."""
    return {
        "users": [
            {"email": email(i), "first_name": f"First{i}", "custom_t_1": f"tier-{i % 3}"}
            for i in range(40)
        ],
        "products": [
            {"internal_id": f"P-{i}", "title": f"Product {i}", "price": 10 + i} for i in range(15)
        ],
        "articles": [{"internal_id": f"A-{i}", "title": f"Article {i}"} for i in range(6)],
        "vip_add": [{"email": email(i)} for i in range(25)],
        "vip_mirror": [{"email": email(i)} for i in range(10, 25)]
        + [{"email": e} for e in OLD_MEMBERS[:5]],
        "products_interactions": [
            {
                "email": email(i % 40),
                "product_internal_id": f"P-{i % 15}",
                "status": PRODUCT_STATUSES[i % 4],
                "quantity": i % 3 + 1,
                "transaction_time": T0 + i,
            }
            for i in range(300)
        ],
        "articles_interactions": [
            {
                "email": email(i % 40),
                "article_internal_id": f"A-{i % 6}",
                "status": ARTICLE_STATUSES[i // 40],
            }
            for i in range(60)
        ],
    }


def remaining(records: Records, bookmarks: dict[str, int]) -> list[tuple[str, int, dict[str, Any]]]:
    """(stream, index, record) still to send after ``bookmarks``; full-refresh streams whole."""
    out = []
    for stream, rows in records.items():
        after = -1 if stream in FULL_REFRESH else bookmarks.get(stream, -1)
        out += [(stream, i, row) for i, row in enumerate(rows) if i > after]
    return out


def singer_messages(records: Records, bookmarks: dict[str, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    marks = {s: b for s, b in bookmarks.items() if s not in FULL_REFRESH}
    for stream, rows in records.items():
        columns = dict.fromkeys(c for r in rows for c in r)
        schema = {"type": "object", "properties": {c: {} for c in columns}}
        out.append({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": []})
    todo = remaining(records, bookmarks)
    for n, (stream, i, row) in enumerate(todo, start=1):
        out.append({"type": "RECORD", "stream": stream, "record": row})
        if stream not in FULL_REFRESH:
            marks[stream] = i
        last_of_stream = n == len(todo) or todo[n][0] != stream
        if n % STATE_EVERY == 0 or last_of_stream:
            out.append({"type": "STATE", "value": {"bookmarks": dict(marks)}})
    return out


def airbyte_messages(records: Records, bookmarks: dict[str, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    todo = remaining(records, bookmarks)
    for n, (stream, i, row) in enumerate(todo, start=1):
        data = {"stream": stream, "data": row, "emitted_at": T0 * 1000}
        out.append({"type": "RECORD", "record": data})
        last_of_stream = n == len(todo) or todo[n][0] != stream
        if stream not in FULL_REFRESH and (n % STATE_EVERY == 0 or last_of_stream):
            state = {"stream_descriptor": {"name": stream}, "stream_state": {"position": i}}
            out.append({"type": "STATE", "state": {"type": "STREAM", "stream": state}})
    return out


@dataclass
class Run:
    returncode: int
    stdout: list[str]
    stderr: str
    killed: bool
    seconds: float = 0.0


@dataclass
class Writer:
    """target-personyze or destination-personyze, with its config files in ``tmp``."""

    name: str
    sb: RunningSandbox
    tmp: Path
    bookmarks: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tmp = self.tmp.resolve()  # the writer runs in it

    def config(self) -> dict[str, Any]:
        return {
            "api_key": self.sb.api_key,
            "base_url": self.sb.base_url,
            "max_retries": 10,
            # one request at a time: a seed then gives the same faults to the same requests,
            # so a failing cell fails again when rerun
            "max_concurrency": 1,
            "rejects_path": str(self.tmp / "rejects.jsonl"),
            "ledger_path": str(self.tmp / "ledger.sqlite"),
            "batch_size_rows": BATCH,
            "max_error_rate": 1,
            "streams": STREAMS,
        }

    def command(self) -> list[str]:
        config = self.tmp / "config.json"
        config.write_text(json.dumps(self.config()))
        if self.name == "target-personyze":
            return [str(BIN / self.name), "--config", str(config)]
        catalog = self.tmp / "catalog.json"
        streams = [
            {
                "stream": {"name": s, "json_schema": {"type": "object"},
                           "supported_sync_modes": ["full_refresh", "incremental"]},
                "sync_mode": "full_refresh" if s in FULL_REFRESH else "incremental",
                "destination_sync_mode": "overwrite" if s in FULL_REFRESH else "append",
            }
            for s in matrix_input()
        ]  # fmt: skip
        catalog.write_text(json.dumps({"streams": streams}))
        return [str(BIN / self.name), "write", "--config", str(config), "--catalog", str(catalog)]

    def messages(self) -> list[dict[str, Any]]:
        build = singer_messages if self.name == "target-personyze" else airbyte_messages
        return build(matrix_input(), self.bookmarks)

    def run(self, request_log: Path, kill_after: int | None = None, timeout: float = 240) -> Run:
        """One run on the input left after the bookmarks; SIGKILL once the sandbox has answered
        ``kill_after`` more requests. The bookmarks move to the last STATE echoed."""
        already, started = _lines(request_log), time.monotonic()
        proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.tmp,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        stdin = "".join(json.dumps(m) + "\n" for m in self.messages()).encode()
        out: dict[str, bytes] = {}
        threads = [
            threading.Thread(target=_feed, args=(proc, stdin), daemon=True),
            threading.Thread(target=_drain, args=(proc.stdout, out, "stdout"), daemon=True),
            threading.Thread(target=_drain, args=(proc.stderr, out, "stderr"), daemon=True),
        ]
        for t in threads:
            t.start()
        killed = False
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if kill_after is not None and _lines(request_log) - already >= kill_after:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.003)
        if proc.poll() is None and not killed:
            proc.kill()
        proc.wait(timeout=30)
        for t in threads:
            t.join(timeout=30)
        # a line cut by the kill was never emitted: the platform drops it too
        lines = [ln for ln in out.get("stdout", b"").decode().split("\n")[:-1] if ln.strip()]
        stderr = out.get("stderr", b"").decode(errors="replace")
        run = Run(proc.returncode, lines, stderr, killed, time.monotonic() - started)
        self._advance(run)
        return run

    def _advance(self, run: Run) -> None:
        for line in run.stdout:
            message = json.loads(line)
            if self.name == "target-personyze":
                self.bookmarks = dict(message["bookmarks"])
            elif message.get("type") == "STATE":
                stream = message["state"]["stream"]
                name = stream["stream_descriptor"]["name"]
                self.bookmarks[name] = stream["stream_state"]["position"]


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # killed before it read everything


def _drain(stream: Any, out: dict[str, bytes], name: str) -> None:
    out[name] = stream.read()
