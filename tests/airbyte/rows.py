"""What a test compares records by: primary key where the stream has one, else the whole row;
and the sandbox's own rows, read from its SQLite file as the reference."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from connectors.spec import ObjectSpec, default_specs

RowKey = tuple[Any, ...] | str


def row_key(stream: str, row: Mapping[str, Any]) -> RowKey:
    spec = default_specs().object(stream)
    if spec.primary_key:
        return tuple(row[c] for c in spec.primary_key)
    return json.dumps(row, sort_keys=True)


def keys(stream: str, rows: Iterable[Mapping[str, Any]]) -> Counter[RowKey]:
    return Counter(row_key(stream, r) for r in rows)


def comparable_columns(spec: ObjectSpec) -> tuple[str, ...]:
    """Columns the API returns exactly as SQLite holds them: the primary key, or else every
    integer column (JSON and text columns are re-encoded on the way out)."""
    if spec.primary_key:
        return spec.primary_key
    return tuple(c.name for c in spec.columns if c.type == "integer" and c.role != "packed_json")


def projected(stream: str, rows: Iterable[Mapping[str, Any]]) -> Counter[tuple[Any, ...]]:
    columns = comparable_columns(default_specs().object(stream))
    return Counter(tuple(r.get(c) for c in columns) for r in rows)


def sqlite_tables(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as db:
        return {n for (n,) in db.execute("select name from sqlite_master where type='table'")}


def sqlite_rows(db_path: Path, stream: str) -> Counter[tuple[Any, ...]]:
    """The reference: the sandbox's own table, projected like ``projected``."""
    columns = comparable_columns(default_specs().object(stream))
    listed = ", ".join(f'"{c}"' for c in columns)
    with sqlite3.connect(db_path) as db:
        return Counter(tuple(r) for r in db.execute(f'select {listed} from "{stream}"'))
