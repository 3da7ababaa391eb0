"""Demo step 4: a local SQLite warehouse of customers and purchases sent through
`target-personyze` into the sandbox, then read back through the API."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from pathlib import Path

from steps import BIN, OUT, run, step

from connectors.api.client import PersonyzeClient
from connectors.api.query import Query, all_of, cond
from connectors.settings import ConnectionSettings
from personyze_sandbox.process import RunningSandbox

CUSTOMERS = [
    ("C-1001", "ana.lopez@example.org", "Ana", "Lopez", "Madrid"),
    ("C-1002", "ben.okafor@example.org", "Ben", "Okafor", "Lagos"),
    ("C-1003", "chloe.martin@example.org", "Chloe", "Martin", "Lyon"),
]
PURCHASES = [  # email, sku, status, quantity, amount, unix seconds
    ("ana.lopez@example.org", "SKU-00001", "goal", 2, 49.90, 1767300000),
    ("ana.lopez@example.org", "SKU-00007", "goal", 1, 12.50, 1767300500),
    ("ben.okafor@example.org", "SKU-00003", "goal", 1, 199.00, 1767301000),
    ("chloe.martin@example.org", "SKU-00001", "goal", 3, 74.85, 1767302000),
]


def warehouse(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE customers (id TEXT, email TEXT, first_name TEXT, "
            "last_name TEXT, city TEXT)"
        )
        db.execute(
            "CREATE TABLE purchases (email TEXT, sku TEXT, status TEXT, "
            "quantity INTEGER, amount REAL, purchased_at INTEGER)"
        )
        db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", CUSTOMERS)
        db.executemany("INSERT INTO purchases VALUES (?, ?, ?, ?, ?, ?)", PURCHASES)


def singer_messages(db_path: Path) -> str:
    """The warehouse tables as a Singer stream, as any SQL tap would emit them."""
    lines = []
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        for table, key in (("customers", "id"), ("purchases", "email")):
            rows = [dict(r) for r in db.execute(f"SELECT * FROM {table}")]
            props = {
                c: {
                    "type": [
                        "null",
                        "integer"
                        if isinstance(v, int)
                        else "number"
                        if isinstance(v, float)
                        else "string",
                    ]
                }
                for c, v in rows[0].items()
            }
            lines.append(
                {
                    "type": "SCHEMA",
                    "stream": table,
                    "key_properties": [key],
                    "schema": {"type": "object", "properties": props},
                }
            )
            lines += [{"type": "RECORD", "stream": table, "record": r} for r in rows]
    lines.append({"type": "STATE", "value": {"warehouse": "demo"}})
    return "\n".join(json.dumps(m) for m in lines) + "\n"


def reverse_etl(sb: RunningSandbox) -> None:
    step("Reverse ETL: warehouse customers and purchases → target-personyze → Personyze")
    work = OUT / "reverse-etl"
    work.mkdir(parents=True)
    db_path = work / "warehouse.sqlite"
    warehouse(db_path)
    config = {
        "base_url": sb.base_url,
        "rejects_path": str(work / "rejected.jsonl"),
        "ledger_path": str(work / "ledger.sqlite"),
        "streams": {
            "customers": {
                "object": "users",
                "mode": "upsert",
                "match_key": "email",
                "field_map": {"id": "internal_id", "city": "current_city"},
            },
            "purchases": {
                "object": "products_interactions",
                "match_key": "email",
                "field_map": {"sku": "product_internal_id", "purchased_at": "transaction_time"},
            },
        },
    }
    (work / "config.json").write_text(json.dumps(config, indent=2))
    messages = singer_messages(db_path)
    env = {**os.environ, "TARGET_PERSONYZE_API_KEY": sb.api_key}
    done = run(
        [str(BIN / "target-personyze"), "--config", str(work / "config.json"), "--config", "ENV"],
        input=messages,
        env=env,
    )
    print("  target stdout (STATE only):", done.stdout.strip())
    lines = done.stderr.splitlines()
    marks = [i for i, line in enumerate(lines) if "Personyze write summary" in line]
    for line in lines[marks[-1] :] if marks else []:
        if "METRIC" not in line:
            print("  " + line.split("| ")[-1])
    settings = ConnectionSettings.from_config({"api_key": sb.api_key, "base_url": sb.base_url})
    print("  read back through the API:")
    with PersonyzeClient(settings) as client:
        emails = [c[1] for c in CUSTOMERS]
        users = client.get(
            Query(
                "users",
                where=all_of(cond("email", ":", emails)),
                columns=("user_id", "email", "first_name", "internal_id", "current_city"),
            )
        )
        for user in users:
            bought = client.get(
                Query(
                    "products_interactions",
                    where=all_of(
                        cond("user_id", "=", user["user_id"]), cond("status", "=", "goal")
                    ),
                    columns=("product_internal_id", "quantity", "amount"),
                )
            )
            items = Counter(f"{b['product_internal_id']} x{b['quantity']}" for b in bought)
            print(
                f"    user {user['user_id']} {user['email']} ({user['first_name']}, "
                f"{user['internal_id']}, {user['current_city']}): bought "
                f"{', '.join(sorted(items))}"
            )
