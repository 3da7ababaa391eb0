"""`make demo`: start a sandbox with the demo dataset and summarise every object it holds,
read back through the core's client and read engine."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from connectors.client import PersonyzeClient
from connectors.query import Query
from connectors.read import Checkpoint, partitions, read_records
from connectors.sandbox.process import running_sandbox
from connectors.settings import ConnectionSettings
from connectors.spec import ObjectSpec, Specs, default_specs


def summarise(client: PersonyzeClient, specs: Specs, spec: ObjectSpec, concurrency: int) -> str:
    """One line for one object."""
    if spec.kind == "html":
        snippet = client.get_text(spec.path)
        return f"{len(snippet)} characters of HTML/JS, starting {snippet[:40]!r}"
    if spec.kind == "account":
        return f"account {client.get(Query(spec.path))}"
    if not spec.readable:
        return f"{'/'.join(spec.methods)} endpoint, holds no rows"
    rows = 0
    columns: set[str] = set()
    last: Any = None
    filters = list(partitions(client, specs, spec)) if spec.read.parent else [None]
    for partition in filters:
        prefix = (partition,) if partition is not None else ()
        for item in read_records(client, spec, prefix=prefix, concurrency=concurrency):
            if isinstance(item, Checkpoint):
                last = item.value
                continue
            rows += 1
            columns.update(item)
    dynamic = sorted(columns - {c.name for c in spec.columns})
    extra = (
        f", dynamic: {', '.join(dynamic[:4])}{'…' if len(dynamic) > 4 else ''}" if dynamic else ""
    )
    key = spec.read.key
    parts = f" in {len(filters)} partitions" if spec.read.parent else ""
    return f"{rows:>7} rows{parts}, {len(columns)} columns{extra}; {spec.read.mode} on {key}" + (
        f" (last {key} {last})" if last is not None else ""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    specs = default_specs()
    print(f"Starting personyze-sandbox with the demo dataset (scale {args.scale})…", flush=True)
    with running_sandbox("demo", scale=args.scale, seed=7) as sb:
        print(f"Sandbox listening at {sb.base_url}/ — reading every object back:\n")
        settings = ConnectionSettings.from_config(
            {"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": args.concurrency}
        )
        began = time.monotonic()
        with PersonyzeClient(settings) as client:
            for name in sorted(specs.objects):
                line = summarise(client, specs, specs.objects[name], args.concurrency)
                print(f"  {name:<26} {line}", flush=True)
            sent = client.stats.requests_sent
        print(f"\n{sent} requests in {time.monotonic() - began:.1f} s; sandbox stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
