"""The core read engine alone, without a framework: the second reference of the read benchmark.

One process reads one stream through ``connectors.read.read_records`` (the windows, probes and
threads the adapters use, at ``max_concurrency``) and writes the rows as JSON lines with orjson.
What the adapters take beyond this run is theirs; what this run takes beyond the latency limit
is the engine's, the sandbox's and the machine's.

    python benchmarks/engine_loop.py BASE_URL STREAM OUT.jsonl CONCURRENCY

The API key comes from PERSONYZE_API_KEY.
"""

from __future__ import annotations

import os
import sys

import orjson

from connectors.api.client import PersonyzeClient
from connectors.read import Checkpoint, read_records
from connectors.settings import ConnectionSettings
from connectors.spec import default_specs


def main(base_url: str, stream: str, out_path: str, concurrency: str) -> int:
    settings = ConnectionSettings.from_config(
        {
            "api_key": os.environ["PERSONYZE_API_KEY"],
            "base_url": base_url,
            "max_concurrency": int(concurrency),
        }
    )
    rows = 0
    with PersonyzeClient(settings) as client, open(out_path, "wb") as out:
        spec = default_specs().object(stream)
        for item in read_records(client, spec, concurrency=settings.max_concurrency):
            if not isinstance(item, Checkpoint):
                out.write(orjson.dumps(item) + b"\n")
                rows += 1
    print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
