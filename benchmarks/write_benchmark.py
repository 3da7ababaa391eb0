"""Write benchmark: rows/s, requests per 1,000 rows and peak RSS of target-personyze against a
sandbox with latency, beside a naive one-request-per-row httpx writer.

    .venv/bin/python benchmarks/write_benchmark.py                  # full size (several minutes)
    .venv/bin/python benchmarks/write_benchmark.py --quick          # small sizes, to try it out
    .venv/bin/python benchmarks/write_benchmark.py --repeat 3       # medians of 3 interleaved runs

The target runs as a subprocess fed generated Singer messages from a file; its requests are
counted from the sandbox's request log (``personyze-sandbox --request-log``: one line per
request the sandbox received), its peak RSS comes from ``os.wait4``. After the first writes,
the same profiles, products and interactions are written again unchanged: with skip_unchanged
(on by default) a rerun of upserts costs only its reads, and a rerun of interactions only the
reads that find them already in Personyze. The naive writer (POST users / POST products / POST
products_interactions, one row per request, in one thread) runs on a sample
(``--naive-sample``, 10% by default) and is extrapolated: at 50 ms per request a full naive run
would take hours. With ``--repeat N`` the target and the naive writer alternate N times and the
medians are reported. Figures go to benchmarks/results/write.json; a markdown table is printed.
Not a test: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from connectors.api.query import Query, all_of, build_path, cond
from personyze_sandbox.process import RunningSandbox, running_sandbox

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(sys.executable).with_name("target-personyze")
RESULTS = ROOT / "benchmarks" / "results" / "write.json"
T0 = 1_700_000_000


@dataclass
class Figure:
    writer: str
    object: str
    rows: int
    measured_rows: int
    seconds: float
    requests: int
    peak_rss_mb: float | None
    extrapolated: bool = False

    @property
    def rows_per_s(self) -> float:
        return self.measured_rows / self.seconds if self.seconds else 0.0

    @property
    def calls_per_1000(self) -> float:
        return 1000 * self.requests / self.measured_rows if self.measured_rows else 0.0


def profiles(n: int) -> list[dict[str, Any]]:
    return [
        {
            "email": f"bench{i}@example.com",
            "first_name": f"First{i}",
            "last_name": "Bench",
            "custom_i_1": i % 100,
        }
        for i in range(n)
    ]


def products(n: int) -> list[dict[str, Any]]:
    return [
        {
            "internal_id": f"B-{i}",
            "title": f"Bench product {i}",
            "price": i % 500 + 0.99,
            "is_in_stock": "yes",
        }
        for i in range(n)
    ]


def interactions(n: int, users: int, items: int) -> list[dict[str, Any]]:
    return [
        {
            "email": f"bench{i % users}@example.com",
            "product_internal_id": f"B-{i % items}",
            "status": "goal",
            "quantity": i % 3 + 1,
            "amount": 9.99,
            "transaction_time": T0 + i,
        }
        for i in range(n)
    ]


def singer_file(stream: str, rows: list[dict[str, Any]], folder: Path) -> Path:
    path = folder / f"{stream}.singer.jsonl"
    columns = dict.fromkeys(c for r in rows[:100] for c in r)
    with path.open("w") as f:
        f.write(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": stream,
                    "key_properties": [],
                    "schema": {"type": "object", "properties": {c: {} for c in columns}},
                }
            )
            + "\n"
        )
        for i, row in enumerate(rows, 1):
            f.write(json.dumps({"type": "RECORD", "stream": stream, "record": row}) + "\n")
            if i % 10_000 == 0:
                f.write(json.dumps({"type": "STATE", "value": {stream: i}}) + "\n")
        f.write(json.dumps({"type": "STATE", "value": {stream: len(rows)}}) + "\n")
    return path


def logged(log: Path) -> int:
    """Requests the sandbox has received so far (one line each in its request log)."""
    with log.open("rb") as f:
        return sum(1 for _ in f)


def run_target(
    sb: RunningSandbox,
    log: Path,
    stream: str,
    rows: list[dict[str, Any]],
    folder: Path,
    concurrency: int,
    label: str,
) -> Figure:
    messages = singer_file(stream, rows, folder)
    config = folder / f"{stream}.config.json"
    config.write_text(
        json.dumps(
            {
                "api_key": sb.api_key,
                "base_url": sb.base_url,
                "max_concurrency": concurrency,
                "rejects_path": str(folder / f"{stream}.rejects.jsonl"),
                "batch_size_rows": 1000,
            }
        )
    )
    err = folder / f"{stream}.stderr.log"
    before = logged(log)
    with messages.open("rb") as stdin, err.open("wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(TARGET), "--config", str(config)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=folder,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    text = err.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"target-personyze failed on {stream}:\n{text[-3000:]}")
    if (folder / f"{stream}.rejects.jsonl").exists():
        raise SystemExit(f"target-personyze rejected records of {stream}: see {folder}")
    return Figure(
        label,
        stream,
        len(rows),
        len(rows),
        seconds,
        logged(log) - before,
        usage.ru_maxrss / 1024,
    )


def run_naive(sb: RunningSandbox, stream: str, rows: list[dict[str, Any]], sample: float) -> Figure:
    """One POST per row with httpx, the way a quick script would write."""
    measured = rows[: max(1, int(len(rows) * sample))]
    auth = ("api", sb.api_key)
    with httpx.Client(base_url=sb.base_url + "/", auth=auth, timeout=60) as http:
        user_ids: dict[str, int] = {}
        if stream == "products_interactions":  # looked up before the clock starts
            emails = sorted({r["email"] for r in measured})
            for i in range(0, len(emails), 200):
                q = Query(
                    "users",
                    where=all_of(cond("email", ":", emails[i : i + 200])),
                    columns=("user_id", "email"),
                    limit=1000,
                )
                for row in http.get(build_path(q)).json():
                    user_ids[row["email"]] = row["user_id"]
        requests = 0
        start = time.perf_counter()
        for row in measured:
            if stream == "products_interactions":
                body = {k: v for k, v in row.items() if k != "email"}
                body["user_id"] = user_ids[row["email"]]
                http.post("products_interactions", json=body)
            else:
                http.post(stream, json=row)
            requests += 1
        seconds = time.perf_counter() - start
    return Figure(
        "naive httpx (1 POST/row)",
        stream,
        len(rows),
        len(measured),
        seconds,
        requests,
        None,
        extrapolated=len(measured) < len(rows),
    )


def markdown(figures: list[Figure], latency_ms: int, runs: int) -> str:
    lines = [
        f"Sandbox latency {latency_ms} ms per response; medians of {runs} interleaved run(s).",
        "",
        "| writer | object | rows | rows/s | requests per 1,000 rows | peak RSS (MB) | "
        "time for all rows (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        total = f.rows / f.rows_per_s if f.rows_per_s else 0.0
        note = f" (extrapolated from a sample of {f.measured_rows:,})" if f.extrapolated else ""
        rss = f"{f.peak_rss_mb:.0f}" if f.peak_rss_mb is not None else "—"
        lines.append(
            f"| {f.writer} | {f.object} | {f.rows:,} | {f.rows_per_s:,.0f} | "
            f"{f.calls_per_1000:.1f} | {rss} | {total:,.0f}{note} |"
        )
    return "\n".join(lines)


def median_figures(runs: list[list[Figure]]) -> list[Figure]:
    """Per (writer, object): the median time and RSS over the runs; requests must not vary."""
    out = []
    for same in zip(*runs, strict=True):
        first = same[0]
        rss = [f.peak_rss_mb for f in same if f.peak_rss_mb is not None]
        out.append(
            Figure(
                first.writer,
                first.object,
                first.rows,
                first.measured_rows,
                statistics.median(f.seconds for f in same),
                int(statistics.median(f.requests for f in same)),
                statistics.median(rss) if rss else None,
                first.extrapolated,
            )
        )
    return out


def target_run(
    data: dict[str, list[dict[str, Any]]], latency_ms: int, concurrency: int
) -> list[Figure]:
    """Everything written once, then again unchanged, on one sandbox (interactions name the
    profiles and products written before them)."""
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="write-bench-") as tmp:
        folder, log = Path(tmp), Path(tmp) / "requests.log"
        extra = ["--request-log", str(log)]
        with running_sandbox("empty", latency_ms=latency_ms, extra_args=extra) as sb:
            for n, label in enumerate(("target-personyze", "target-personyze, unchanged rerun")):
                for stream, rows in data.items():
                    run = folder / f"{n}-{stream}"
                    run.mkdir()
                    figure = run_target(sb, log, stream, rows, run, concurrency, label)
                    figures.append(figure)
                    print(
                        f"{label} {stream}: {figure.rows_per_s:,.0f} rows/s, "
                        f"{figure.calls_per_1000:.1f} requests per 1,000 rows",
                        file=sys.stderr,
                    )
    return figures


def naive_run(
    data: dict[str, list[dict[str, Any]]], latency_ms: int, sample: float
) -> list[Figure]:
    figures: list[Figure] = []
    with running_sandbox("empty", latency_ms=latency_ms) as sb:
        for stream, rows in data.items():
            figures.append(run_naive(sb, stream, rows, sample))
            print(f"naive {stream}: {figures[-1].rows_per_s:,.0f} rows/s", file=sys.stderr)
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--profiles", type=int, default=100_000)
    p.add_argument("--products", type=int, default=20_000)
    p.add_argument("--interactions", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--naive-sample", type=float, default=0.1)
    p.add_argument("--repeat", type=int, default=1, help="interleaved runs; medians reported")
    p.add_argument("--quick", action="store_true", help="2,000 / 500 / 2,000 rows")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.quick:
        args.profiles, args.products, args.interactions = 2_000, 500, 2_000
    data = {
        "users": profiles(args.profiles),
        "products": products(args.products),
        "products_interactions": interactions(args.interactions, args.profiles, args.products),
    }
    targets, naives = [], []
    for _ in range(args.repeat):
        targets.append(target_run(data, args.latency_ms, args.concurrency))
        naives.append(naive_run(data, args.latency_ms, args.naive_sample))
    figures = median_figures(targets) + median_figures(naives)
    result = {
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "naive_sample": args.naive_sample,
        "runs": args.repeat,
        "requests_counted_from": "the sandbox's --request-log",
        "command": " ".join(["benchmarks/write_benchmark.py", *sys.argv[1:]]),
        "figures": [
            {
                **asdict(f),
                "rows_per_s": round(f.rows_per_s, 1),
                "calls_per_1000_rows": round(f.calls_per_1000, 2),
            }
            for f in figures
        ],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(figures, args.latency_ms, args.repeat))


if __name__ == "__main__":
    main()
