"""The "Read" section of BENCHMARKS.md, rendered from benchmarks/results/read.json (medians of
the interleaved rounds of benchmarks/read_benchmark.py)."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- read-benchmark:begin -->", "<!-- read-benchmark:end -->"
LATENCY_S = 0.05
IN_FLIGHT = 8


def medians(runs: list[dict[str, Any]]) -> dict[tuple[str, str, int, int], dict[str, Any]]:
    groups: dict[tuple[str, str, int, int], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        groups[(r["runner"], r["stream"], r["latency_ms"], r["concurrency"])].append(r)
    found = {}
    for key, rs in groups.items():
        m: dict[str, Any] = {"n": len(rs), "exact": all(r["exact"] for r in rs)}
        for name in (
            "rows",
            "seconds",
            "first_output_s",
            "cpu_s",
            "sandbox_cpu_s",
            "requests",
            "peak_rss_mb",
        ):
            m[name] = statistics.median(r[name] for r in rs)
        m["rows_per_s"] = statistics.median(r["rows"] / r["seconds"] for r in rs)
        m["read_rows_per_s"] = statistics.median(
            r["rows"] / (r["seconds"] - r["first_output_s"]) for r in rs
        )
        found[key] = m
    return found


def render(results: dict[str, Any]) -> str:
    m = medians(results["runs"])
    streams = list(results["sizes"])
    out = [
        BEGIN,
        "",
        "```bash",
        ".venv/bin/python benchmarks/read_benchmark.py   # ~20 minutes; --quick: one small round",
        "```",
        "",
        f"Medians of {results['rounds']} interleaved rounds. Each run is one process as users "
        "run it (`source-personyze read --catalog`, `tap-personyze --catalog`, one stream each, "
        "stdout to a file, start-up included, bytecode compiled as pip installs it), against a "
        "sandbox on the same machine; requests are counted from the sandbox's `--request-log`; "
        "every run's rows were compared with the sandbox's SQLite file. The httpx loop "
        "(`benchmarks/plain_loop.py`) is one thread, one connection, stdlib json, writing JSONL.",
        "",
        "### CPU-bound (0 ms latency)",
        "",
        "| stream | runner | in flight | rows/s | vs httpx loop | s | CPU s | sandbox CPU s | "
        "requests | peak RSS MB | exact |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    # Results written before the benchmark read the child's own VmHWM hold the parent's size
    # (wait4 counts the image a child was forked from): not shown.
    rss_ok = results.get("rss") == "VmHWM"
    for stream in streams:
        plain = m[("httpx", stream, 0, 1)]
        for runner, c in (("httpx", 1), ("source", 8), ("tap", 8), ("source", 1), ("tap", 1)):
            f = m.get((runner, stream, 0, c))
            if f is None:
                continue
            ratio = f["rows_per_s"] / plain["rows_per_s"]
            rss = f"{f['peak_rss_mb']:.0f}" if rss_ok else "—"
            out.append(
                f"| {stream} | {runner if runner != 'httpx' else 'httpx loop'} | {c} | "
                f"{f['rows_per_s']:,.0f} | {ratio:.2f} | {f['seconds']:.2f} | {f['cpu_s']:.2f} | "
                f"{f['sandbox_cpu_s']:.2f} | {f['requests']:,.0f} | "
                f"{rss} | {'yes' if f['exact'] else 'NO'} |"
            )
    out += [
        "",
        "### Latency-bound (50 ms per request, 8 in flight)",
        "",
        "The plan is the plain loop's requests (the simplest tie-safe keyset paging; the "
        "engine's reads need fewer, so against limits on their own requests they would stand "
        "lower by the ratio of the requests); the "
        "latency limit is rows / (plan x 50 ms / 8). A request takes more than 50 ms: the "
        "sandbox serves it and the reader parses it. The request-time limit is the plan at "
        "the request time the plain loop gets with 1 in flight, 8 at a time (8 x its rows/s "
        "at 50 ms). What the sandbox "
        "can serve on this machine is measured in the same run, twice: rows / the sandbox's "
        "CPU seconds for the plan (one core: it serves under one GIL), and the best rate any "
        "reader reached at 0 ms (the sandbox, the reader and whatever else runs on the "
        "machine sharing its 2 cores); the lower of the two is the sandbox limit. The "
        "request-time limit assumes a request takes as long 8 at a time as alone; the sandbox "
        "serves them under one interpreter lock, so *8 loops* measures it: 8 plain loops at "
        "once, each on one slice of an exact split of the key (read from the sandbox's file, "
        "which no reader knows), from the first request to the last answer (their start-up "
        "left out), one round. The ceiling is the lowest of the limits; *read phase* is from "
        "the adapter's first output (start-up done) to its end.",
        "",
        "| stream | plan requests | latency limit | request-time limit | sandbox limit | "
        "ceiling (binds) | runner | requests | rows/s whole run | vs ceiling | "
        "vs latency limit | rows/s read phase | vs ceiling | exact |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for stream in streams:
        plain = m[("httpx", stream, 0, 1)]
        rows = plain["rows"]
        latency_limit = rows / (plain["requests"] * LATENCY_S / IN_FLIGHT)
        served = max(
            f["rows_per_s"]
            for f in (
                m.get(("httpx", stream, 0, 1)),
                m.get(("source", stream, 0, 8)),
                m.get(("tap", stream, 0, 8)),
            )
            if f is not None
        )
        sandbox_limit = min(rows / plain["sandbox_cpu_s"], served)
        slow = m.get(("httpx", stream, 50, 1))
        request_limit = slow["rows_per_s"] * IN_FLIGHT if slow is not None else latency_limit
        limits = {"latency": latency_limit, "request time": request_limit, "sandbox": sandbox_limit}
        split = m.get(("split", stream, 50, IN_FLIGHT))
        if split is not None:
            limits["8 loops"] = split["rows_per_s"]
        binds = min(limits, key=lambda name: limits[name])
        ceiling = limits[binds]
        head = (
            f"| {stream} | {plain['requests']:,.0f} | {latency_limit:,.0f} | "
            f"{request_limit:,.0f} | {sandbox_limit:,.0f} | {ceiling:,.0f} ({binds}) |"
        )
        for runner in ("source", "tap"):
            f = m[(runner, stream, 50, 8)]
            out.append(
                f"{head} {runner} | {f['requests']:,.0f} | {f['rows_per_s']:,.0f} | "
                f"{f['rows_per_s'] / ceiling:.2f} | {f['rows_per_s'] / latency_limit:.2f} | "
                f"{f['read_rows_per_s']:,.0f} | {f['read_rows_per_s'] / ceiling:.2f} | "
                f"{'yes' if f['exact'] else 'NO'} |"
            )
        alone = m.get(("engine", stream, 50, 8))
        if alone is not None:
            out.append(
                f"| {stream} | | | | | | core engine alone, no framework | "
                f"{alone['requests']:,.0f} | {alone['rows_per_s']:,.0f} | "
                f"{alone['rows_per_s'] / ceiling:.2f} | "
                f"{alone['rows_per_s'] / latency_limit:.2f} | | | "
                f"{'yes' if alone['exact'] else 'NO'} |"
            )
        if split is not None:
            out.append(
                f"| {stream} | | | | | | 8 httpx loops at once on an exact split (one round, "
                f"read phase) | {split['requests']:,.0f} | {split['rows_per_s']:,.0f} | "
                f"{split['rows_per_s'] / ceiling:.2f} | {split['rows_per_s'] / latency_limit:.2f}"
                f" | | | {'yes' if split['exact'] else 'NO'} |"
            )
        if slow is not None:
            out.append(
                f"| {stream} | | | | | | httpx loop, 1 in flight (one round) | "
                f"{slow['requests']:,.0f} | {slow['rows_per_s']:,.0f} | | | | | "
                f"{'yes' if slow['exact'] else 'NO'} |"
            )
    out += [
        "",
        "### Start-up (no data read)",
        "",
        "| command | s | CPU s | requests |",
        "|---|---:|---:|---:|",
    ]
    by_verb: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in results["verbs"]:
        by_verb[v["verb"]].append(v)
    for verb, vs in by_verb.items():
        out.append(
            f"| `{verb}` | {statistics.median(v['seconds'] for v in vs):.2f} | "
            f"{statistics.median(v['cpu_s'] for v in vs):.2f} | "
            f"{statistics.median(v['requests'] for v in vs):.0f} |"
        )
    out += [
        "",
        "### An incremental sync after which nothing changed",
        "",
        "Requests per stream of a second sync of every incremental stream, with the first "
        "one's state (and the catalog: no schema is sampled).",
        "",
    ]
    unchanged = results["no_change_requests"]
    names = sorted({n for found in unchanged.values() for n in found if not n.startswith("(")})
    out.append("| adapter | " + " | ".join(names) + " | records |")
    out.append("|---|" + "---:|" * (len(names) + 1))
    for adapter, found in unchanged.items():
        cells = " | ".join(str(found.get(n, 0)) for n in names)
        out.append(f"| {adapter} | {cells} | {found.get('(records)', 0)} |")
    out += ["", END]
    return "\n".join(out)


def write_report(results_path: Path, benchmarks_md: Path | None) -> str:
    text = render(json.loads(results_path.read_text()))
    if benchmarks_md is not None:
        current = benchmarks_md.read_text()
        if BEGIN in current:
            head, rest = current.split(BEGIN, 1)
            current = head + text + rest.split(END, 1)[1]
        else:
            current = current.rstrip() + "\n\n" + text + "\n"
        benchmarks_md.write_text(current)
    return text
