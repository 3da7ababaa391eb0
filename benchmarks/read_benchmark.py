"""Read benchmark (issue 12): the Airbyte source and the Singer tap, as the processes users run,
beside a plain httpx keyset loop, on one sandbox with 100,000 products_interactions and 20,000
users (39 columns, a 1,200-user tie on data_last_modified).

    .venv/bin/python benchmarks/read_benchmark.py             # about 15 minutes
    .venv/bin/python benchmarks/read_benchmark.py --quick     # small sizes, one round

Every figure comes from the runs themselves: seconds from the parent, CPU and peak RSS from
``os.wait4``, the sandbox's CPU from /proc, requests from the sandbox's ``--request-log``, and
every run's rows are checked against the sandbox's SQLite file (no row missing or doubled).
Runs are interleaved round by round and the report gives medians. Figures go to
benchmarks/results/read.json and to the "Read" section of BENCHMARKS.md (benchmarks/read_report.py).
This is not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import bisect
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from read_measure import (  # benchmarks/ is on sys.path when run as a script
    child_env,
    compile_bytecode,
    measure,
    per_object,
    process_cpu,
    requests_in,
)

from personyze_sandbox.process import RunningSandbox, running_sandbox

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "read.json"
COLUMNS = {
    "products_interactions": (
        "user_id",
        "product_internal_id",
        "quantity",
        "status",
        "action_id",
        "transaction_time",
        "time",
        "amount",
    ),
    "users": ("user_id", "email", "data_last_modified", "first_name", "last_name"),
}
INCREMENTAL = (
    "articles",
    "events",
    "forms",
    "products",
    "products_interactions",
    "sessions_archive",
    "summary_actions",
    "user_interests",
    "users",
)


@dataclass
class Run:
    runner: str  # source, tap, httpx, engine
    stream: str
    latency_ms: int
    concurrency: int
    round: int
    rows: int = 0
    seconds: float = 0.0
    first_output_s: float = 0.0
    cpu_s: float = 0.0
    sandbox_cpu_s: float = 0.0
    requests: int = 0
    peak_rss_mb: float = 0.0
    exact: bool = False
    problem: str = ""

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def read_rows_per_s(self) -> float:
        """From the first byte of output (start-up done) to the end."""
        span = self.seconds - self.first_output_s
        return self.rows / span if span > 0 else 0.0


@dataclass
class Bench:
    work: Path
    sizes: dict[str, int]
    sandboxes: dict[int, RunningSandbox] = field(default_factory=dict)
    logs: dict[int, Path] = field(default_factory=dict)
    reference: dict[str, Counter[tuple[Any, ...]]] = field(default_factory=dict)

    def config(self, latency: int, concurrency: int, runner: str) -> Path:
        sb = self.sandboxes[latency]
        path = self.work / f"{runner}-config-{latency}-{concurrency}.json"
        path.write_text(
            json.dumps(
                {"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": concurrency}
            )
        )
        return path


def rows_of(runner: str, out: Path) -> Iterator[dict[str, Any]]:
    with out.open("rb") as fh:
        for line in fh:
            message = orjson.loads(line)
            if runner in ("httpx", "engine", "split"):
                yield message
            elif message.get("type") == "RECORD":
                yield message["record"]["data"] if runner == "source" else message["record"]


def exactness(bench: Bench, run: Run, out: Path) -> None:
    columns = COLUMNS[run.stream]
    got = Counter(tuple(r.get(c) for c in columns) for r in rows_of(run.runner, out))
    want = bench.reference[run.stream]
    run.rows = sum(got.values())
    run.exact = got == want
    if not run.exact:
        run.problem = (
            f"missing {sum((want - got).values())}, doubled/extra {sum((got - want).values())}"
        )


def key_of(stream: str) -> str:
    return "time" if stream == "products_interactions" else "data_last_modified"


def reference(db: Path, stream: str) -> Counter[tuple[Any, ...]]:
    """The rows a keyset read can reach (NULL cursors cannot be paged)."""
    key = key_of(stream)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            f'SELECT {", ".join(COLUMNS[stream])} FROM "{stream}" WHERE "{key}" IS NOT NULL'
        )
        return Counter(tuple(r) for r in rows)


def source_catalog(bench: Bench, stream: str | tuple[str, ...]) -> Path:
    names = (stream,) if isinstance(stream, str) else stream
    name = "source-catalog-" + ("all" if len(names) > 1 else names[0]) + ".json"
    path = bench.work / name
    if not path.exists():
        out = subprocess.run(
            [str(BIN / "source-personyze"), "discover", "--config", str(bench.config(0, 8, "s"))],
            capture_output=True,
            check=True,
            env=child_env(),
        ).stdout
        (catalog,) = [m["catalog"] for m in map(orjson.loads, out.splitlines()) if "catalog" in m]
        configured = [
            {
                "stream": s,
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
                "cursor_field": s["default_cursor_field"],
            }
            for s in catalog["streams"]
            if s["name"] in names
        ]
        path.write_text(json.dumps({"streams": configured}))
    return path


def tap_catalog(bench: Bench, stream: str | tuple[str, ...]) -> Path:
    names = (stream,) if isinstance(stream, str) else stream
    path = bench.work / ("tap-catalog-" + ("all" if len(names) > 1 else names[0]) + ".json")
    if not path.exists():
        out = subprocess.run(
            [str(BIN / "tap-personyze"), "--config", str(bench.config(0, 8, "t")), "--discover"],
            capture_output=True,
            check=True,
            env=child_env(),
        ).stdout
        catalog = json.loads(out)
        for entry in catalog["streams"]:
            for meta in entry["metadata"]:
                if meta["breadcrumb"] == []:
                    meta["metadata"]["selected"] = entry["tap_stream_id"] in names
        path.write_text(json.dumps(catalog))
    return path


def command(bench: Bench, runner: str, stream: str, latency: int, concurrency: int) -> list[str]:
    config = str(bench.config(latency, concurrency, runner))
    if runner == "source":
        catalog = str(source_catalog(bench, stream))
        return [str(BIN / "source-personyze"), "read", "--config", config, "--catalog", catalog]
    if runner == "tap":
        catalog = str(tap_catalog(bench, stream))
        return [str(BIN / "tap-personyze"), "--config", config, "--catalog", catalog]
    sb = bench.sandboxes[latency]
    if runner == "engine":
        engine = str(ROOT / "benchmarks" / "engine_loop.py")
        return [sys.executable, engine, sb.base_url, stream, "{out}", str(concurrency)]
    plain = str(ROOT / "benchmarks" / "plain_loop.py")
    return [sys.executable, plain, sb.base_url, stream, "{out}"]


def one_run(bench: Bench, run: Run) -> Run:
    sb, log = bench.sandboxes[run.latency_ms], bench.logs[run.latency_ms]
    out = bench.work / f"out-{run.runner}-{run.stream}.jsonl"
    cmd = [
        c.replace("{out}", str(out))
        for c in command(bench, run.runner, run.stream, run.latency_ms, run.concurrency)
    ]
    env = child_env() | {"PERSONYZE_API_KEY": sb.api_key}
    before, cpu_before = requests_in(log), process_cpu(sb.pid)
    own_file = run.runner in ("httpx", "engine")  # they write their rows themselves
    figures = measure(cmd, out.with_suffix(".count") if own_file else out, env)
    run.sandbox_cpu_s = process_cpu(sb.pid) - cpu_before
    run.requests = requests_in(log) - before
    for name, value in figures.items():
        setattr(run, name, value)
    if own_file:  # its stdout is only the count
        run.first_output_s = 0.0
    exactness(bench, run, out)
    return run


def exact_split(db: Path, stream: str, parts: int = 8) -> list[tuple[int, int]]:
    """``parts`` key slices that cost the plain loop about as many requests each (its pages
    simulated on the sandbox's file), each starting where one of its pages starts."""
    key = key_of(stream)
    with sqlite3.connect(db) as conn:
        values = [
            int(r[0])
            for r in conn.execute(
                f'SELECT "{key}" FROM "{stream}" WHERE "{key}" IS NOT NULL ORDER BY "{key}"'
            )
        ]
    starts: list[int] = []  # the key each of the plain loop's requests starts from
    at = 0
    while at < len(values):
        low = values[at]
        page = values[at : at + 50]
        ties = bisect.bisect_right(values, low) - at
        starts.append(low)
        if len(page) < 50:
            break
        if page[-1] == low:  # one value: its equality read (and pages past 1,000 rows)
            starts += [low] * (1 + max(0, ties - 1000 + 50) // 50)
            at += ties
        else:
            at = bisect.bisect_left(values, page[-1])
    slices, low = [], values[0]
    for i in range(1, parts):
        value = starts[len(starts) * i // parts]
        if value > low:
            slices.append((low, value - 1))
            low = value
    return [*slices, (low, values[-1])]


def split_run(bench: Bench, stream: str, latency: int) -> Run:
    """8 plain loops at once, each on one slice of an exact split of the key (known from the
    sandbox's file, which no reader knows): what the sandbox serves 8 requests at a time with
    no probe and no framework. Seconds from the first loop's first request to the last one's
    end (their start-up left out)."""
    sb, log = bench.sandboxes[latency], bench.logs[latency]
    env = child_env() | {"PERSONYZE_API_KEY": sb.api_key}
    plain = str(ROOT / "benchmarks" / "plain_loop.py")
    before, cpu_before = requests_in(log), process_cpu(sb.pid)
    loops = []
    for i, (low, high) in enumerate(exact_split(bench.work / "base.db", stream)):
        out = bench.work / f"out-split-{stream}-{i}.jsonl"
        cmd = [sys.executable, plain, sb.base_url, stream, str(out), str(low), str(high)]
        loops.append((out, subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)))
    spans = []
    for _, loop in loops:
        printed, _ = loop.communicate()
        spans.append([float(x) for x in printed.split()])
    run = Run("split", stream, latency, len(loops), 0)
    run.seconds = max(s[2] for s in spans) - min(s[1] for s in spans)
    run.sandbox_cpu_s = process_cpu(sb.pid) - cpu_before
    run.requests = requests_in(log) - before
    joined = bench.work / f"out-split-{stream}.jsonl"
    joined.write_bytes(b"".join(out.read_bytes() for out, _ in loops))
    exactness(bench, run, joined)
    return run


def verb_runs(bench: Bench, round_: int) -> list[dict[str, Any]]:
    """Start-up: spec, check, discover, --about, --discover; seconds, CPU and requests."""
    log = bench.logs[0]
    config = str(bench.config(0, 8, "verbs"))
    verbs = {
        "source spec": [str(BIN / "source-personyze"), "spec"],
        "source check": [str(BIN / "source-personyze"), "check", "--config", config],
        "source discover": [str(BIN / "source-personyze"), "discover", "--config", config],
        "tap --about": [str(BIN / "tap-personyze"), "--about"],
        "tap --discover": [str(BIN / "tap-personyze"), "--config", config, "--discover"],
        "httpx loop start (import httpx)": [sys.executable, "-c", "import httpx"],
    }
    found = []
    for name, cmd in verbs.items():
        before = requests_in(log)
        figures = measure(cmd, bench.work / "verb.out")
        found.append(
            {"verb": name, "round": round_, **figures, "requests": requests_in(log) - before}
        )
    return found


def no_change_requests(bench: Bench) -> dict[str, dict[str, int]]:
    """A full incremental sync of every incremental stream, then one more with its state: the
    requests of the second one per stream, and its records (there must be none)."""
    log, found = bench.logs[0], {}
    source_state = bench.work / "source-state.json"
    cmd = command(bench, "source", "", 0, 8)
    cmd[cmd.index("--catalog") + 1] = str(source_catalog(bench, INCREMENTAL))
    first = subprocess.run(cmd, capture_output=True, check=True, env=child_env()).stdout
    states = {}
    for m in map(orjson.loads, first.splitlines()):
        if m["type"] == "STATE":
            states[m["state"]["stream"]["stream_descriptor"]["name"]] = m["state"]
    source_state.write_text(json.dumps(list(states.values())))
    before = requests_in(log)
    second = subprocess.run(
        [*cmd, "--state", str(source_state)], capture_output=True, check=True, env=child_env()
    ).stdout
    found["source"] = per_object(log, before)
    found["source"]["(records)"] = sum(
        1 for m in map(orjson.loads, second.splitlines()) if m["type"] == "RECORD"
    )
    tap_cmd = command(bench, "tap", "", 0, 8)
    tap_cmd[tap_cmd.index("--catalog") + 1] = str(tap_catalog(bench, INCREMENTAL))
    first = subprocess.run(tap_cmd, capture_output=True, check=True, env=child_env()).stdout
    state = [m["value"] for m in map(orjson.loads, first.splitlines()) if m["type"] == "STATE"][-1]
    (bench.work / "tap-state.json").write_text(json.dumps(state))
    before = requests_in(log)
    second = subprocess.run(
        [*tap_cmd, "--state", str(bench.work / "tap-state.json")],
        capture_output=True,
        check=True,
        env=child_env(),
    ).stdout
    found["tap"] = per_object(log, before)
    found["tap"]["(records)"] = sum(
        1 for m in map(orjson.loads, second.splitlines()) if m["type"] == "RECORD"
    )
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="10,000 interactions, 4,000 users, 1 round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = p.parse_args(argv)
    sizes = (
        {"products_interactions": 10_000, "users": 4_000}
        if args.quick
        else {"products_interactions": 100_000, "users": 20_000}
    )
    rounds = 1 if args.quick else args.rounds
    compile_bytecode()
    runs: list[Run] = []
    verbs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="read-bench-") as tmp, ExitStack() as stack:
        bench = Bench(Path(tmp), sizes)
        base = bench.work / "base.db"
        rows = [a for s, n in sizes.items() for a in ("--rows", f"{s}={n}")]
        print("generating the dataset ...", flush=True)
        with running_sandbox("demo", seed=5, db_path=base, extra_args=rows):
            pass
        for latency in (0, 50):
            db = bench.work / f"sandbox-{latency}.db"
            shutil.copy(base, db)
            bench.logs[latency] = bench.work / f"requests-{latency}.log"
            bench.sandboxes[latency] = stack.enter_context(
                running_sandbox(
                    "demo",
                    db_path=db,
                    latency_ms=latency,
                    extra_args=("--request-log", str(bench.logs[latency])),
                )
            )
        bench.reference = {s: reference(base, s) for s in sizes}
        plan = [
            (runner, stream, latency, concurrency)
            for stream in sizes
            for latency, concurrency, runners in (
                (0, 8, ("httpx", "source", "tap")),
                (0, 1, ("source", "tap")),
                (50, 8, ("source", "tap", "engine")),
            )
            for runner in runners
        ]
        for round_ in range(rounds):
            order = plan if round_ % 2 == 0 else plan[::-1]
            if round_ == 0:  # once: the plain loop against latency, for reference
                order = [*order, *(("httpx", s, 50, 1) for s in sizes)]
            for runner, stream, latency, concurrency in order:
                c = 1 if runner == "httpx" else concurrency
                run = one_run(bench, Run(runner, stream, latency, c, round_))
                runs.append(run)
                print(
                    f"round {round_} {runner:6s} {stream:22s} {latency:2d} ms x{c}: "
                    f"{run.rows_per_s:8,.0f} rows/s {run.seconds:6.2f} s cpu {run.cpu_s:5.2f} "
                    f"sandbox {run.sandbox_cpu_s:5.2f} req {run.requests:5d} "
                    f"{'exact' if run.exact else run.problem}",
                    flush=True,
                )
            if round_ == 0:
                for stream in sizes:
                    run = split_run(bench, stream, 50)
                    runs.append(run)
                    print(
                        f"round 0 8 loops on an exact split {stream:22s} 50 ms: "
                        f"{run.rows_per_s:8,.0f} rows/s {run.seconds:6.2f} s "
                        f"req {run.requests:5d} {'exact' if run.exact else run.problem}",
                        flush=True,
                    )
            verbs += verb_runs(bench, round_)
        unchanged = no_change_requests(bench)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "sizes": sizes,
                "rounds": rounds,
                "rss": "VmHWM",
                "runs": [asdict(r) for r in runs],
                "verbs": verbs,
                "no_change_requests": unchanged,
            },
            indent=1,
        )
        + "\n"
    )
    from read_report import write_report  # benchmarks/ is on sys.path when run as a script

    print(write_report(RESULTS, None if args.no_report else ROOT / "BENCHMARKS.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
