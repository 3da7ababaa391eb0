"""Every curl example of seeds/000 (the Objects Reference) replayed against a fresh sandbox.

Literal ids in the examples (17, 88, 153, 5712334, ...) stand for rows the example's reader has;
here the test creates those rows through the API first and uses the ids the sandbox gave them.
Examples that ask a range or non-indexed query for more than 50 rows are refused with a bare 400
under the row caps (api §4.7, §9 C5); they are replayed with `--no-row-caps`, as the wiki
assumes, and asserted refused with the caps on.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox

pytestmark = pytest.mark.integration


def _client(sb: RunningSandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.base_url + "/", auth=("api", sb.api_key), timeout=30)


@pytest.fixture(scope="module")
def capped() -> Iterator[httpx.Client]:
    with running_sandbox("demo", seed=3) as sb, _client(sb) as c:
        yield c


@pytest.fixture(scope="module")
def uncapped() -> Iterator[httpx.Client]:
    with running_sandbox("demo", seed=3, extra_args=["--no-row-caps"]) as sb, _client(sb) as c:
        yield c


def ok(response: httpx.Response) -> object:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json() if response.content else None


def test_users_examples(capped: httpx.Client) -> None:
    # Create → new user_id
    new_id = ok(
        capped.post(
            "users",
            json={
                "internal_id": "acct-987",
                "email": "alice@example.com",
                "first_name": "Alice",
                "custom_field_x": "vip",
            },
        )
    )
    assert isinstance(new_id, int) and new_id > 0
    # Lookup by your external id
    rows = ok(capped.get("users/where/internal_id=acct-987"))
    assert isinstance(rows, list) and [r["user_id"] for r in rows] == [new_id]
    assert rows[0]["custom_field_x"] == "vip"  # column names are dynamic
    # Update → 1 (rows affected)
    assert ok(capped.put("users/where/internal_id=acct-987", json={"first_name": "Alicia"})) == 1
    assert ok(capped.get(f"users/{new_id}"))["first_name"] == "Alicia"
    # a numeric external id, as in the example `where/internal_id=42`
    forty_two = ok(capped.post("users", json={"internal_id": 42, "email": "x42@example.com"}))
    rows = ok(capped.get("users/where/internal_id=42"))
    assert [r["user_id"] for r in rows] == [forty_two]


def test_users_recent_visitors(capped: httpx.Client, uncapped: httpx.Client) -> None:
    path = (
        "users/where/last_session_time>1730000000/columns/user_id,internal_id,email,"
        "first_name,last_session_time/order_by_desc/last_session_time/limit/1000"
    )
    refused = capped.get(path)
    assert (refused.status_code, refused.text) == (400, "")
    rows = ok(uncapped.get(path))
    assert isinstance(rows, list) and len(rows) == 1000
    assert set(rows[0]) == {"user_id", "internal_id", "email", "first_name", "last_session_time"}
    times = [r["last_session_time"] for r in rows]
    assert times == sorted(times, reverse=True) and min(times) > 1730000000


def test_users_need_index(capped: httpx.Client) -> None:
    r = capped.get("users")
    assert (r.status_code, r.text) == (400, "Cannot do this operation on whole table")
    r = capped.get("users/where/first_name=Alice")
    assert (r.status_code, r.text) == (400, "Cannot do this operation on whole table")
    assert len(ok(capped.get("users/order_by/user_id/limit/0,10"))) == 10


def test_user_lists_examples(capped: httpx.Client) -> None:
    lists = ok(capped.get("user_lists"))
    assert isinstance(lists, list) and {"id", "name"} <= set(lists[0])
    list_id = ok(capped.post("user_lists", json={"name": "VIPs"}))
    assert isinstance(list_id, int)
    assert ok(capped.put(f"user_lists/{list_id}", json={"name": "VIP customers"})) == 1
    assert ok(capped.get(f"user_lists/{list_id}")) == {"id": list_id, "name": "VIP customers"}
    user = ok(capped.post("users", json={"email": "member@example.com"}))
    ok(capped.post("user_list_users", json={"user_list_id": list_id, "user_id": user}))
    # Delete → 1, and the list's memberships go with it
    assert ok(capped.delete(f"user_lists/{list_id}")) == 1
    assert ok(capped.get(f"user_list_users/where/user_list_id={list_id}/limit/1000")) == []


def test_user_list_users_examples(capped: httpx.Client) -> None:
    list_id = ok(capped.post("user_lists", json={"name": "Members"}))
    user = ok(capped.post("users", json={"email": "bob@example.com", "internal_id": "acct-1"}))
    # Add by user_id
    ok(capped.post("user_list_users", json={"user_list_id": list_id, "user_id": user}))
    # Add by external id: creates a stub user when none has it
    ok(
        capped.post(
            "user_list_users", json={"user_list_id": list_id, "user_internal_id": "acct-new-1"}
        )
    )
    stub = ok(capped.get("users/where/internal_id=acct-new-1"))
    assert isinstance(stub, list) and len(stub) == 1
    # Add by email (an existing profile)
    carol = ok(capped.post("users", json={"email": "carol@example.com"}))
    ok(
        capped.post(
            "user_list_users", json={"user_list_id": list_id, "user_email": "carol@example.com"}
        )
    )
    members = ok(capped.get(f"user_list_users/where/user_list_id={list_id}/limit/1000"))
    assert isinstance(members, list)
    assert sorted(m["user_id"] for m in members) == sorted([user, stub[0]["user_id"], carol])
    # Remove
    assert ok(capped.delete(f"user_list_users/where/user_list_id={list_id}&user_id={user}")) == 1
    left = ok(capped.get(f"user_list_users/where/user_list_id={list_id}/limit/1000"))
    assert user not in [m["user_id"] for m in left]


def test_actions_and_conditions_are_read_only(capped: httpx.Client) -> None:
    rows = ok(
        capped.get("actions/where/version_tag=production/columns/id,name,type_id,placeholders")
    )
    assert isinstance(rows, list) and rows
    assert all(set(r) == {"id", "name", "type_id", "placeholders"} for r in rows)
    assert all(isinstance(r["placeholders"], list) for r in rows)
    one = ok(
        capped.get(
            "actions/where/id=1/columns/id,name,content_type,content_param,"
            "content_begin,content_end"
        )
    )
    assert [r["id"] for r in one] == [1]
    assert len(ok(capped.get("conditions/limit/1000"))) > 0
    for method in ("POST", "PUT", "DELETE"):
        for obj in ("actions/1", "conditions/1"):
            r = capped.request(method, obj, json={"name": "x"} if method != "DELETE" else None)
            assert r.status_code == 400, (method, obj)
    assert ok(capped.get("actions/1"))["name"]


def test_placeholders_examples(capped: httpx.Client) -> None:
    assert len(ok(capped.get("placeholders"))) >= 1
    one = ok(capped.get("placeholders/1"))
    assert isinstance(one, dict) and one["id"] == 1  # a single object, not an array
    new_id = ok(
        capped.post(
            "placeholders", json={"name": "Hero banner", "html_id": "#hero", "units_count_max": 1}
        )
    )
    assert ok(capped.put(f"placeholders/{new_id}", json={"units_count_max": 3})) == 1
    assert ok(capped.get(f"placeholders/{new_id}"))["units_count_max"] == 3
    assert ok(capped.delete(f"placeholders/{new_id}")) == 1
    r = capped.get(f"placeholders/{new_id}")
    assert (r.status_code, r.text) == (400, "Row not found")
    assert [p["name"] for p in ok(capped.get("placeholders/where/name=Fake"))] == ["Fake"]
    defaulted = ok(capped.post("placeholders", json={"name": "Default units"}))
    assert ok(capped.get(f"placeholders/{defaulted}"))["units_count_max"] == 1


def test_containers_grab_variable_examples(capped: httpx.Client) -> None:
    assert ok(capped.get("containers_grab_variable"))
    new_id = ok(
        capped.post(
            "containers_grab_variable",
            json={
                "name": "Cart total",
                "variable_path": "window.dataLayer[0].cart.total",
                "mask": "^([0-9.]+)$",
                "watch_variable": 1,
            },
        )
    )
    assert ok(capped.put(f"containers_grab_variable/{new_id}", json={"is_active": 0})) == 1
    row = ok(capped.get(f"containers_grab_variable/{new_id}"))
    assert row["is_active"] == 0 and row["mask"] == "^([0-9.]+)$"
    assert ok(capped.delete(f"containers_grab_variable/{new_id}")) == 1


@pytest.mark.parametrize("obj,flag", [("products", "is_in_stock"), ("articles", "is_published")])
def test_catalog_examples(capped: httpx.Client, obj: str, flag: str) -> None:
    key = f"{obj}-SKU-1234"
    new_id = ok(
        capped.post(
            obj,
            json={
                "internal_id": key,
                "title": "Cordless Drill",
                "price": 129.99,
                flag: "yes",
                "image_1": "https://cdn.example.com/big.jpg",
            },
        )
    )
    rows = ok(capped.get(f"{obj}/where/internal_id={key}"))
    assert isinstance(rows, list) and len(rows) == 1 and rows[0]["id"] == new_id
    assert rows[0]["image_big_url"] == "https://cdn.example.com/big.jpg"  # image_1 renamed
    assert "image_1" not in rows[0]
    before = rows[0]["data_last_modified"]
    # POST with an existing internal_id patches the row instead of failing
    again = ok(capped.post(obj, json={"internal_id": key, "title": "Cordless Drill 2"}))
    assert again == new_id
    rows = ok(capped.get(f"{obj}/where/internal_id={key}"))
    assert rows[0]["title"] == "Cordless Drill 2" and rows[0]["price"] == 129.99
    assert rows[0]["data_last_modified"] >= before
    assert ok(capped.put(f"{obj}/where/internal_id={key}", json={flag: "no"})) == 1
    bad = capped.put(f"{obj}/where/internal_id={key}", json={flag: 0})
    assert bad.status_code == 400 and flag in bad.text  # yes/no enums, not 1/0
    assert ok(capped.delete(f"{obj}/where/internal_id={key}")) == 1
    assert ok(capped.get(f"{obj}/where/internal_id={key}")) == []


def test_catalog_listing_examples(capped: httpx.Client, uncapped: httpx.Client) -> None:
    products = (
        "products/where/category=tools&is_in_stock=yes/columns/id,internal_id,title,"
        "price,inventory/order_by/title/limit/100"
    )
    articles = (
        "articles/where/is_published=yes/columns/id,internal_id,title,author,"
        "publish_date/order_by_desc/publish_date/limit/100"
    )
    for path in (products, articles):
        assert (capped.get(path).status_code, capped.get(path).text) == (400, "")
        rows = ok(uncapped.get(path))
        assert isinstance(rows, list) and 0 < len(rows) <= 100
    rows = ok(uncapped.get(products))
    titles = [r["title"] for r in rows]
    assert titles == sorted(titles)
    assert len(ok(capped.get(products.replace("limit/100", "limit/50")))) > 0


def test_products_interactions_examples(capped: httpx.Client, uncapped: httpx.Client) -> None:
    window = "products_interactions/where/status=goal&time>1730000000/order_by_desc/time/limit/1000"
    assert capped.get(window).status_code == 400
    rows = ok(uncapped.get(window))
    assert rows and all(r["status"] == "goal" for r in rows)
    sku = "SKU-00042"
    history = ok(
        capped.get(
            f"products_interactions/where/product_internal_id={sku}"
            "/columns/user_id,status,quantity,amount,transaction_time"
        )
    )
    assert isinstance(history, list)
    assert all(
        set(h) == {"user_id", "status", "quantity", "amount", "transaction_time"} for h in history
    )
    ok(capped.post("products", json={"internal_id": "SKU-1234", "title": "Drill"}))
    ok(
        capped.post(
            "products_interactions",
            json={
                "user_internal_id": "acct-987-pi",
                "product_internal_id": "SKU-1234",
                "quantity": 2,
                "status": "goal",
                "transaction_time": 1734000000,
                "amount": 259.98,
            },
        )
    )
    user = ok(capped.get("users/where/internal_id=acct-987-pi"))[0]["user_id"]
    logged = ok(capped.get("products_interactions/where/product_internal_id=SKU-1234"))
    assert [(r["user_id"], r["quantity"], r["amount"], r["status"]) for r in logged] == [
        (user, 2, 259.98, "goal")
    ]
    ok(
        capped.post(
            "products_interactions",
            json={"user_id": user, "status": "viewed", "product_internal_id": "SKU-1234"},
        )
    )
    deleted = capped.delete(
        f"products_interactions/where/user_id={user}&product_internal_id=SKU-1234&status=viewed"
    )
    assert ok(deleted) == 1
    assert capped.get("products_interactions").text == "Cannot do this operation on whole table"


def test_events_examples(capped: httpx.Client, uncapped: httpx.Client) -> None:
    rows = ok(capped.get("events/where/user_id=5/order_by_desc/time/limit/100"))
    assert isinstance(rows, list) and all(r["user_id"] == 5 for r in rows)
    window = (
        "events/where/container_id=1234&time>1764000000&time<1766000000/columns/id,"
        "user_id,time,value/order_by_desc/time/limit/1000"
    )
    assert capped.get(window).status_code == 400
    rows = ok(uncapped.get(window))
    assert rows and all(1764000000 < r["time"] < 1766000000 for r in rows)
    assert capped.get("events/order_by/time").text == "Cannot do this operation on whole table"


def test_forms_examples(capped: httpx.Client, uncapped: httpx.Client) -> None:
    rows = ok(capped.get("forms/where/user_id=5/order_by_desc/time/limit/100"))
    assert isinstance(rows, list)
    some = ok(capped.get("forms/where/action_id=5/limit/10"))
    assert some and "email" in some[0] and "data" not in some[0]
    path = (
        "forms/where/action_id=5&time>1730000000/columns/user_id,time,email,name,message/limit/1000"
    )
    assert capped.get(path).status_code == 400
    rows = ok(uncapped.get(path))
    assert rows and set(rows[0]) == {"user_id", "time", "email", "name", "message"}


def test_do_examples(capped: httpx.Client) -> None:
    r = capped.post(
        "do",
        json=[
            [
                "internal_id",
                "acct-987-do",
                "User profile",
                "custom_t_1",
                "VIP",
                "first_name",
                "Alice",
            ]
        ],
    )
    assert (r.status_code, r.text) == (200, "")
    user = ok(capped.get("users/where/internal_id=acct-987-do"))[0]
    assert (user["custom_t_1"], user["first_name"]) == ("VIP", "Alice")
    ok(capped.post("products", json={"internal_id": "SKU-1234-do", "title": "Drill"}))
    r = capped.post(
        "do",
        json=[
            [
                "email",
                "alice.do@example.com",
                "Product purchased",
                "SKU-1234-do",
                "quantity",
                2,
                "amount",
                259.98,
            ],
            ["email", "alice.do@example.com", "User profile", "customer_segment", "loyal"],
        ],
    )
    assert (r.status_code, r.text) == (200, "")
    alice = ok(capped.get("users/where/email=alice.do@example.com"))[0]
    assert alice["customer_segment"] == "loyal"
    rows = ok(capped.get("products_interactions/where/product_internal_id=SKU-1234-do"))
    assert [(r["user_id"], r["status"], r["quantity"], r["amount"]) for r in rows] == [
        (alice["user_id"], "goal", 2, 259.98)
    ]


def test_sessions_archive_examples(capped: httpx.Client) -> None:
    rows = ok(
        capped.get(
            "sessions_archive/where/user_id=5/columns/first_visit_id,"
            "session_start_time,total_visits,country_code,city"
            "/order_by_desc/session_start_time/limit/100"
        )
    )
    assert isinstance(rows, list)
    starts = [r["session_start_time"] for r in rows]
    assert starts == sorted(starts, reverse=True)
    one = ok(
        capped.get(
            "sessions_archive/where/first_visit_id=900000000123/columns/user_id,"
            "session_start_time,total_visits,total_goal_value"
        )
    )
    assert isinstance(one, list) and len(one) == 1
    assert set(one[0]) == {"user_id", "session_start_time", "total_visits", "total_goal_value"}


def test_user_interests_examples(capped: httpx.Client) -> None:
    rows = ok(
        capped.get(
            "user_interests/where/user_id=5/columns/value,class,rank,n_times,time"
            "/order_by_desc/rank/limit/100"
        )
    )
    assert isinstance(rows, list) and rows
    ranks = [r["rank"] for r in rows]
    assert ranks == sorted(ranks, reverse=True)
    rows = ok(
        capped.get("user_interests/where/user_id=5&class=category/order_by_desc/time/limit/50")
    )
    assert all(r["class"] == "category" for r in rows)


def test_products_stats_examples(capped: httpx.Client) -> None:
    top = ok(
        capped.get(
            "products_stats_week/where/n_viewed>0/columns/internal_id,n_viewed,"
            "n_delivered,n_extra,n_goal,percentile_viewed/order_by_desc/n_viewed"
            "/limit/50"
        )
    )
    assert isinstance(top, list) and 0 < len(top) <= 50
    viewed = [r["n_viewed"] for r in top]
    assert viewed == sorted(viewed, reverse=True) and min(viewed) > 0
    sku = top[0]["internal_id"]
    assert len(ok(capped.get(f"products_stats_all/where/internal_id={sku}"))) == 1
    buyer_rows = ok(capped.get("products_stats_all/where/n_goal>0/limit/1"))
    buyer = buyer_rows[0]["last_goal_user_id_0"]
    rows = ok(
        capped.get(
            f"products_stats_recent/where/last_goal_user_id_0={buyer}"
            "/columns/internal_id,n_goal,last_goal_user_time_0"
        )
    )
    assert isinstance(rows, list)
    for name in ("1day", "2day", "4day", "week", "recent", "all"):
        r = capped.get(f"products_stats_{name}")
        assert (r.status_code, r.text) == (400, "Cannot do this operation on whole table")


def test_summary_actions_examples(capped: httpx.Client, uncapped: httpx.Client) -> None:
    last30 = (
        "summary_actions/where/day>1730000000/columns/day,action_name,n_executed,"
        "n_delivered,n_extra,products_goal_value/order_by_desc/day/limit/1000"
    )
    lifetime = "summary_actions/where/action_id=1&day>1700000000/order_by/day/limit/1000"
    for path in (last30, lifetime):
        assert capped.get(path).status_code == 400
    rows = ok(uncapped.get(last30))
    assert rows and set(rows[0]) == {
        "day",
        "action_name",
        "n_executed",
        "n_delivered",
        "n_extra",
        "products_goal_value",
    }
    rows = ok(uncapped.get(lifetime))
    assert rows and all(r["action_id"] == 1 for r in rows)
    assert rows[0]["goal_event_1_name"] == "Newsletter signup"
    # the strict day rule: order_by alone, or a where without day, is refused
    for path in ("summary_actions/order_by/day/limit/10", "summary_actions/where/action_id=1"):
        r = capped.get(path)
        assert (r.status_code, r.text) == (400, "Cannot do this operation on whole table")
    assert capped.get("summary_actions/where/day>1766000000/limit/50").status_code == 200


def test_tracker_code_example(capped: httpx.Client) -> None:
    r = capped.get("tracker_code")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.startswith("<script>") and "stat-track-lib.js" in r.text
    assert '_S_T.setup(5919, "example.com www.example.com");' in r.text


def test_auth_rules(capped: httpx.Client) -> None:
    base = str(capped.base_url)
    r = httpx.get(base + "users/1")
    assert (r.status_code, r.text) == (401, "Please, log in")
    r = httpx.get(base + "users/1", headers={"Authorization": "Bearer nope"})
    assert (r.status_code, r.text) == (401, "Please, log in")
    r = httpx.get(base + "users/1", auth=("api", "WRONGKEY1234"))
    assert r.status_code == 401
    assert ok(capped.get("account"))["account_id"] == 5919
