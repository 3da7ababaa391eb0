"""Datasets the sandbox can start with: `empty`, and `demo` — a realistic shop, deterministic
from the seed, every object populated, heavy ties on `time`, scalable with --scale
(demo_rows.py, demo_activity.py).

Rows stream into SQLite in chunks, so millions of interactions never sit in memory at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from personyze_sandbox import demo_activity as activity
from personyze_sandbox.demo_activity import STATS_WINDOWS, products_stats
from personyze_sandbox.demo_rows import BASE_ROWS, Demo
from personyze_sandbox.store import Store
from personyze_sandbox.tracker import RULES_TABLE, create_tracker_tables

__all__ = ["BASE_ROWS", "DATASETS", "load_dataset"]
CHUNK = 5_000
# Tables of the demo dataset in load order, and what makes their rows.
ROWS: dict[str, Callable[[Demo], Iterator[dict[str, Any]]]] = {
    "users": Demo.users,
    "user_lists": Demo.user_lists,
    "user_list_users": Demo.user_list_users,
    "actions": Demo.actions,
    "conditions": Demo.conditions,
    "placeholders": Demo.placeholders,
    "containers_grab_variable": Demo.containers_grab_variable,
    "products": Demo.products,
    "articles": Demo.articles,
    "products_interactions": activity.products_interactions,
    "events": activity.events,
    "forms": activity.forms,
    "sessions_archive": activity.sessions_archive,
    "user_interests": activity.user_interests,
    "summary_actions": activity.summary_actions,
}


def _insert(
    store: Store, conn: sqlite3.Connection, table: str, rows: Iterable[dict[str, Any]]
) -> int:
    """Insert rows in chunks; dynamic columns are added from the first chunk's keys."""
    it = iter(rows)
    total = 0
    while chunk := list(islice(it, CHUNK)):
        names = sorted({k for row in chunk for k in row})
        if table in store.specs.objects:
            store.catalog.ensure_columns(conn, store.specs.object(table), names)
        sql = (
            f'INSERT INTO "{table}" ('
            + ", ".join(f'"{n}"' for n in names)
            + ") VALUES ("
            + ", ".join("?" for _ in names)
            + ")"
        )
        conn.executemany(sql, ([_sql(row.get(n)) for n in names] for row in chunk))
        total += len(chunk)
    return total


def _sql(value: Any) -> Any:
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else value


DATASETS: dict[str, Callable[[Store, Demo], None]] = {}


def load_dataset(
    store: Store, name: str, *, scale: int = 1, seed: int = 1, rows: Mapping[str, int] | None = None
) -> None:
    DATASETS[name](store, Demo(scale, seed, rows))


def _empty(store: Store, demo: Demo) -> None:
    with store.writing() as conn:
        _insert(store, conn, "_account", demo.account())


def _demo(store: Store, demo: Demo) -> None:
    with store.writing() as conn:
        _insert(store, conn, "_account", demo.account())
        for table in ROWS:
            _insert(store, conn, table, ROWS[table](demo))
        for table, days in STATS_WINDOWS.items():
            products_stats(conn, table, days)
        create_tracker_tables(conn)
        _insert(store, conn, RULES_TABLE, demo.recommendation_rules())


DATASETS.update({"empty": _empty, "demo": _demo})
