"""Reading Personyze back after a write, for the tests of every writer: through the API (a
client with short backoff sleeps, since faults are injected on purpose), and, for what no REST
object returns (article interactions, table sizes), from the sandbox's SQLite file."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

from connectors.api.client import PersonyzeClient
from connectors.api.query import Query, all_of, cond
from connectors.settings import ConnectionSettings
from personyze_sandbox.process import RunningSandbox

TABLES = (
    "users",
    "products",
    "articles",
    "user_lists",
    "user_list_users",
    "products_interactions",
    "_articles_interactions",
)


def make_client(sb: RunningSandbox) -> PersonyzeClient:
    settings = ConnectionSettings.from_config(
        {"api_key": sb.api_key, "base_url": sb.base_url, "max_retries": 8}
    )
    return PersonyzeClient(settings, sleep=lambda s: time.sleep(min(s, 0.01)))


def get(sb: RunningSandbox, q: Query) -> Any:
    with make_client(sb) as client:
        return client.get(q)


def rejects(tmp: Path) -> list[dict[str, Any]]:
    """The lines of the rejects file ``tmp/rejects.jsonl`` (none when it does not exist)."""
    path = tmp / "rejects.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def users_by_email(sb: RunningSandbox, emails: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(emails), 200):
        rows = get(
            sb, Query("users", where=all_of(cond("email", ":", emails[i : i + 200])), limit=1000)
        )
        found.update({r["email"]: r for r in rows})
    return found


def products_by_id(sb: RunningSandbox, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = get(sb, Query("products", where=all_of(cond("internal_id", ":", ids)), limit=1000))
    return {r["internal_id"]: r for r in rows}


def members(sb: RunningSandbox, list_id: int) -> set[int]:
    rows = get(
        sb,
        Query(
            "user_list_users",
            where=all_of(cond("user_list_id", "=", list_id)),
            column="user_id",
            limit=1000,
        ),
    )
    return set(rows)


def lists_named(sb: RunningSandbox, name: str) -> list[dict[str, Any]]:
    return [lst for lst in get(sb, Query("user_lists", order_by=("id",))) if lst["name"] == name]


def interactions(sb: RunningSandbox, products: list[str]) -> Counter[tuple[Any, ...]]:
    rows = get(
        sb,
        Query(
            "products_interactions",
            where=all_of(cond("product_internal_id", ":", products)),
            limit=1000,
        ),
    )
    return Counter(
        (r["user_id"], r["product_internal_id"], r["status"], r["quantity"], r["amount"])
        for r in rows
    )


def article_interactions(sb: RunningSandbox) -> Counter[tuple[Any, ...]]:
    # No REST object holds article interactions: read the sandbox's internal table.
    with sqlite3.connect(sb.db_path) as conn:
        rows = conn.execute(
            "SELECT user_id, article_internal_id, status FROM _articles_interactions"
        ).fetchall()
    return Counter(tuple(r) for r in rows)


def table_counts(sb: RunningSandbox) -> dict[str, int]:
    with sqlite3.connect(sb.db_path) as conn:
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in TABLES}


def first_member(sb: RunningSandbox, list_id: int) -> int:
    """The lowest user id in the user list ``list_id``, from the sandbox's SQLite file."""
    with sqlite3.connect(sb.db_path) as conn:
        row = conn.execute(
            "SELECT user_id FROM user_list_users WHERE user_list_id = ? ORDER BY user_id LIMIT 1",
            (list_id,),
        ).fetchone()
    return int(row[0])
