"""Every (object, mode) of the DESTINATION_CATALOG through the destination, read back through
the API (article interactions, which no REST object returns, from the sandbox's SQLite file);
the same input twice changes nothing; faults (``--fault-rate 0.2``) give the same end state.

Most streams are mapped the data-activation way (``destination_object_name``, destination sync
mode, primary key as the matching key); one through the config's ``streams``, one by its name.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connectors.api.query import Query, all_of, cond
from connectors.write import operations
from personyze_sandbox.process import RunningSandbox, running_sandbox
from target_personyze.destination_catalog import SYNC_MODES
from tests.airbyte_destination import protocol as p
from tests.airbyte_destination.conftest import sandbox_config

pytestmark = pytest.mark.integration

NEW = [f"act{i}@example.com" for i in range(6)]
NEWSLETTER = "Newsletter opt-ins"  # names lists 2 and 4 in the demo data; the lowest id wins


def stream(name: str, obj: str | None, mode: str | None, key: str | None = None) -> dict[str, Any]:
    sync = SYNC_MODES[mode].value if mode else "append"
    return p.configured_stream(
        name, object_name=obj, sync_mode=sync, primary_key=[[key]] if key else None
    )


# stream -> (object, mode, matching key) as the Airbyte UI would configure it
ACTIVATION: dict[str, tuple[str | None, str | None, str | None]] = {
    "crm_contacts": ("users", "upsert", "email"),
    "crm_update": ("users", "update", "email"),
    "crm_insert": ("users", "insert", "email"),
    "crm_delete": ("users", "delete", "user_id"),
    "catalog": ("products", "upsert", "internal_id"),
    "catalog_new": ("products", "insert", "internal_id"),
    "prices": ("products", "update", "internal_id"),
    "discontinued": ("products", "delete", "internal_id"),
    "posts": ("articles", "upsert", "internal_id"),
    "posts_new": ("articles", "insert", "internal_id"),
    "post_edits": ("articles", "update", "internal_id"),
    "posts_gone": ("articles", "delete", "internal_id"),
    "segments": ("user_lists", "upsert", "name"),
    "segments_gone": ("user_lists", "delete", "id"),
    "vip_add": ("user_list_users", "upsert", "email"),
    "vip_insert": ("user_list_users", "insert", "email"),
    "vip_remove": ("user_list_users", "delete", "user_id"),
    "purchases": ("products_interactions", "append", "email"),
    "reads": ("articles_interactions", "append", None),
    "profile_commands": ("do", "append", "key"),
    "do": (None, None, None),  # no destination_object_name: the stream's name is the object
    "newsletter": (None, None, None),  # mapped by the config's streams (mirror)
}
CONFIG_STREAMS = {
    "newsletter": {"object": "user_list_users", "mode": "mirror", "list_name": NEWSLETTER},
}
COVERED = {(o, m) for o, m, _ in ACTIVATION.values() if o and m} | {
    ("do", "append"),
    ("user_list_users", "mirror"),
}


def configured() -> dict[str, Any]:
    return p.catalog(*(stream(name, *target) for name, target in ACTIVATION.items()))


def input_rows(vip_member: int) -> dict[str, list[dict[str, Any]]]:
    return {
        "crm_contacts": [
            {"email": e, "first_name": f"N{i}", "custom_t_1": "activated"}
            for i, e in enumerate(NEW)
        ]
        + [{"email": "omar.chen.1@example.com", "last_name": "Chen-Activated"}],
        "crm_update": [{"email": "tara.ivanova.2@example.com", "custom_i_1": 7}],
        "crm_insert": [{"email": "fresh@example.com", "first_name": "Fresh"}],
        "crm_delete": [{"user_id": 10}],
        "catalog": [
            {
                "internal_id": f"P-{i}",
                "title": f"Item {i}",
                "price": 10 + i,
                "image_1": f"https://cdn.example.com/{i}.jpg",
            }
            for i in range(4)
        ],
        "catalog_new": [{"internal_id": "P-NEW", "title": "Brand new"}],
        "prices": [{"internal_id": "SKU-00001", "price": 1.25}],
        "discontinued": [{"internal_id": "SKU-00002"}],
        "posts": [{"internal_id": f"A-{i}", "title": f"Post {i}"} for i in range(3)],
        "posts_new": [{"internal_id": "A-NEW", "title": "Fresh post"}],
        "post_edits": [{"internal_id": "article-0001", "title": "Edited"}],
        "posts_gone": [{"internal_id": "article-0002"}],
        "segments": [{"name": "Activated"}],
        "segments_gone": [{"id": 8}],
        "vip_add": [{"email": NEW[0], "user_list_id": 1}, {"email": NEW[1], "user_list_id": 1}],
        "vip_insert": [{"email": NEW[2], "user_list_id": 1}],
        "vip_remove": [{"user_id": vip_member, "user_list_id": 1}],
        "newsletter": [{"email": e} for e in NEW[:3]],
        "purchases": [
            {
                "email": NEW[i],
                "product_internal_id": f"P-{i}",
                "status": "goal",
                "quantity": 2,
                "amount": 20 + i,
                "transaction_time": p.T0 + i,
            }
            for i in range(4)
        ],
        "reads": [
            {"email": NEW[i], "article_internal_id": f"A-{i}", "status": "liked"} for i in range(3)
        ],
        "profile_commands": [
            {
                "key_type": "email",
                "key": NEW[4],
                "command": "User profile",
                "fields": {"custom_t_2": "from do"},
            }
        ],
        "do": [{"key": NEW[5], "command": "Product added to cart", "item": "P-3", "quantity": 3}],
    }


def messages(rows: dict[str, list[dict[str, Any]]]) -> list[p.Message]:
    out: list[p.Message] = []
    for position, (name, records) in enumerate(rows.items()):
        out += [p.record(name, r, cached=True) for r in records]
        out.append(p.state(name, position))
    return out


def snapshot(sb: RunningSandbox) -> dict[str, Any]:
    """What the input changed, read back through the API."""
    emails = [*NEW, "omar.chen.1@example.com", "tara.ivanova.2@example.com", "fresh@example.com"]
    users = p.users_by_email(sb, emails)
    ids = {u["user_id"]: e for e, u in users.items()}
    products = p.products_by_id(sb, ["P-0", "P-1", "P-2", "P-3", "P-NEW", "SKU-00001", "SKU-00002"])
    articles = {
        a["internal_id"]: a["title"]
        for a in p.get(
            sb,
            Query(
                "articles",
                where=all_of(
                    cond(
                        "internal_id",
                        ":",
                        ["A-0", "A-1", "A-2", "A-NEW", "article-0001", "article-0002"],
                    )
                ),
            ),
        )
    }
    events = p.get(
        sb,
        Query(
            "products_interactions",
            where=all_of(cond("product_internal_id", ":", ["P-0", "P-1", "P-2", "P-3"])),
            limit=1000,
        ),
    )
    with sqlite3.connect(sb.db_path) as db:  # no REST object returns article interactions
        reads = db.execute(
            "SELECT user_id, article_internal_id, status FROM _articles_interactions"
        ).fetchall()
        user_rows = db.execute("SELECT COUNT(*) FROM users").fetchone()[0]
    lists = p.get(sb, Query("user_lists", order_by=("id",)))
    return {
        "users": {
            e: {
                k: u.get(k)
                for k in ("first_name", "last_name", "custom_t_1", "custom_t_2", "custom_i_1")
            }
            for e, u in users.items()
        },
        "user_10": p.get(sb, Query("users", where=all_of(cond("user_id", "=", 10)))),
        "user_rows": user_rows,
        "products": {
            k: (v["title"], v["price"], v.get("image_big_url")) for k, v in products.items()
        },
        "articles": articles,
        "lists": Counter(lst["name"] for lst in lists),
        "list_ids": sorted(lst["id"] for lst in lists),
        "vip": {ids.get(u, u) for u in p.members(sb, 1)},
        "newsletter": {ids.get(u, u) for u in p.members(sb, 2)},
        "events": Counter(
            (ids[e["user_id"]], e["product_internal_id"], e["status"], e["quantity"], e["amount"])
            for e in events
        ),
        "reads": Counter((ids[u], a, s) for u, a, s in reads if u in ids),
    }


def test_the_test_covers_every_operation_of_the_catalog() -> None:
    assert {(op.object, op.mode) for op in operations()} == COVERED


def test_every_object_and_mode_reads_back_and_the_same_input_twice_changes_nothing(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sb = writable_sandbox
    vip_member = min(p.members(sb, 1))
    config = sandbox_config(sb, tmp_path, streams=CONFIG_STREAMS)
    rows = input_rows(vip_member)
    first = p.write(config, configured(), messages(rows))
    assert first.errors() == [], first.text()
    assert first.positions() == list(range(len(rows)))
    assert not (tmp_path / "rejects.jsonl").exists()
    got = snapshot(sb)

    users = got["users"]
    assert all(
        users[e]["first_name"] == f"N{i}" and users[e]["custom_t_1"] == "activated"
        for i, e in enumerate(NEW)
    )
    assert users["omar.chen.1@example.com"]["last_name"] == "Chen-Activated"
    assert users["tara.ivanova.2@example.com"]["custom_i_1"] == 7
    assert users["fresh@example.com"]["first_name"] == "Fresh"
    assert users[NEW[4]]["custom_t_2"] == "from do"
    assert got["user_10"] == []
    assert got["products"]["P-2"] == ("Item 2", 12, "https://cdn.example.com/2.jpg")
    assert got["products"]["P-NEW"][0] == "Brand new"
    assert got["products"]["SKU-00001"][1] == 1.25
    assert "SKU-00002" not in got["products"]
    assert got["articles"] == {
        "A-0": "Post 0",
        "A-1": "Post 1",
        "A-2": "Post 2",
        "A-NEW": "Fresh post",
        "article-0001": "Edited",
    }
    assert got["lists"]["Activated"] == 1 and 8 not in got["list_ids"]
    assert {NEW[0], NEW[1], NEW[2]} <= got["vip"] and vip_member not in got["vip"]
    assert got["newsletter"] == set(NEW[:3])
    events: dict[tuple[Any, ...], int] = {
        (NEW[i], f"P-{i}", "goal", 2, 20 + i): 1 for i in range(4)
    }
    events[(NEW[5], "P-3", "extra", 3, None)] = 1  # the `do` stream's command
    assert got["events"] == Counter(events)
    assert got["reads"] == Counter({(NEW[i], f"A-{i}", "liked"): 1 for i in range(3)})

    second = p.write(config, configured(), messages(rows))
    assert second.errors() == [], second.text()
    assert snapshot(sb) == got  # nothing duplicated, nothing else changed


def fault_rows() -> dict[str, list[dict[str, Any]]]:
    people = [f"fault{i}@example.com" for i in range(20)]
    return {
        "contacts": [{"email": e, "first_name": f"F{i}"} for i, e in enumerate(people)],
        "items": [{"internal_id": f"F-{i}", "title": f"Fault {i}", "price": i} for i in range(10)],
        "members": [{"email": e} for e in people[:12]],
        "buys": [
            {"email": e, "product_internal_id": f"F-{i % 10}", "status": "extra", "quantity": i + 1}
            for i, e in enumerate(people)
        ],
    }


FAULT_CATALOG = p.catalog(
    stream("contacts", "users", "upsert", "email"),
    stream("items", "products", "upsert", "internal_id"),
    stream("members", None, None),
    stream("buys", "products_interactions", "append", "email"),
)


def fault_end_state(sb: RunningSandbox) -> dict[str, Any]:
    people = [f"fault{i}@example.com" for i in range(20)]
    users = p.users_by_email(sb, people)
    ids = {u["user_id"]: e for e, u in users.items()}
    (vip,) = [lst["id"] for lst in p.get(sb, Query("user_lists")) if lst["name"] == "Fault VIPs"]
    events = p.get(
        sb,
        Query(
            "products_interactions",
            where=all_of(cond("product_internal_id", ":", [f"F-{i}" for i in range(10)])),
            limit=1000,
        ),
    )
    return {
        "users": sorted((e, u["first_name"]) for e, u in users.items()),
        "products": sorted(
            (k, v["title"], v["price"])
            for k, v in p.products_by_id(sb, [f"F-{i}" for i in range(10)]).items()
        ),
        "members": sorted(ids.get(u, str(u)) for u in p.members(sb, vip)),
        "events": sorted(
            (ids[e["user_id"]], e["product_internal_id"], e["quantity"]) for e in events
        ),
    }


def test_faults_give_the_same_end_state(tmp_path: Path) -> None:
    rows = fault_rows()
    streams = {
        "members": {"object": "user_list_users", "mode": "mirror", "list_name": "Fault VIPs"}
    }
    ends = []
    for rate in (0.0, 0.2):
        tmp = tmp_path / str(rate)
        tmp.mkdir()
        with running_sandbox("demo", scale=1, seed=11, fault_rate=rate) as sb:
            config = sandbox_config(sb, tmp, streams=streams, max_retries=12, batch_size_rows=5)
            out = p.write(config, FAULT_CATALOG, messages(rows))
            assert out.errors() == [], out.text()
            assert out.positions() == list(range(len(rows)))
            ends.append(fault_end_state(sb))
    assert ends[0] == ends[1]
    assert len(ends[0]["users"]) == 20 and len(ends[0]["events"]) == 20
