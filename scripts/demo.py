"""`make demo`: the whole round trip on a local sandbox.

1. start personyze-sandbox with the demo dataset and summarise every object through the core;
2. sync it with the Airbyte source (`source-personyze read`) into JSONL files;
3. sync it with the Singer tap through Meltano (`meltano run tap-personyze target-jsonl`);
4. reverse ETL: a local SQLite table of customers and purchases, sent through
   `target-personyze` into the sandbox, and read back.

Output goes to demo-output/. Meltano runs from its own venv (.e2e/meltano, created on first use,
shared with the end-to-end tests). The key only ever travels in environment variables and files.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from connectors.client import PersonyzeClient
from connectors.demo import print_summary
from connectors.query import Query, all_of, cond
from connectors.sandbox.process import RunningSandbox, running_sandbox
from connectors.settings import ConnectionSettings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "demo-output"
MELTANO_VENV = ROOT / ".e2e" / "meltano"
MELTANO_SYS_DIR = ROOT / ".e2e" / "meltano-project" / ".meltano"


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        sys.exit(f"{Path(cmd[0]).name} failed:\n{done.stderr[-3000:]}")
    return done


def source_to_files(sb: RunningSandbox) -> None:
    step("Airbyte source: source-personyze read → demo-output/source/*.jsonl")
    work = OUT / "source"
    work.mkdir(parents=True)
    config = work / "config.json"
    config.write_text(json.dumps({"api_key": sb.api_key, "base_url": sb.base_url}))
    config.chmod(0o600)
    found = run([str(BIN / "source-personyze"), "discover", "--config", str(config)])
    streams = []
    for line in found.stdout.splitlines():
        message = json.loads(line)
        for stream in message.get("catalog", {}).get("streams", []):
            incremental = "incremental" in stream["supported_sync_modes"]
            streams.append(
                {
                    "stream": stream,
                    "sync_mode": "incremental" if incremental else "full_refresh",
                    "destination_sync_mode": "append",
                    "cursor_field": stream.get("default_cursor_field", []),
                }
            )
    catalog = work / "catalog.json"
    catalog.write_text(json.dumps({"streams": streams}))
    read = run(
        [str(BIN / "source-personyze"), "read", "--config", str(config), "--catalog", str(catalog)]
    )
    files: dict[str, Any] = {}
    states = 0
    for line in read.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            name = message["record"]["stream"]
            if name not in files:
                files[name] = (work / f"{name}.jsonl").open("w")
            files[name].write(json.dumps(message["record"]["data"]) + "\n")
        elif message["type"] == "STATE":
            states += 1
    for handle in files.values():
        handle.close()
    config.unlink()
    print_counts(work)
    print(f"  ({states} STATE messages)")


def print_counts(folder: Path) -> None:
    for path in sorted(folder.glob("*.jsonl")):
        rows = sum(1 for _ in path.open())
        print(f"  {path.stem:<26} {rows:>7} records")


def meltano_executable() -> Path:
    python = MELTANO_VENV / "bin" / "python"
    if not python.exists():
        print("  (first run: installing Meltano into .e2e/meltano)", flush=True)
        run([str(BIN / "uv"), "venv", "-q", "--python", sys.executable, str(MELTANO_VENV)])
        run([str(BIN / "uv"), "pip", "install", "-q", "--python", str(python), "meltano==4.4.1"])
    return MELTANO_VENV / "bin" / "meltano"


def tap_through_meltano(sb: RunningSandbox) -> None:
    step("Singer tap through Meltano: meltano run tap-personyze target-jsonl → demo-output/tap/")
    meltano = meltano_executable()
    output = OUT / "tap"
    output.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        text = (ROOT / "meltano.yml").read_text().replace("${MELTANO_PROJECT_ROOT}", str(ROOT))
        (project / "meltano.yml").write_text(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "TAP_"))}
        env.update(
            {
                "MELTANO_SYS_DIR_ROOT": str(MELTANO_SYS_DIR),
                "MELTANO_DATABASE_URI": f"sqlite:///{project / 'meltano.db'}",
                "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "TAP_PERSONYZE_API_KEY": sb.api_key,
                "TAP_PERSONYZE_BASE_URL": sb.base_url,
                "TARGET_JSONL_DESTINATION_PATH": str(output),
            }
        )
        run([str(meltano), "install", "tap-personyze", "target-jsonl"], cwd=project, env=env)
        run([str(meltano), "run", "tap-personyze", "target-jsonl"], cwd=project, env=env)
    print_counts(output)


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


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    print("Starting personyze-sandbox with the demo dataset…", flush=True)
    with running_sandbox("demo", seed=7) as sb:
        step(f"Every object at {sb.base_url}/, read back through the core")
        print_summary(sb, concurrency=4)
        source_to_files(sb)
        tap_through_meltano(sb)
        reverse_etl(sb)
    print(f"\nDone; files in {OUT.relative_to(ROOT)}/. Sandbox stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
