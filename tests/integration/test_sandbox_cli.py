"""The `personyze-sandbox` command line, run as a real child process."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from personyze_sandbox.injection import FaultPlan
from personyze_sandbox.process import new_api_key, running_sandbox

pytestmark = pytest.mark.integration

URL_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)/rest/\n")
# FaultPlan(0.5, 13) before the `lost` kind existed (tests/integration/test_tracker.py relies on it)
SEED_13 = ["503", None, None, None, None, "500", None, "drop", "503", None, None, "drop"]


def _command() -> list[str]:
    script = Path(sys.executable).parent / "personyze-sandbox"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "personyze_sandbox.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PERSONYZE_SANDBOX_API_KEY"}
    env.update(extra)
    return env


def _readline(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    box: list[str] = []
    assert proc.stdout is not None
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert box, "the sandbox printed nothing"
    return box[0]


@contextmanager
def sandbox_process(args: Sequence[str], key: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start the console script; yield the process and the URL line it printed."""
    proc = subprocess.Popen(
        [*_command(), *args],
        env=_env(PERSONYZE_SANDBOX_API_KEY=key),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc, _readline(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=15)


def _get(url: str, key: str, path: str) -> Any:
    r = httpx.get(url + path, auth=("api", key), timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_url_when_ready_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    key = new_api_key()
    args = ["--port", "0", "--db", str(tmp_path / "s.db"), "--dataset", "empty"]
    with sandbox_process(args, key) as (proc, line):
        assert URL_LINE.fullmatch(line), line
        url = line.strip()
        # the line is printed once the server accepts connections: no retry needed
        r = httpx.get(url + "account", auth=("api", key), timeout=5)
        assert r.status_code == 200 and isinstance(r.json(), dict)
        assert httpx.get(url + "account", timeout=5).status_code == 401
        proc.send_signal(sig)
        started = time.monotonic()
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
        assert proc.stdout is not None and proc.stdout.read() == ""  # nothing after the URL
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "account", auth=("api", key), timeout=2)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])  # noqa: S104
def test_refuses_a_non_loopback_host(tmp_path: Path, host: str) -> None:
    proc = subprocess.run(
        [*_command(), "--host", host, "--db", str(tmp_path / "s.db")],
        env=_env(PERSONYZE_SANDBOX_API_KEY=new_api_key()),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0 and proc.stdout == ""
    assert "--host" in proc.stderr and "loopback" in proc.stderr
    assert not (tmp_path / "s.db").exists()


def test_refuses_a_missing_api_key(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*_command(), "--db", str(tmp_path / "s.db")],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0 and proc.stdout == ""
    assert "--api-key" in proc.stderr and "PERSONYZE_SANDBOX_API_KEY" in proc.stderr


def test_api_key_option(tmp_path: Path) -> None:
    key = new_api_key()
    args = ["--api-key", key, "--db", str(tmp_path / "s.db")]
    with sandbox_process(args, "") as (proc, line):
        url = line.strip()
        assert _get(url, key, "account")
        assert httpx.get(url + "account", auth=("api", new_api_key())).status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0


def test_db_keeps_data_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "keep.db"
    key = new_api_key()
    with running_sandbox("empty", db_path=db, api_key=key) as sb:
        assert _get(sb.base_url + "/", key, "users/order_by/user_id") == []
        r = httpx.post(
            sb.base_url + "/users", auth=("api", key), json={"email": "kept@example.com"}
        )
        user_id = r.json()
        list_id = httpx.post(
            sb.base_url + "/user_lists", auth=("api", key), json={"name": "Kept list"}
        ).json()
    assert db.exists()
    # the demo dataset is not loaded into an existing file
    with running_sandbox("demo", db_path=db, api_key=key) as sb:
        users = _get(sb.base_url + "/", key, "users/order_by/user_id")
        assert [(u["user_id"], u["email"]) for u in users] == [(user_id, "kept@example.com")]
        assert _get(sb.base_url + "/", key, "user_lists") == [{"id": list_id, "name": "Kept list"}]
        assert _get(sb.base_url + "/", key, "products/order_by/id") == []


def _snapshot(base_url: str, key: str) -> tuple[Any, Any, Any]:
    url = base_url + "/"
    return (
        _get(url, key, "users/order_by/user_id/limit/1000"),
        _get(url, key, "products_interactions/order_by/time/limit/1000"),
        _get(url, key, "products_interactions/order_by_desc/user_id/limit/0,1000"),
    )


def test_datasets_and_seeds() -> None:
    with running_sandbox("empty") as sb:
        url = sb.base_url + "/"
        assert _get(url, sb.api_key, "users/order_by/user_id") == []
        assert _get(url, sb.api_key, "products/order_by/id") == []
    with running_sandbox("demo", seed=21) as sb:
        first = _snapshot(sb.base_url, sb.api_key)
    with running_sandbox("demo", seed=21) as sb:
        again = _snapshot(sb.base_url, sb.api_key)
    with running_sandbox("demo", seed=22) as sb:
        other = _snapshot(sb.base_url, sb.api_key)
    assert len(first[0]) == 1000 and len(first[1]) == 1000
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]


def _count_interactions(scale: int) -> int:
    with running_sandbox("demo", scale=scale, seed=5, extra_args=["--no-row-caps"]) as sb:
        rows = _get(
            sb.base_url + "/", sb.api_key, "products_interactions/order_by/time/column/time"
        )
        assert isinstance(rows, list)
        return len(rows)


def test_scale_multiplies_the_demo_dataset() -> None:
    one = _count_interactions(1)
    assert one > 1000
    assert _count_interactions(2) > one * 1.5


def test_latency(tmp_path: Path) -> None:
    with (
        running_sandbox("empty", latency_ms=200) as sb,
        httpx.Client(base_url=sb.base_url + "/", auth=("api", sb.api_key), timeout=30) as c,
    ):
        for path, status in (
            ("account", 200),
            ("tracker_code", 200),
            ("users/order_by/user_id", 200),
            ("placeholders", 200),
            ("users", 400),  # errors are delayed too
            ("no_such_object", 400),
        ):
            started = time.monotonic()
            assert c.get(path).status_code == status
            assert time.monotonic() - started >= 0.19, path
        started = time.monotonic()
        assert httpx.get(sb.base_url + "/account").status_code == 401
        assert time.monotonic() - started >= 0.19
        started = time.monotonic()
        assert c.post("user_lists", json={"name": "slow"}).status_code == 200
        assert time.monotonic() - started >= 0.19


def _fault_outcomes(seed: int) -> list[str]:
    args = ["--slow-ms", "50"]
    outcomes: list[str] = []
    with running_sandbox("empty", seed=seed, fault_rate=0.5, extra_args=args) as sb:
        for _ in range(40):
            try:
                r = httpx.get(sb.base_url + "/user_lists", auth=("api", sb.api_key), timeout=10)
            except httpx.TransportError:
                outcomes.append("connection error")
            else:
                outcomes.append(str(r.status_code))
    return outcomes


def test_fault_injection_is_reproducible() -> None:
    first = _fault_outcomes(42)
    assert first == _fault_outcomes(42)
    kinds = set(first) - {"200"}
    assert len(kinds) >= 2, first
    assert "200" in first
    assert kinds <= {"500", "503", "connection error"}


def test_request_log_lists_every_request_without_the_key(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    with running_sandbox("empty", extra_args=["--request-log", str(log)]) as sb:
        auth = ("api", sb.api_key)
        httpx.get(f"{sb.base_url}/user_lists", auth=auth)
        httpx.get(f"{sb.base_url}/users/where/email=a%40b.c", auth=auth)
        httpx.get(f"{sb.base_url}/users/1")
    lines = log.read_text().splitlines()
    assert lines == [
        "GET /rest/user_lists 200",
        "GET /rest/users/where/email=a%40b.c 200",
        "GET /rest/users/1 401",
    ]
    assert sb.api_key not in log.read_text()


def test_a_lost_answer_fault_applies_the_request_then_drops_the_connection(
    tmp_path: Path,
) -> None:
    log = tmp_path / "requests.log"
    args = ["--fault-kinds", "lost", "--request-log", str(log)]
    with running_sandbox("empty", fault_rate=1.0, extra_args=args) as sb:
        auth = ("api", sb.api_key)
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{sb.base_url}/users", json={"email": "lost@example.com"}, auth=auth)
        with sqlite3.connect(sb.db_path) as db:  # every answer is lost: look at the store
            rows = db.execute("SELECT email FROM users").fetchall()
    assert rows == [("lost@example.com",)]  # applied, though the client never heard of it
    assert log.read_text().splitlines() == ["POST /rest/users fault:lost:200"]


def test_fault_kinds_are_checked() -> None:
    proc = subprocess.run(
        [*_command(), "--api-key", new_api_key(), "--fault-kinds", "500,teapot"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--fault-kinds: unknown kind 'teapot'; choose from 500, 503, drop, slow, lost" in (
        proc.stderr
    )


def test_default_fault_kinds_keep_their_sequence() -> None:
    """The opt-in `lost` kind does not change what a seed does by default."""
    plan = FaultPlan(0.5, 13)
    assert [plan.next() for _ in range(12)] == SEED_13


def test_a_sandbox_stops_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    """``running_sandbox`` cannot stop its sandbox when its process dies by a signal (a CI
    timeout, a killed test run): the sandbox watches its parent and stops by itself."""
    code = (
        "import sys, time\n"
        "from personyze_sandbox.process import running_sandbox\n"
        "with running_sandbox('demo', seed=3) as sb:\n"
        "    print(sb.pid, sb.base_url, sb.api_key, flush=True)\n"
        "    time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert parent.stdout is not None
    pid_text, base_url, key = parent.stdout.readline().split()
    pid = int(pid_text)
    assert _get(base_url + "/", key, "account")  # it serves
    parent.kill()  # SIGKILL: no finally, no context-manager exit
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid), "the sandbox outlived the process that started it"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) counts as gone
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
