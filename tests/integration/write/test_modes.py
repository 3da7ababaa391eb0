"""Every object and mode written over real HTTP and read back through the API (article
interactions, which the API cannot read, from the sandbox's SQLite file); the same writes run
twice change nothing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from connectors.api.query import Query, all_of, cond
from personyze_sandbox.process import RunningSandbox
from tests.integration.write.runs import CONFIG, NEW, all_modes_input, write
from tests.readback import (
    article_interactions,
    first_member,
    get,
    interactions,
    members,
    rejects,
    table_counts,
    users_by_email,
)

pytestmark = pytest.mark.integration


def test_every_object_and_mode_read_back_and_twice_changes_nothing(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    vip_member = first_member(sandbox, 1)
    list4 = members(sandbox, 4)
    records = all_modes_input()
    records["vip_remove"] = [{"user_id": vip_member}, {"user_id": 999_999}]
    first = write(sandbox, CONFIG, records, tmp_path)

    s = first.streams
    assert (s["users"].created, s["users"].updated, s["users"].rejected) == (12, 1, 0)
    assert (s["crm_update"].updated, s["crm_update"].rejected) == (1, 1)
    assert (s["crm_insert"].created, s["crm_insert"].rejected) == (1, 1)
    assert (s["crm_delete"].deleted, s["crm_delete"].unchanged) == (1, 1)
    assert (s["products"].created, s["price_update"].updated, s["price_update"].rejected) == (
        8,
        1,
        1,
    )
    assert s["discontinued"].deleted == 1 and s["articles"].created == 3
    assert s["lists"].created == 1
    assert (s["vip_add"].created, s["vip_remove"].deleted, s["vip_remove"].unchanged) == (3, 1, 1)
    assert s["events"].appended == 9 and s["reads"].appended == 3 and s["do"].appended == 2
    assert first.total("rejected") == 3 and first.total("unknown") == 0
    reasons = {(r["stream"], r["key"]): r["reason"] for r in rejects(tmp_path)}
    assert "mode update does not create" in reasons[("crm_update", "nobody@example.com")]
    assert "already exists" in reasons[("crm_insert", "rosa.ivanova.3@example.com")]
    assert "no products row has internal_id=P-NOPE" in reasons[("price_update", "P-NOPE")]

    # profiles
    users = users_by_email(
        sandbox,
        [
            *NEW,
            "omar.chen.1@example.com",
            "tara.ivanova.2@example.com",
            "fresh@example.com",
            "nobody@example.com",
        ],
    )
    assert all(
        users[e]["first_name"] == f"N{i}" and users[e]["custom_t_1"] == "vip"
        for i, e in enumerate(NEW)
    )
    assert "_sdc_seq" not in users[NEW[0]]
    assert users["omar.chen.1@example.com"]["last_name"] == "Chen-Updated"
    assert users["omar.chen.1@example.com"]["first_name"] == "Omar"
    assert users["tara.ivanova.2@example.com"]["custom_i_1"] == 7
    assert "nobody@example.com" not in users and users["fresh@example.com"]["first_name"] == "F"
    assert users[NEW[9]]["custom_t_2"] == "from do"
    assert get(sandbox, Query("users", where=all_of(cond("user_id", "=", 10)))) == []
    # catalog
    products = {
        p["internal_id"]: p
        for p in get(
            sandbox,
            Query(
                "products",
                where=all_of(
                    cond(
                        "internal_id",
                        ":",
                        [f"P-{i}" for i in range(8)] + ["SKU-00001", "SKU-00002", "P-NOPE"],
                    )
                ),
                limit=100,
            ),
        )
    }
    assert products["P-3"]["title"] == "Item 3" and products["P-3"]["price"] == 13
    assert products["P-3"]["image_big_url"] == "https://cdn.example.com/3.jpg"
    assert products["SKU-00001"]["price"] == 1.25
    assert "SKU-00002" not in products and "P-NOPE" not in products
    arts = get(sandbox, Query("articles", where=all_of(cond("internal_id", ":", ["A-0", "A-2"]))))
    assert sorted(a["title"] for a in arts) == ["Post 0", "Post 2"]
    # lists and memberships
    lists = get(sandbox, Query("user_lists", order_by=("id",)))
    assert [lst["name"] for lst in lists].count("Reverse ETL") == 1
    vip = members(sandbox, 1)
    assert {
        users[NEW[0]]["user_id"],
        users[NEW[1]]["user_id"],
        users["omar.chen.1@example.com"]["user_id"],
    } <= vip
    assert vip_member not in vip
    # mirror: "Newsletter opt-ins" names lists 2 and 4; the lowest id (2) is the list
    assert members(sandbox, 2) == {users[e]["user_id"] for e in NEW[:5]}
    assert members(sandbox, 4) == list4
    # events
    events = interactions(sandbox, [f"P-{i}" for i in range(8)])
    expected = Counter(
        {(users[NEW[i]]["user_id"], f"P-{i}", "goal", 2, 20 + i): 1 for i in range(8)}
    )
    expected[(users[NEW[0]]["user_id"], "P-1", "delivered", 1, None)] = 1
    expected[(users[NEW[9]]["user_id"], "P-7", "extra", 3, None)] = 1
    assert events == expected
    articles = article_interactions(sandbox)
    assert articles == Counter({(users[NEW[i]]["user_id"], f"A-{i}", "liked"): 1 for i in range(3)})

    # the same writes again: nothing changes, nothing is duplicated
    before = table_counts(sandbox)
    second = write(sandbox, CONFIG, records, tmp_path)
    assert table_counts(sandbox) == before
    assert interactions(sandbox, [f"P-{i}" for i in range(8)]) == events
    assert article_interactions(sandbox) == articles
    assert members(sandbox, 2) == {users[e]["user_id"] for e in NEW[:5]}
    t = second.streams
    # skip_unchanged (the default): profiles and products are only read
    assert (t["users"].created, t["users"].updated, t["users"].unchanged) == (0, 0, 13)
    assert (t["products"].unchanged, t["products"].calls) == (8, 1)
    assert t["events"].skipped == 9 and t["events"].appended == 0
    assert t["reads"].skipped == 3 and t["do"].skipped == 1
    assert t["vip_add"].created == 0 and t["vip_add"].unchanged == 3
    # insert: the profile the first run created holds the record's values (what a retried
    # attempt finds): unchanged; the one that differs from its record is still refused
    assert (t["crm_insert"].created, t["crm_insert"].unchanged, t["crm_insert"].rejected) == (
        0,
        1,
        1,
    )
    assert t["lists"].created == 0 and t["newsletter"].deleted == 0

    # without skip_unchanged every profile is written again
    third = write(sandbox, {}, {"users": records["users"]}, tmp_path, skip_unchanged=False)
    assert third.streams["users"].updated == 13


def test_insert_takes_a_row_that_already_holds_the_record_as_unchanged(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Products in insert mode (POST rows): a rerun, as a retried attempt runs, finds the rows
    the first run created holding its records, and settles them as unchanged; a record whose
    product holds other values is refused, and nothing is written over."""
    config = {"new_products": {"object": "products", "mode": "insert"}}
    rows = [{"internal_id": f"INS-{i}", "title": f"Inserted {i}", "price": 5 + i} for i in range(3)]
    first = write(sandbox, config, {"new_products": rows}, tmp_path)
    assert (first.streams["new_products"].created, first.total("rejected")) == (3, 0)
    changed = [*rows[:2], {**rows[2], "price": 99}]
    second = write(sandbox, config, {"new_products": changed}, tmp_path)
    s = second.streams["new_products"]
    assert (s.created, s.unchanged, s.rejected) == (0, 2, 1)
    assert "already exists with other values" in rejects(tmp_path)[-1]["reason"]
    stored = get(
        sandbox,
        Query("products", where=all_of(cond("internal_id", ":", [r["internal_id"] for r in rows]))),
    )
    assert sorted((p["internal_id"], p["price"]) for p in stored) == [
        ("INS-0", 5),
        ("INS-1", 6),
        ("INS-2", 7),
    ]
