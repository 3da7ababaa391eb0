"""Read benchmark (issue "Read side" §5): records/s, requests and peak RSS of the Singer tap and
the Airbyte source against a sandbox, beside a plain httpx keyset loop.

    .venv/bin/python benchmarks/read_benchmark.py            # full run, writes the figures
    .venv/bin/python benchmarks/read_benchmark.py --quick    # small sizes, to try it out

Figures go to benchmarks/results/read.json and into the "Read" section of BENCHMARKS.md.
This is not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from connectors.api.query import Query, all_of, build_path, cond
from personyze_sandbox.process import RunningSandbox, running_sandbox

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "read.json"
STREAMS = ("products_interactions", "users")
PAGE = 50


@dataclass
class Figure:
    runner: str
    latency_ms: int
    concurrency: int
    interactions: int
    users: int
    records: int
    seconds: float
    requests: int
    peak_rss_mb: float

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def limit(self) -> float | None:
        """rows per request * concurrency / latency: what the API's latency allows."""
        if not self.latency_ms:
            return None
        return PAGE * self.concurrency / (self.latency_ms / 1000)


@contextmanager
def sandbox(latency_ms: int, interactions: int, users: int, log: Path) -> Iterator[RunningSandbox]:
    args = [
        "--rows",
        f"products_interactions={interactions}",
        "--rows",
        f"users={users}",
        "--request-log",
        str(log),
    ]
    with running_sandbox("demo", seed=5, latency_ms=latency_ms, extra_args=args) as sb:
        yield sb


def requests_in(log: Path) -> int:
    return sum(1 for _ in log.open()) if log.exists() else 0


def run_measured(cmd: list[str], env: dict[str, str], stdout_path: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one child process."""
    began = time.monotonic()
    with stdout_path.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed with {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss / 1024


def count_records(stdout_path: Path) -> int:
    """RECORD messages on a tap's or a source's stdout (both protocols say "type": "RECORD")."""
    n = 0
    with stdout_path.open() as fh:
        for line in fh:
            if '"RECORD"' in line and json.loads(line).get("type") == "RECORD":
                n += 1
    return n


def tap_run(sb: RunningSandbox, concurrency: int, work: Path) -> list[str]:
    config = work / "tap-config.json"
    config.write_text(
        json.dumps({"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": concurrency})
    )
    catalog_out = subprocess.run(
        [str(BIN / "tap-personyze"), "--config", str(config), "--discover"],
        capture_output=True,
        check=True,
        text=True,
    )
    catalog = json.loads(catalog_out.stdout)
    for stream in catalog["streams"]:
        chosen = stream["tap_stream_id"] in STREAMS
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = chosen
    (work / "tap-catalog.json").write_text(json.dumps(catalog))
    return [
        str(BIN / "tap-personyze"),
        "--config",
        str(config),
        "--catalog",
        str(work / "tap-catalog.json"),
    ]


def source_run(sb: RunningSandbox, concurrency: int, work: Path) -> list[str]:
    config = work / "source-config.json"
    config.write_text(
        json.dumps({"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": concurrency})
    )
    out = subprocess.run(
        [str(BIN / "source-personyze"), "discover", "--config", str(config)],
        capture_output=True,
        check=True,
        text=True,
    )
    streams = []
    for line in out.stdout.splitlines():
        message = json.loads(line)
        if message.get("type") == "CATALOG":
            for stream in message["catalog"]["streams"]:
                if stream["name"] in STREAMS:
                    incremental = "incremental" in stream["supported_sync_modes"]
                    streams.append(
                        {
                            "stream": stream,
                            "sync_mode": "incremental" if incremental else "full_refresh",
                            "destination_sync_mode": "append",
                            "cursor_field": stream.get("default_cursor_field", []),
                        }
                    )
    (work / "source-catalog.json").write_text(json.dumps({"streams": streams}))
    return [
        str(BIN / "source-personyze"),
        "read",
        "--config",
        str(config),
        "--catalog",
        str(work / "source-catalog.json"),
    ]


def plain_loop(sb: RunningSandbox) -> tuple[int, float]:
    """The simplest correct reader: one keyset loop per stream, no framework, one connection."""
    records = 0
    began = time.monotonic()
    with httpx.Client(base_url=sb.base_url + "/", auth=("api", sb.api_key)) as client:
        for stream, key, tie in (
            ("products_interactions", "time", "user_id"),
            ("users", "data_last_modified", "user_id"),
        ):
            low = 0
            while True:
                q = Query(
                    stream,
                    where=all_of(cond(key, ">=", low)),
                    order_by=(key,),
                    limit=PAGE,
                    offset=0,
                )
                page = client.get(build_path(q)).json()
                last = page[-1][key] if page else None
                if len(page) < PAGE:
                    records += len(page)
                    break
                if page[0][key] == last:  # a tie: read the whole group by equality
                    records += read_group(client, stream, key, last, tie)
                    low = last + 1
                    continue
                records += sum(1 for row in page if row[key] < last)
                low = last
    return records, time.monotonic() - began


def read_group(client: httpx.Client, stream: str, key: str, value: int, tie: str) -> int:
    """Rows with key = value: one equality read, then keyset pages on the tie-breaker."""
    first = Query(
        stream, where=all_of(cond(key, "=", value)), order_by=(tie,), limit=1000, offset=0
    )
    group = client.get(build_path(first)).json()
    count = len(group)
    after = group[-1][tie] if len(group) == 1000 else None
    while after is not None:  # more than 1000 rows share the value: page by the tie-breaker
        q = Query(
            stream,
            where=all_of(cond(key, "=", value), cond(tie, ">", after)),
            order_by=(tie,),
            limit=PAGE,
            offset=0,
        )
        page = client.get(build_path(q)).json()
        count += len(page)
        after = page[-1][tie] if len(page) == PAGE else None
    return count


def measure(
    runner: str, latency: int, concurrency: int, interactions: int, users: int, work: Path
) -> Figure:
    log = work / f"requests-{runner}-{latency}-{concurrency}-{interactions}.log"
    with sandbox(latency, interactions, users, log) as sb:
        if runner == "plain-httpx":
            records, seconds = plain_loop(sb)
            return Figure(
                runner, latency, 1, interactions, users, records, seconds, requests_in(log), 0.0
            )
        cmd = (tap_run if runner == "tap" else source_run)(sb, concurrency, work)
        before = requests_in(log)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        seconds, rss = run_measured(cmd, env, work / "out.jsonl")
        records = count_records(work / "out.jsonl")
        return Figure(
            runner,
            latency,
            concurrency,
            interactions,
            users,
            records,
            seconds,
            requests_in(log) - before,
            rss,
        )


def render(figures: list[Figure]) -> str:
    lines = [
        "| runner | latency ms | concurrency | interactions | users | records | s | "
        "records/s | requests | peak RSS MB | ratio to limit |",
        "|" + "---|" * 11,
    ]
    for f in figures:
        limit = f.limit()
        ratio = f"{f.records_per_s / limit:.2f}" if limit else "—"
        lines.append(
            f"| {f.runner} | {f.latency_ms} | {f.concurrency} | {f.interactions:,} | "
            f"{f.users:,} | {f.records:,} | {f.seconds:.1f} | {f.records_per_s:,.0f} | "
            f"{f.requests:,} | {f.peak_rss_mb:.0f} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="20,000 interactions and 5,000 users")
    args = p.parse_args(argv)
    big = (20_000, 5_000) if args.quick else (200_000, 50_000)
    small = (2_000, 500) if args.quick else (20_000, 5_000)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for runner in ("tap", "source"):
            for concurrency in (1, 8):
                figures.append(measure(runner, 50, concurrency, *big, work))
                print(render(figures[-1:]), flush=True)
        figures.append(measure("plain-httpx", 0, 1, *big, work))
        for runner in ("tap", "source"):
            for size in (small, big):
                figures.append(measure(runner, 0, 8, *size, work))
                print(render(figures[-1:]), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps([asdict(f) | {"records_per_s": f.records_per_s} for f in figures], indent=2)
        + "\n"
    )
    print(render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
