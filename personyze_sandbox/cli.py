"""`personyze-sandbox`: a local Personyze REST API on loopback, backed by SQLite."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from personyze_sandbox.dataset import BASE_ROWS, DATASETS, load_dataset
from personyze_sandbox.injection import FAULT_KINDS, FAULTS
from personyze_sandbox.routing import Sandbox, SandboxConfig
from personyze_sandbox.server import SandboxHTTPServer

PARENT_POLL_SECONDS = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="personyze-sandbox",
        description="Serve a faithful local Personyze REST API under http://HOST:PORT/rest/.",
    )
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument(
        "--exit-with-parent",
        type=int,
        metavar="PID",
        help="stop when this process (the parent that started the sandbox) is gone, even if it "
        "was killed before it could stop the sandbox",
    )
    p.add_argument("--port", type=int, default=0, help="port (0: a free one, printed)")
    p.add_argument(
        "--api-key",
        default=os.environ.get("PERSONYZE_SANDBOX_API_KEY"),
        help="the key clients must send (or PERSONYZE_SANDBOX_API_KEY)",
    )
    p.add_argument("--db", type=Path, help="SQLite file (default: a new temporary file)")
    p.add_argument("--dataset", choices=sorted(DATASETS), default="empty")
    p.add_argument("--scale", type=int, default=1, help="multiplies the demo dataset's size")
    p.add_argument(
        "--rows",
        action="append",
        default=[],
        metavar="OBJECT=N",
        help="rows of one demo object instead of its scaled default (users, products, "
        "articles, products_interactions); repeatable",
    )
    p.add_argument("--latency-ms", type=int, default=0, help="delay added to every response")
    p.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of requests failing with 500/503, a dropped connection or a slow answer",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the dataset and of the faults")
    p.add_argument("--slow-ms", type=int, default=1500, help="delay of a 'slow' fault")
    p.add_argument(
        "--fault-kinds",
        default=",".join(FAULTS),
        help="comma-separated kinds of fault to inject, from "
        f"{', '.join(FAULT_KINDS)} (default: {','.join(FAULTS)}); 'lost' applies the request "
        "and then drops the connection before the answer",
    )
    p.add_argument(
        "--body-timeout-ms",
        type=int,
        default=30_000,
        help="time a request body may take to arrive before the answer is 408",
    )
    p.add_argument(
        "--request-log",
        type=Path,
        help="append one line per request (method, path, status) to this file",
    )
    p.add_argument(
        "--behaviour",
        choices=["documented", "observed"],
        default="documented",
        help="where sources disagree (api §9): the documented behaviour, or what "
        "a live account was observed to do",
    )
    p.add_argument(
        "--no-row-caps",
        action="store_true",
        help="serve reads beyond the 50/1000-row caps, as the wiki examples assume",
    )
    p.add_argument(
        "--do-accepts-tracker-commands",
        action="store_true",
        help="let /rest/do run the tracker's bulk commands too (api §9 C3)",
    )
    args = p.parse_args(argv)
    try:
        args.rows = {k: int(v) for k, v in (item.split("=", 1) for item in args.rows)}
    except ValueError:
        p.error("--rows takes OBJECT=N, e.g. --rows users=50000")
    unknown = set(args.rows) - set(BASE_ROWS)
    if unknown:
        p.error(f"--rows: no size for {sorted(unknown)}; choose from {sorted(BASE_ROWS)}")
    if not args.api_key:
        p.error("--api-key is required (or set PERSONYZE_SANDBOX_API_KEY)")
    args.fault_kinds = tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip())
    for kind in args.fault_kinds:
        if kind not in FAULT_KINDS:
            p.error(f"--fault-kinds: unknown kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
    if not args.fault_kinds:
        p.error("--fault-kinds: name at least one kind")
    if not 0 <= args.fault_rate <= 1:
        p.error("--fault-rate must be between 0 and 1")
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.host.startswith("127."):
        p.error("--host must be a loopback address: the sandbox is for local use only")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    db_path = args.db or Path(tempfile.mkdtemp(prefix="personyze-sandbox-")) / "sandbox.db"
    config = SandboxConfig(
        api_key=args.api_key,
        db_path=db_path,
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        seed=args.seed,
        slow_ms=args.slow_ms,
        body_timeout_ms=args.body_timeout_ms,
        fault_kinds=args.fault_kinds,
        behaviour=args.behaviour,
        row_caps=not args.no_row_caps,
        do_accepts_tracker_commands=args.do_accepts_tracker_commands,
        request_log=args.request_log,
    )
    fresh = not db_path.exists()
    sandbox = Sandbox(config)
    if fresh:
        load_dataset(sandbox.store, args.dataset, scale=args.scale, seed=args.seed, rows=args.rows)
    server = SandboxHTTPServer(sandbox)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_parent is not None:
        watch = threading.Thread(
            target=_stop_without_parent,
            args=(args.exit_with_parent, server),
            name="parent-watch",
            daemon=True,
        )
        watch.start()
    print(server.base_url + "/", flush=True)
    print(f"database: {db_path}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


def _stop_without_parent(parent: int, server: SandboxHTTPServer) -> None:
    """Shut the server down once ``parent`` is no longer this process's parent (it exited or
    was killed: the process is handed to init or a subreaper)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    print(f"parent process {parent} is gone: stopping", file=sys.stderr, flush=True)
    server.shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
