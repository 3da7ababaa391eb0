"""How the read benchmark measures one process: seconds, seconds to its first output, CPU,
peak RSS, the sandbox's CPU and requests. Used by benchmarks/read_benchmark.py."""

from __future__ import annotations

import compileall
import os
import subprocess
import sysconfig
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """The environment a user's shell gives: stdout buffered as Python's default."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def requests_in(log: Path) -> int:
    with log.open("rb") as fh:
        return sum(1 for _ in fh)


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(cmd: list[str], out: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    """Seconds, seconds to the first byte of output, CPU seconds and peak RSS of one child."""
    first: list[float] = []
    began = time.monotonic()
    with out.open("wb") as stdout, (out.with_suffix(".err")).open("wb") as stderr:
        proc = subprocess.Popen(cmd, env=env or child_env(), stdout=stdout, stderr=stderr)

        ended = threading.Event()

        peak: list[int] = [0]

        def watch() -> None:  # never polls the child: os.wait4 below must reap it
            status = Path(f"/proc/{proc.pid}/status")
            while not ended.is_set():
                if not first and out.stat().st_size > 0:
                    first.append(time.monotonic() - began)
                try:  # the child's own peak (wait4's counts the parent's image it forked from)
                    for line in status.read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
                except (OSError, ValueError):
                    pass
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - began
        ended.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
        watcher.join()
    if proc.returncode != 0:
        err = out.with_suffix(".err").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{cmd[0]} {cmd[1:3]} failed ({proc.returncode}): {err}")
    return {
        "seconds": seconds,
        "first_output_s": first[0] if first else seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": peak[0] / 1024,
    }


def per_object(log: Path, since: int) -> dict[str, int]:
    lines = log.read_text().splitlines()[since:]
    return dict(Counter(line.split()[1].split("/")[2] for line in lines))


def compile_bytecode() -> None:
    """pip compiles bytecode when it installs; uv (make venv) does not, and with
    PYTHONDONTWRITEBYTECODE set every start would compile the CDK again. Measure installs as
    users have them."""
    for path in {sysconfig.get_paths()["purelib"], str(ROOT)}:
        compileall.compile_dir(path, quiet=2, workers=2)
