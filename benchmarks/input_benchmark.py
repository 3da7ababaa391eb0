"""Input benchmark: what reading and checking the writers' input costs, on clean input and on
input with bad lines mixed in.

    .venv/bin/python benchmarks/input_benchmark.py --rows 20000 --bad-share 0.1 --label branch
    PYTHONPATH=/path/to/other/tree .venv/bin/python benchmarks/input_benchmark.py --label base

``target-personyze`` and ``destination-personyze write`` each run as a subprocess on ``--rows``
profile upserts (users by email) against a sandbox answering at once, so that the CPU spent per
line (parsing, the record checks) is what the time shows. With ``--bad-share`` that share of the
records is replaced by bad lines in turn: a record holding NaN, one holding bytes that are not
UTF-8, a line that is not JSON. Peak RSS comes from ``os.wait4``. The executables import the
code found first on ``PYTHONPATH``, so the same script measures another tree's code (which may
not survive bad lines: measure it with ``--bad-share 0``). Figures are appended to
benchmarks/results/input.json with ``--label``; a markdown row per run is printed. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from personyze_sandbox.process import RunningSandbox, running_sandbox

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "input.json"
BAD = (
    b'{"email":"bad-%d@example.com","score":NaN}',
    b'{"email":"bad-%d@example.com","first_name":"\xff\xfe"}',
    b'{"email":"bad-%d@example.com"',
)


def records(n: int, bad_share: float) -> list[bytes | dict[str, Any]]:
    """Record data in input order: dicts (good) and raw JSON texts (bad)."""
    every = round(1 / bad_share) if bad_share > 0 else 0
    out: list[bytes | dict[str, Any]] = []
    for i in range(n):
        if every and i % every == every - 1:
            out.append(BAD[(i // every) % len(BAD)] % i)
        else:
            out.append({"email": f"in{i}@example.com", "first_name": f"F{i}", "custom_i_1": i})
    return out


def singer_input(rows: list[bytes | dict[str, Any]]) -> bytes:
    schema = {"type": "object", "properties": {}}
    lines = [json.dumps({"type": "SCHEMA", "stream": "users", "schema": schema}).encode()]
    for row in rows:
        data = json.dumps(row).encode() if isinstance(row, dict) else row
        lines.append(b'{"type":"RECORD","stream":"users","record":' + data + b"}")
    lines.append(b'{"type":"STATE","value":{"done":true}}')
    return b"\n".join(lines) + b"\n"


def airbyte_input(rows: list[bytes | dict[str, Any]]) -> bytes:
    lines = []
    for row in rows:
        data = json.dumps(row).encode() if isinstance(row, dict) else row
        lines.append(
            b'{"type":"RECORD","record":{"stream":"users","emitted_at":1,"data":' + data + b"}}"
        )
    state = {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {}},
    }
    lines.append(json.dumps({"type": "STATE", "state": state}).encode())
    return b"\n".join(lines) + b"\n"


def run(command: list[str], data: bytes, folder: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one run; exits on failure."""
    stdin = folder / "input.jsonl"
    stdin.write_bytes(data)
    err = folder / "stderr.log"
    with stdin.open("rb") as inp, err.open("wb") as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, stdin=inp, stdout=subprocess.DEVNULL, stderr=errors, cwd=folder
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[0]} failed:\n{err.read_text(errors='replace')[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def measure(
    sb: RunningSandbox, runner: str, rows: list[bytes | dict[str, Any]], folder: Path
) -> dict[str, Any]:
    config = {
        "api_key": sb.api_key,
        "base_url": sb.base_url,
        "rejects_path": str(folder / "rejects.jsonl"),
        "ledger_path": str(folder / "ledger.db"),
        "max_error_rate": 1.0,
        "batch_size_rows": 1000,
    }
    (folder / "config.json").write_text(json.dumps(config))
    if runner == "target":
        command = [str(BIN / "target-personyze"), "--config", "config.json"]
        data = singer_input(rows)
    else:
        catalog = {
            "streams": [
                {
                    "stream": {
                        "name": "users",
                        "json_schema": {},
                        "supported_sync_modes": ["full_refresh"],
                    },
                    "sync_mode": "full_refresh",
                    "destination_sync_mode": "append_dedup",
                }
            ]
        }
        (folder / "catalog.json").write_text(json.dumps(catalog))
        command = [
            str(BIN / "destination-personyze"),
            "write",
            "--config",
            "config.json",
            "--catalog",
            "catalog.json",
        ]
        data = airbyte_input(rows)
    seconds, rss = run(command, data, folder)
    return {
        "runner": runner,
        "seconds": round(seconds, 2),
        "records_per_s": round(len(rows) / seconds),
        "peak_rss_mb": round(rss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--bad-share", type=float, default=0.0)
    parser.add_argument("--label", default="branch")
    parser.add_argument("--runners", default="target,destination")
    args = parser.parse_args()
    figures = []
    rows = records(args.rows, args.bad_share)
    for runner in args.runners.split(","):
        with running_sandbox("empty") as sb, tempfile.TemporaryDirectory() as tmp:
            figure = measure(sb, runner, rows, Path(tmp))
        figure |= {"label": args.label, "rows": args.rows, "bad_share": args.bad_share}
        figures.append(figure)
        print(
            f"| {args.label} | {runner} | {args.rows:,} | {args.bad_share:.0%} "
            f"| {figure['seconds']} | {figure['records_per_s']:,} | {figure['peak_rss_mb']} |",
            flush=True,
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    RESULTS.write_text(json.dumps(previous + figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
