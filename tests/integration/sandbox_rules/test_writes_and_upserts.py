"""Writes and their side effects (api §2.1, §5): read-only objects, bare-number answers, serialised
user inserts, upserts and renames, cascades, stub users, merges, dynamic columns,
data_last_modified upkeep."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from personyze_sandbox.process import running_sandbox
from tests.integration.sandbox_rules.answers import (
    _client,
    ok,
    refused,
)

pytestmark = pytest.mark.integration


READ_ONLY = [
    "actions",
    "conditions",
    "events",
    "forms",
    "sessions_archive",
    "user_interests",
    "products_stats_1day",
    "products_stats_2day",
    "products_stats_4day",
    "products_stats_week",
    "products_stats_recent",
    "products_stats_all",
    "summary_actions",
    "tracker_code",
]


@pytest.mark.parametrize("obj", READ_ONLY)
def test_read_only_objects_refuse_writes(demo: httpx.Client, obj: str) -> None:
    refused(demo.post(obj, json={"id": 1, "user_id": 5, "name": "x"}))
    refused(demo.put(f"{obj}/where/user_id=5", json={"name": "x"}))
    refused(demo.put(f"{obj}/1", json={"name": "x"}))
    refused(demo.delete(f"{obj}/where/user_id=5"))
    refused(demo.delete(f"{obj}/1"))


def test_read_only_data_is_unchanged_after_refused_writes(demo: httpx.Client) -> None:
    events = ok(demo.get("events/where/user_id=5/order_by/id/limit/50"))
    actions = ok(demo.get("actions/1"))
    demo.delete("events/where/user_id=5")
    demo.put("actions/1", json={"name": "hacked"})
    assert ok(demo.get("events/where/user_id=5/order_by/id/limit/50")) == events
    assert ok(demo.get("actions/1")) == actions


# ---- writes: answers and side effects (api §2.1, §5) -----------------------------------------


def test_write_answers_are_bare_numbers(demo: httpx.Client) -> None:
    r = demo.post("placeholders", json={"name": "Bare", "html_id": "#bare"})
    assert r.status_code == 200 and r.text.strip().isdigit()
    new_id = int(r.text)
    assert ok(demo.get(f"placeholders/{new_id}"))["name"] == "Bare"
    a = ok(demo.post("placeholders", json={"name": "Count me", "html_id": "#c1"}))
    b = ok(demo.post("placeholders", json={"name": "Count me", "html_id": "#c2"}))
    assert b > a > new_id
    r = demo.put("placeholders/where/name=Count%20me", json={"units_count_max": 4})
    assert (r.status_code, r.text) == (200, "2")
    assert ok(demo.get("placeholders/where/name=Count%20me/column/units_count_max")) == [4, 4]
    assert ok(demo.put("placeholders/99999999", json={"name": "ghost"})) == 0
    r = demo.delete("placeholders/where/name=Count%20me")
    assert (r.status_code, r.text) == (200, "2")
    assert ok(demo.get("placeholders/where/name=Count%20me")) == []
    assert ok(demo.delete(f"placeholders/{new_id}")) == 1
    assert ok(demo.delete(f"placeholders/{new_id}")) == 0


def test_concurrent_user_inserts_are_serialised() -> None:
    with running_sandbox("empty", latency_ms=1500) as sb:
        results: list[httpx.Response] = []
        lock = threading.Lock()
        together = threading.Barrier(2)

        def post(n: int) -> None:
            with _client(sb) as c:
                together.wait(timeout=30)
                r = c.post("users", json={"email": f"concurrent{n}@example.com"})
            with lock:
                results.append(r)

        threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcome = sorted((r.status_code, r.text if r.status_code != 200 else "") for r in results)
        assert outcome == [(200, ""), (400, "Too many simultaneous requests")]
        with _client(sb) as c:
            stored = ok(c.get("users/where/email:concurrent0@example.com,concurrent1@example.com"))
        assert len(stored) == 1


@pytest.mark.parametrize("obj,flag", [("products", "is_in_stock"), ("articles", "is_published")])
def test_catalog_upsert_and_renames(demo: httpx.Client, obj: str, flag: str) -> None:
    key = f"upsert-{obj}"
    first = ok(
        demo.post(
            obj,
            json={
                "internal_id": key,
                "title": "Original",
                "category": "tools",
                flag: "yes",
                "image_1": "https://cdn/big.jpg",
                "image_3": "https://cdn/small.jpg",
            },
        )
    )
    again = ok(demo.post(obj, json={"internal_id": key, "title": "Patched", "image_2": "m.jpg"}))
    assert again == first
    assert ok(demo.get(f"{obj}/where/internal_id={key}/column/id")) == [first]  # no duplicate
    row = ok(demo.get(f"{obj}/{first}"))
    assert row["title"] == "Patched" and row["category"] == "tools" and row[flag] == "yes"
    assert (row["image_big_url"], row["image_medium_url"], row["image_small_url"]) == (
        "https://cdn/big.jpg",
        "m.jpg",
        "https://cdn/small.jpg",
    )
    assert not {"image_1", "image_2", "image_3"} & set(row)
    assert ok(demo.put(f"{obj}/{first}", json={"image_1": "new-big.jpg", flag: "no"})) == 1
    row = ok(demo.get(f"{obj}/{first}"))
    assert (row["image_big_url"], row[flag]) == ("new-big.jpg", "no")
    for bad in (1, 0, "1", "true", True):
        assert flag in refused(demo.put(f"{obj}/{first}", json={flag: bad}))
    assert flag in refused(demo.post(obj, json={"internal_id": key + "-b", flag: 1}))
    assert ok(demo.get(f"{obj}/where/internal_id={key}-b")) == []
    assert ok(demo.get(f"{obj}/{first}"))[flag] == "no"


def test_user_list_deletion_cascades(empty: httpx.Client) -> None:
    doomed = ok(empty.post("user_lists", json={"name": "Doomed"}))
    kept = ok(empty.post("user_lists", json={"name": "Kept"}))
    users = [ok(empty.post("users", json={"email": f"cascade{n}@example.com"})) for n in range(3)]
    for u in users:
        ok(empty.post("user_list_users", json={"user_list_id": doomed, "user_id": u}))
    ok(empty.post("user_list_users", json={"user_list_id": kept, "user_id": users[0]}))
    members = ok(empty.get(f"user_list_users/where/user_list_id={doomed}/column/user_id"))
    assert sorted(members) == sorted(users)
    assert ok(empty.delete(f"user_lists/{doomed}")) == 1
    assert ok(empty.get(f"user_list_users/where/user_list_id={doomed}")) == []
    assert ok(empty.get(f"user_list_users/where/user_list_id={kept}/column/user_id")) == [users[0]]
    assert ok(empty.get(f"users/{users[1]}"))["email"] == "cascade1@example.com"  # users stay


def test_stub_users_documented(empty: httpx.Client) -> None:
    list_id = ok(empty.post("user_lists", json={"name": "Stubs"}))
    ok(
        empty.post(
            "user_list_users", json={"user_list_id": list_id, "user_internal_id": "stub-uli"}
        )
    )
    ok(
        empty.post(
            "user_list_users", json={"user_list_id": list_id, "user_email": "stub-ule@example.com"}
        )
    )
    ok(empty.post("products", json={"internal_id": "STUB-SKU", "title": "Stub item"}))
    ok(
        empty.post(
            "products_interactions",
            json={
                "user_email": "stub-pi@example.com",
                "product_internal_id": "STUB-SKU",
                "status": "viewed",
            },
        )
    )
    r = empty.post("do", json=[["internal_id", "stub-do", "Product viewed", "STUB-SKU"]])
    assert (r.status_code, r.text) == (200, "")
    r = empty.post("do", json=[["email", "stub-do@example.com", "User profile", "a_b", "c"]])
    assert (r.status_code, r.text) == (200, "")
    uli = ok(empty.get("users/where/internal_id=stub-uli/column/user_id"))
    ule = ok(empty.get("users/where/email=stub-ule@example.com/column/user_id"))
    pi = ok(empty.get("users/where/email=stub-pi@example.com/column/user_id"))
    do_internal = ok(empty.get("users/where/internal_id=stub-do/column/user_id"))
    do_email = ok(empty.get("users/where/email=stub-do@example.com"))
    assert all(len(x) == 1 for x in (uli, ule, pi, do_internal, do_email))
    assert do_email[0]["a_b"] == "c"
    members = ok(empty.get(f"user_list_users/where/user_list_id={list_id}/column/user_id"))
    assert sorted(members) == sorted([uli[0], ule[0]])
    logged = ok(empty.get("products_interactions/where/product_internal_id=STUB-SKU"))
    assert sorted((r["user_id"], r["status"]) for r in logged) == sorted(
        [(pi[0], "viewed"), (do_internal[0], "viewed")]
    )
    # a user_id that does not exist is never created
    assert refused(
        empty.post("user_list_users", json={"user_list_id": list_id, "user_id": 99999999})
    )


def test_no_stub_users_for_user_list_users_when_observed(observed: httpx.Client) -> None:
    list_id = ok(observed.post("user_lists", json={"name": "Observed"}))
    for body in ({"user_internal_id": "nobody-1"}, {"user_email": "nobody@example.com"}):
        text = refused(observed.post("user_list_users", json={"user_list_id": list_id, **body}))
        assert text.startswith("User not found by")
    assert ok(observed.get("users/where/email=nobody@example.com")) == []
    assert ok(observed.get(f"user_list_users/where/user_list_id={list_id}")) == []
    # an existing profile is found by email
    user = ok(observed.post("users", json={"email": "somebody@example.com"}))
    ok(
        observed.post(
            "user_list_users",
            json={"user_list_id": list_id, "user_email": "somebody@example.com"},
        )
    )
    assert ok(observed.get(f"user_list_users/where/user_list_id={list_id}/column/user_id")) == [
        user
    ]
    # do still creates stubs under the observed behaviour (api §9 C2)
    r = observed.post("do", json=[["email", "do-obs@example.com", "User profile", "x", "1"]])
    assert (r.status_code, r.text) == (200, "")
    assert len(ok(observed.get("users/where/email=do-obs@example.com"))) == 1


def test_users_merge_on_post_documented(empty: httpx.Client) -> None:
    by_email = ok(empty.post("users", json={"email": "merge@example.com", "first_name": "Ann"}))
    again = ok(empty.post("users", json={"email": "merge@example.com", "last_name": "Lee"}))
    assert again == by_email
    row = ok(empty.get(f"users/{by_email}"))
    assert (row["first_name"], row["last_name"]) == ("Ann", "Lee")
    by_internal = ok(empty.post("users", json={"internal_id": "merge-int", "first_name": "Bo"}))
    again = ok(empty.post("users", json={"internal_id": "merge-int", "custom_t_1": "gold"}))
    assert again == by_internal != by_email
    rows = ok(empty.get("users/where/internal_id=merge-int"))
    assert len(rows) == 1 and (rows[0]["first_name"], rows[0]["custom_t_1"]) == ("Bo", "gold")
    assert ok(empty.put("users/where/internal_id=merge-int", json={"first_name": "Bob"})) == 1
    assert ok(empty.get(f"users/{by_internal}"))["first_name"] == "Bob"
    # user_id and fb_id are identifiers too (OLD-users)
    assert ok(empty.post("users", json={"user_id": by_email, "custom_t_2": "by-id"})) == by_email
    assert ok(empty.get(f"users/{by_email}"))["custom_t_2"] == "by-id"
    fb = ok(empty.post("users", json={"fb_id": "fb-merge", "first_name": "Fay"}))
    assert ok(empty.post("users", json={"fb_id": "fb-merge", "last_name": "Fox"})) == fb
    assert ok(empty.get("users/where/fb_id=fb-merge/columns/first_name,last_name")) == [
        {"first_name": "Fay", "last_name": "Fox"}
    ]


def test_users_internal_id_does_not_merge_when_observed(observed: httpx.Client) -> None:
    first = ok(observed.post("users", json={"internal_id": "obs-dup", "first_name": "One"}))
    second = ok(observed.post("users", json={"internal_id": "obs-dup", "first_name": "Two"}))
    assert first != second
    assert ok(observed.get(f"users/{first}"))["first_name"] == "One"
    assert ok(observed.get(f"users/{second}"))["first_name"] == "Two"
    assert ok(observed.put("users/where/internal_id=obs-dup", json={"first_name": "X"})) == 0
    assert ok(observed.get(f"users/{first}"))["first_name"] == "One"
    # email still merges
    a = ok(observed.post("users", json={"email": "obs@example.com", "first_name": "E"}))
    assert ok(observed.post("users", json={"email": "obs@example.com", "last_name": "F"})) == a
    assert ok(observed.put("users/where/email=obs@example.com", json={"first_name": "G"})) == 1


def test_dynamic_columns(demo: httpx.Client) -> None:
    refused(demo.get("users/where/user_id=1/column/favourite_colour"))
    uid = ok(demo.post("users", json={"email": "dyn@example.com", "favourite_colour": "teal"}))
    assert ok(demo.get("users/where/email=dyn@example.com/column/favourite_colour")) == ["teal"]
    assert ok(demo.get(f"users/{uid}"))["favourite_colour"] == "teal"
    pid = ok(demo.post("products", json={"internal_id": "DYN-1", "warranty_years": 3}))
    assert ok(demo.get("products/where/internal_id=DYN-1/columns/id,warranty_years")) == [
        {"id": pid, "warranty_years": 3}
    ]
    assert ok(demo.get("products/where/warranty_years=3/column/id")) == [pid]


def test_data_last_modified_upkeep(empty: httpx.Client) -> None:
    before = int(time.time())
    uid = ok(empty.post("users", json={"email": "dlm@example.com", "first_name": "A"}))
    inserted = ok(empty.get(f"users/{uid}"))["data_last_modified"]
    assert before <= inserted <= int(time.time()) + 1
    pid = ok(empty.post("products", json={"internal_id": "DLM-1", "price": 5}))
    p_inserted = ok(empty.get(f"products/{pid}"))["data_last_modified"]
    assert p_inserted >= before
    time.sleep(1.1)
    # nothing changes: the stamp stays
    assert ok(empty.put(f"users/{uid}", json={"first_name": "A"})) == 1
    assert ok(empty.get(f"users/{uid}"))["data_last_modified"] == inserted
    assert ok(empty.post("products", json={"internal_id": "DLM-1", "price": 5})) == pid
    assert ok(empty.get(f"products/{pid}"))["data_last_modified"] == p_inserted
    # a value changes: the stamp moves forward
    assert ok(empty.put(f"users/{uid}", json={"first_name": "B"})) == 1
    changed = ok(empty.get(f"users/{uid}"))["data_last_modified"]
    assert changed > inserted
    assert ok(empty.put(f"products/{pid}", json={"price": 6})) == 1
    assert ok(empty.get(f"products/{pid}"))["data_last_modified"] > p_inserted
    # the stamp is searchable as an indexed range
    recent = ok(empty.get(f"users/where/data_last_modified>{inserted}/column/user_id"))
    assert uid in recent


def test_empty_values_are_ignored_on_write(empty: httpx.Client) -> None:
    uid = ok(empty.post("users", json={"email": "blank@example.com", "first_name": "Kim"}))
    ok(empty.put(f"users/{uid}", json={"first_name": "", "last_name": "Park"}))
    row = ok(empty.get(f"users/{uid}"))
    assert (row["first_name"], row["last_name"]) == ("Kim", "Park")
    assert ok(empty.post("users", json={"email": "blank@example.com", "first_name": ""})) == uid
    assert ok(empty.get(f"users/{uid}"))["first_name"] == "Kim"
