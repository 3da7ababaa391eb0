"""Demo step 1: every object a sandbox holds, read back through the core's client and sync (the
same path both read adapters take). `python scripts/demo/core_summary.py` does it alone for a
fresh demo sandbox; `make demo` does it first."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from connectors.api.client import PersonyzeClient
from connectors.api.query import Query
from connectors.read.selection import offered
from connectors.read.streams import StreamDefinition, discover
from connectors.read.sync import ReadOptions, StateUpdate, read_stream
from connectors.settings import ConnectionSettings
from connectors.spec import ObjectSpec, Specs, default_specs
from personyze_sandbox.process import RunningSandbox, running_sandbox


def summarise_stream(
    client: PersonyzeClient, specs: Specs, stream: StreamDefinition, options: ReadOptions
) -> str:
    rows = 0
    columns: set[str] = set()
    state: dict[str, Any] | None = None
    first: dict[str, Any] | None = None
    for item in read_stream(client, specs, stream, None, options):
        if isinstance(item, StateUpdate):
            state = item.value
            continue
        rows += 1
        columns.update(item)
        first = first or item
    spec = stream.spec
    if spec.kind == "html" and first is not None:
        text = str(next(iter(first.values())))
        return f"{len(text)} characters of HTML/JS, starting {text[:40]!r}"
    dynamic = sorted(columns - {c.name for c in spec.columns})
    shown = ", ".join(dynamic[:4]) + ("…" if len(dynamic) > 4 else "")
    extra = f", dynamic: {shown}" if dynamic else ""
    mode = f"incremental on {stream.cursor_field}" if stream.incremental else "full refresh"
    final = f"; state {state}" if state else ""
    return f"{rows:>7} rows, {len(columns)} columns{extra}; {mode}{final}"


def summarise_endpoint(client: PersonyzeClient, spec: ObjectSpec) -> str:
    if spec.kind == "account":
        return f"account {client.get(Query(spec.path))}"
    if spec.kind == "recommendations":
        return "not read by default: every read is a page view (record_recommendation_page_views)"
    return f"{'/'.join(spec.methods)} endpoint, holds no rows"


def print_summary(sb: RunningSandbox, concurrency: int = 4) -> None:
    """One line per object of the sandbox, read through the client and the core sync: the
    streams a reader offers by default, which leave the account unchanged."""
    specs = default_specs()
    settings = ConnectionSettings.from_config(
        {"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": concurrency}
    )
    began = time.monotonic()
    with PersonyzeClient(settings) as client:
        streams = {s.name: s for s in offered(discover(client, specs), settings)}
        options = ReadOptions.from_settings(settings)
        for name in sorted(specs.objects):
            if name in streams:
                line = summarise_stream(client, specs, streams[name], options)
            else:
                line = summarise_endpoint(client, specs.objects[name])
            print(f"  {name:<26} {line}", flush=True)
        sent = client.stats.requests_sent
    print(f"  {sent} requests in {time.monotonic() - began:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    with running_sandbox("demo", scale=args.scale, seed=7) as sb:
        print(f"Sandbox at {sb.base_url}/ (demo dataset, scale {args.scale}):")
        print_summary(sb, args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
