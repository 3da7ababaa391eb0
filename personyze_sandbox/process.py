"""Run `personyze-sandbox` as a child process on a free loopback port (tests, demo, benchmarks)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunningSandbox:
    base_url: str
    api_key: str
    db_path: Path
    pid: int


def new_api_key() -> str:
    """A key shaped like Personyze's: 40 upper-case hexadecimal characters."""
    return secrets.token_hex(20).upper()


@contextmanager
def running_sandbox(
    dataset: str = "demo",
    *,
    scale: int = 1,
    seed: int = 7,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    api_key: str | None = None,
    db_path: Path | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 600.0,
) -> Iterator[RunningSandbox]:
    """Start a sandbox, yield where it listens, stop it with SIGTERM afterwards."""
    key = api_key or new_api_key()
    workdir = Path(tempfile.mkdtemp(prefix="personyze-sandbox-"))
    db = db_path or workdir / "sandbox.db"
    cmd = [
        sys.executable,
        "-m",
        "personyze_sandbox.cli",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--db",
        str(db),
        "--dataset",
        dataset,
        "--scale",
        str(scale),
        "--seed",
        str(seed),
        "--latency-ms",
        str(latency_ms),
        "--fault-rate",
        str(fault_rate),
        # a test run killed by a signal cannot stop its sandbox: it stops itself
        "--exit-with-parent",
        str(os.getpid()),
        *extra_args,
    ]
    env = {**os.environ, "PERSONYZE_SANDBOX_API_KEY": key}
    stderr = (workdir / "stderr.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert proc.stdout is not None
        line = _first_line(proc, startup_timeout)
        if not line.startswith("http://"):
            err = (workdir / "stderr.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"personyze-sandbox did not start: {line!r} {err}")
        yield RunningSandbox(line.rstrip("/"), key, db, proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        stderr.close()


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    import threading

    box: list[str] = []
    reader = threading.Thread(
        target=lambda: box.append(proc.stdout.readline() if proc.stdout else ""), daemon=True
    )
    reader.start()
    reader.join(timeout)
    if not box:
        proc.kill()
        raise RuntimeError(f"personyze-sandbox printed nothing within {timeout:.0f} s")
    return box[0].strip()
