"""Run inside the PyAirbyte virtualenv (not the project's): read source-personyze into DuckDB.

    python pyairbyte_read.py <executable> <config.json> <duckdb file> <result.json>

Writes, per stream, the number of rows in its DuckDB table and their primary keys.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["AIRBYTE_OFFLINE_MODE"] = "1"  # before the import, or get_source fetches the registry

import airbyte as ab
from airbyte.caches import DuckDBCache


def main(executable: str, config_path: str, db_path: str, result_path: str) -> None:
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    source = ab.get_source("source-personyze", local_executable=executable, config=config)
    source.check()
    source.select_all_streams()
    cache = DuckDBCache(db_path=db_path)
    read = source.read(cache=cache)
    result: dict[str, dict[str, object]] = {}
    for name in source.get_selected_streams():
        try:
            frame = read[name].to_pandas()
        except Exception:  # a stream that read nothing may have no table
            result[name] = {"count": 0, "primary_key": [], "keys": []}
            continue
        primary_key = [
            k[0]
            for s in source.configured_catalog.streams
            if s.stream.name == name
            for k in (s.primary_key or s.stream.source_defined_primary_key or [])
        ]
        result[name] = {
            "count": len(frame),
            "primary_key": primary_key,
            "keys": [
                [str(v) for v in row]
                for row in frame[primary_key].itertuples(index=False, name=None)
            ]
            if primary_key
            else [],
        }
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:5])
