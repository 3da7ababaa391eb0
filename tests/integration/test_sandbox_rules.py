"""The sandbox's rules beyond the seed examples (api §2-§6, §9), over real HTTP.

Each test reads its data back through the API. Reads that need many rows use the demo dataset
(2,000 users, 400 products at scale 1); tests that need exact result sets use an empty sandbox
where they own every row of the object they query.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox

pytestmark = pytest.mark.integration

WHOLE_TABLE = "Cannot do this operation on whole table"


def _client(sb: RunningSandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.base_url + "/", auth=("api", sb.api_key), timeout=30)


@pytest.fixture(scope="module")
def demo() -> Iterator[httpx.Client]:
    with running_sandbox("demo", seed=3) as sb, _client(sb) as c:
        yield c


@pytest.fixture(scope="module")
def empty_sb() -> Iterator[RunningSandbox]:
    with running_sandbox("empty") as sb:
        yield sb


@pytest.fixture(scope="module")
def empty(empty_sb: RunningSandbox) -> Iterator[httpx.Client]:
    with _client(empty_sb) as c:
        yield c


@pytest.fixture(scope="module")
def observed() -> Iterator[httpx.Client]:
    with (
        running_sandbox("empty", extra_args=["--behaviour", "observed"]) as sb,
        _client(sb) as c,
    ):
        yield c


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json() if response.content else None


def refused(response: httpx.Response, text: str | None = None) -> str:
    assert response.status_code == 400, (response.status_code, response.text)
    if text is not None:
        assert response.text == text
    return response.text


def enc(value: str) -> str:
    """encodeURIComponent."""
    return quote(value, safe="-_.!~*'()")


def enc_comma(value: str) -> str:
    """encodeURIComponent with commas double-encoded (%252C), as the Android SDK sends them."""
    return enc(value.replace(",", "%2C"))


def ids(rows: Any, key: str = "user_id") -> list[int]:
    assert isinstance(rows, list)
    return [r[key] for r in rows]


# ---- row caps and limits (api §4.7, §9 C5, U3) -----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "users/where/user_id>0",  # range operator on an indexed column
        "users/where/user_id>=1&email!=nobody@example.com",  # '!='
        "products/where/id!=1",  # '!=' on the primary key
        "products/where/id!:1,2,3",  # '!:'
        "products/where/category=garden|category=tools|category=toys|category=kitchen"
        "|category=outdoor|category=office|category=home|category=sports",  # non-indexed
    ],
)
def test_slow_queries_are_capped_at_50_rows(demo: httpx.Client, path: str) -> None:
    assert len(ok(demo.get(path))) == 50  # the default row count of a slow query
    assert len(ok(demo.get(path + "/limit/50"))) == 50
    assert len(ok(demo.get(path + "/limit/0,50"))) == 50
    r = demo.get(path + "/limit/51")
    assert (r.status_code, r.content) == (400, b"")  # a bare 400
    r = demo.get(path + "/limit/10,51")
    assert (r.status_code, r.content) == (400, b"")
    assert len(ok(demo.get(path + "/limit/10,50"))) == 50  # the cap counts rows, not offset


def test_fast_queries_default_to_1000_rows_and_in_lists_are_not_slow(demo: httpx.Client) -> None:
    rows = ok(demo.get("users/order_by/user_id"))
    assert ids(rows) == list(range(1, 1001))  # 2,000 users, at most 1000 by default
    products = ok(demo.get("products/order_by/id/column/id"))
    assert products == list(range(1, 401))  # all 400 products: fewer than 1000
    wanted = list(range(1, 121))
    rows = ok(demo.get("products/where/id:" + ",".join(map(str, wanted)) + "/limit/120"))
    assert sorted(ids(rows, "id")) == wanted  # ':' on an index is not a slow query


def test_offset_plus_limit_is_capped_at_1000(demo: httpx.Client) -> None:
    assert ids(ok(demo.get("users/order_by/user_id/limit/990,10"))) == list(range(991, 1001))
    assert len(ok(demo.get("users/order_by/user_id/limit/1000"))) == 1000
    assert len(ok(demo.get("users/order_by/user_id/limit/0,1000"))) == 1000
    for path in (
        "users/order_by/user_id/limit/991,10",
        "users/order_by/user_id/limit/1001",
        "users/order_by/user_id/limit/1000,1",
    ):
        r = demo.get(path)
        assert (r.status_code, r.content) == (400, b""), path


def test_limit_forms_give_the_right_slices(demo: httpx.Client) -> None:
    assert ids(ok(demo.get("users/order_by/user_id/limit/5"))) == [1, 2, 3, 4, 5]
    assert ids(ok(demo.get("users/order_by/user_id/limit/7,3"))) == [8, 9, 10]
    assert ok(demo.get("users/order_by/user_id/limit/0")) == []
    # keyset paging under the slow cap
    page = ok(demo.get("users/where/user_id>100/order_by/user_id/limit/20,50"))
    assert ids(page) == list(range(121, 171))
    desc = ok(demo.get("users/order_by_desc/user_id/limit/2,3"))
    assert ids(desc) == [1998, 1997, 1996]


# ---- ordering and modifiers (api §4.1, §4.6, U4) ---------------------------------------------


def _seed_grammar_products(client: httpx.Client) -> dict[str, int]:
    rows = [
        ("g1", "a", 1, "x"),
        ("g2", "a", 2, "y"),
        ("g3", "b", 3, "x"),
        ("g4", "b", 4, "y"),
        ("g5", "c", 5, "x"),
        ("g6", "a", 1, "z"),
    ]
    out = {}
    for key, category, price, brand in rows:
        out[key] = ok(
            client.post(
                "products",
                json={"internal_id": key, "category": category, "price": price, "brand": brand},
            )
        )
    return out


@pytest.fixture(scope="module")
def grammar(empty: httpx.Client) -> dict[str, int]:
    return _seed_grammar_products(empty)


def _keys(client: httpx.Client, where: str) -> list[str]:
    return sorted(ok(client.get(f"products/where/{where}/column/internal_id")))


def test_multi_column_order_by(empty: httpx.Client, grammar: dict[str, int]) -> None:
    asc = ok(empty.get("products/order_by/category,price,brand/columns/internal_id"))
    assert [r["internal_id"] for r in asc] == ["g1", "g6", "g2", "g3", "g4", "g5"]
    desc = ok(empty.get("products/order_by_desc/category,price,brand/column/internal_id"))
    assert desc == ["g5", "g4", "g3", "g2", "g6", "g1"]
    by_brand = ok(empty.get("products/order_by/brand,price/column/internal_id"))
    assert by_brand == ["g1", "g3", "g5", "g2", "g4", "g6"]


def test_order_by_and_order_by_desc_together_are_refused(demo: httpx.Client) -> None:
    refused(demo.get("users/order_by/user_id/order_by_desc/email/limit/5"))
    refused(demo.get("products/order_by_desc/id/order_by/title"))


def test_modifiers_in_any_order(demo: httpx.Client) -> None:
    canonical = ok(
        demo.get("users/where/user_id>10/columns/user_id,email/order_by/user_id/limit/2,5")
    )
    assert ids(canonical) == [13, 14, 15, 16, 17]
    for path in (
        "users/limit/2,5/order_by/user_id/columns/user_id,email/where/user_id>10",
        "users/columns/user_id,email/limit/2,5/where/user_id>10/order_by/user_id",
        "users/order_by/user_id/where/user_id>10/limit/2,5/columns/user_id,email",
    ):
        assert ok(demo.get(path)) == canonical, path


@pytest.mark.parametrize(
    "path",
    [
        "users/where/user_id=1/where/user_id=2",
        "users/order_by/user_id/limit/1/limit/2",
        "users/order_by/user_id/order_by/email",
        "users/where/user_id=1/columns/email/columns/user_id",
    ],
)
def test_repeated_modifier_is_refused(demo: httpx.Client, path: str) -> None:
    text = refused(demo.get(path))
    assert text  # not a bare 400: it says what is wrong


def test_unknown_names_are_refused_with_a_text_naming_them(demo: httpx.Client) -> None:
    assert "no_such_object" in refused(demo.get("no_such_object"))
    assert "no_such_object" in refused(demo.post("no_such_object", json={"a": 1}))
    assert "nonexistent_col" in refused(demo.get("users/where/nonexistent_col=1"))
    assert "nonexistent_col" in refused(
        demo.get("users/where/user_id=1/columns/user_id,nonexistent_col")
    )
    assert "nonexistent_col" in refused(demo.get("users/where/user_id=1/column/nonexistent_col"))
    assert "nonexistent_col" in refused(demo.get("users/order_by/nonexistent_col"))
    assert "frobnicate" in refused(demo.get("users/where/user_id=1/frobnicate/3"))


# ---- where grammar (api §4.3) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "where,expected",
    [
        ("price=3", ["g3"]),
        ("category!=a", ["g3", "g4", "g5"]),
        ("price>3", ["g4", "g5"]),
        ("price>=3", ["g3", "g4", "g5"]),
        ("price<2", ["g1", "g6"]),
        ("price<=2", ["g1", "g2", "g6"]),
        ("internal_id:g1,g5,nope", ["g1", "g5"]),
        ("category!:a,b", ["g5"]),
        ("category=b&price>3", ["g4"]),
        # AND binds tighter than OR: c OR (a AND y) — not (c OR a) AND y
        ("category=c|category=a&brand=y", ["g2", "g5"]),
        ("category=a&brand=y|category=c", ["g2", "g5"]),
        ("brand=z|category=b&brand=x|price=5", ["g3", "g5", "g6"]),
        ("internal_id!:g1,g2&category:a,b", ["g3", "g4", "g6"]),
        ("price%3E=4", ["g4", "g5"]),  # '>' percent-encoded, as httpx and browsers send it
    ],
)
def test_where_operators_and_precedence(
    empty: httpx.Client, grammar: dict[str, int], where: str, expected: list[str]
) -> None:
    assert _keys(empty, where) == expected


# ---- percent-decoding (api §4.4, §9 C6) ------------------------------------------------------

SPECIAL_VALUES = [
    "Tom & Jerry",
    "this|that",
    "AC/DC",
    "1,2",
    "100% cotton",
    "k=v",
    "two  spaced words",
    "naïve café ☃ 日本語",
    "a&internal_id=enc-0",
    "x:y,z",
    "<b>bold?</b> #1 +plus",
]


@pytest.fixture(scope="module")
def encoded_articles(empty: httpx.Client) -> dict[str, int]:
    out = {}
    for n, value in enumerate(SPECIAL_VALUES, start=1):
        out[value] = ok(empty.post("articles", json={"internal_id": f"enc-{n}", "title": value}))
    ok(empty.post("articles", json={"internal_id": "enc-0", "title": "decoy"}))
    return out


@pytest.mark.parametrize("value", SPECIAL_VALUES)
def test_encoded_values_match_exactly(
    empty: httpx.Client, encoded_articles: dict[str, int], value: str
) -> None:
    for encoded in {enc(value), enc_comma(value)}:
        rows = ok(empty.get(f"articles/where/title={encoded}/columns/id,title"))
        assert rows == [{"id": encoded_articles[value], "title": value}], encoded
        # the value does not add conditions: the same single row with a second condition
        rows = ok(empty.get(f"articles/where/title={encoded}&internal_id!=zzz/column/id"))
        assert rows == [encoded_articles[value]]
    assert ok(empty.get(f"articles/{encoded_articles[value]}/columns/title")) == {"title": value}


def test_encoded_values_in_lists(empty: httpx.Client, encoded_articles: dict[str, int]) -> None:
    picked = ["1,2", "x:y,z", "Tom & Jerry", "this|that"]
    rows = ok(empty.get("articles/where/title:" + ",".join(enc_comma(v) for v in picked)))
    assert sorted(r["title"] for r in rows) == sorted(picked)
    # lists split on raw commas before decoding (api §9 C6): a single-encoded comma is data
    one = ok(empty.get("articles/where/title:" + enc("1,2") + "/column/id"))
    assert one == [encoded_articles["1,2"]]
    # a raw comma separates values
    two = ok(empty.get("articles/where/title:1,2," + enc("AC/DC") + "/column/id"))
    assert two == [encoded_articles["AC/DC"]]
    rows = ok(empty.get("articles/where/title!:" + ",".join(enc_comma(v) for v in picked)))
    titles = {r["title"] for r in rows}
    assert titles == (set(SPECIAL_VALUES) | {"decoy"}) - set(picked)


# ---- shapes of GET answers (api §2.1, §4.2, §4.5) --------------------------------------------


def test_answer_shapes(demo: httpx.Client) -> None:
    one = ok(demo.get("users/7"))
    assert isinstance(one, dict) and one["user_id"] == 7 and "email" in one
    assert ok(demo.get("products/3"))["id"] == 3
    assert ok(demo.get("users/7/columns/user_id,email")) == {
        "user_id": 7,
        "email": one["email"],
    }
    refused(demo.get("users/99999999"), "Row not found")
    refused(demo.get("products/99999999"), "Row not found")
    flat = ok(demo.get("users/where/user_id:3,4,5/order_by/user_id/column/email"))
    assert isinstance(flat, list) and all(isinstance(e, str) for e in flat) and len(flat) == 3
    assert flat[0] == ok(demo.get("users/3"))["email"]
    rows = ok(demo.get("users/where/user_id:3,4/columns/email,user_id/order_by/user_id"))
    assert rows == [{"email": flat[0], "user_id": 3}, {"email": flat[1], "user_id": 4}]


def test_users_camel_case_alias(demo: httpx.Client) -> None:
    first = ok(demo.get("users/where/user_id:1,2/order_by/user_id/column/first_name"))
    assert ok(demo.get("users/where/user_id:1,2/order_by/user_id/column/firstName")) == first
    rows = ok(demo.get("users/where/user_id=1/columns/user_id,firstName,lastName"))
    assert len(rows) == 1 and first[0] in rows[0].values()
    full = ok(demo.get("users/1"))
    assert "first_name" in full and "firstName" not in full  # all columns: snake_case


def test_forms_data_keys_are_columns(demo: httpx.Client) -> None:
    rows = ok(demo.get("forms/where/action_id=5/limit/10"))
    assert rows and all("data" not in r for r in rows)
    keyed = [r for r in rows if r.get("email")]
    assert keyed
    projected = ok(demo.get("forms/where/action_id=5/columns/user_id,email,message/limit/10"))
    assert all(set(r) == {"user_id", "email", "message"} for r in projected)
    assert [r["email"] for r in projected] == [r.get("email") for r in rows]
    emails = ok(demo.get("forms/where/action_id=5/column/email/limit/10"))
    assert emails == [r.get("email") for r in rows]


# ---- scan rules (api §4.8, §5, U5) -----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "users",
        "users/limit/10",
        "users/where/first_name=Hiro",
        "users/order_by/first_name/limit/5",
        "users/where/email=a@example.com|first_name=Hiro",  # one OR branch has no index
        "users/where/user_id!=5",  # '!=' cannot use an index
        "events",
        "events/order_by/id/limit/5",
        "events/where/value=x",
        "forms/order_by/time/limit/5",
        "sessions_archive/where/city=Osaka",
        "sessions_archive/order_by/first_visit_id/limit/5",
        "user_interests/where/class=category",
        "user_interests/order_by/time/limit/5",
        "summary_actions",
        "summary_actions/order_by/day/limit/5",
        "summary_actions/where/action_id=1",
        "products_stats_week",
        "products_stats_all/where/overall_n_viewed>0",
        "products_interactions/where/amount>10",
    ],
)
def test_scans_are_refused(demo: httpx.Client, path: str) -> None:
    refused(demo.get(path), WHOLE_TABLE)


@pytest.mark.parametrize(
    "path",
    [
        "users/order_by/email/limit/5",
        "users/order_by_desc/data_last_modified/limit/0,1",
        "users/where/user_id=5",
        "events/where/container_id=1234/limit/5",
        "events/where/id>100/limit/5",
        "forms/where/time>1/limit/5",
        "sessions_archive/where/user_id=5/limit/5",
        "user_interests/where/time>1/limit/5",
        "summary_actions/where/day>1/limit/5",
        "summary_actions/where/day>1&action_id=1/limit/5",
        "products_stats_week/order_by_desc/n_viewed/limit/5",
        "products_stats_1day/where/internal_id=SKU-00001",
        "products_interactions/order_by/time/limit/5",
        "placeholders",
        "user_lists",
        "actions",
        "conditions",
        "containers_grab_variable",
    ],
)
def test_indexed_reads_are_served(demo: httpx.Client, path: str) -> None:
    rows = ok(demo.get(path))
    assert isinstance(rows, list) and rows, path


def test_put_and_delete_without_id_or_where_are_refused(demo: httpx.Client) -> None:
    before = ok(demo.get("placeholders"))
    for method, path, field in (
        ("PUT", "users", "first_name"),
        ("DELETE", "users", ""),
        ("PUT", "products", "title"),
        ("DELETE", "products", ""),
        ("PUT", "placeholders", "name"),
        ("PUT", "placeholders/order_by/id", "name"),
        ("DELETE", "placeholders/order_by/id", ""),
        ("DELETE", "user_lists/limit/5", ""),
    ):
        body = {field: "wiped"} if method == "PUT" else None
        refused(demo.request(method, path, json=body), WHOLE_TABLE)
    assert ok(demo.get("placeholders")) == before
    assert len(ok(demo.get("products/order_by/id/limit/400"))) == 400
    assert "wiped" not in ok(demo.get("products/order_by/id/column/title/limit/400"))


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


# ---- do (api §6) -----------------------------------------------------------------------------


def test_do_success_and_case_insensitive_names(empty: httpx.Client) -> None:
    ok(empty.post("products", json={"internal_id": "DO-SKU", "title": "Do item"}))
    ok(empty.post("articles", json={"internal_id": "DO-ART", "title": "Do article"}))
    r = empty.post(
        "do",
        json=[
            ["email", "do-case@example.com", "uSeR pRoFiLe", "first_name", "Case"],
            ["EMAIL", "do-case@example.com", "PRODUCT ADDED TO CART", "DO-SKU", "quantity", 3],
            ["email", "do-case@example.com", "article viewed", "DO-ART"],
        ],
    )
    assert (r.status_code, r.content) == (200, b"")
    user = ok(empty.get("users/where/email=do-case@example.com"))[0]
    assert user["first_name"] == "Case"
    rows = ok(empty.get(f"products_interactions/where/user_id={user['user_id']}"))
    assert [(r["product_internal_id"], r["status"], r["quantity"]) for r in rows] == [
        ("DO-SKU", "extra", 3)
    ]


def test_do_batch_aborts_at_first_error(empty: httpx.Client) -> None:
    r = empty.post(
        "do",
        json=[
            ["email", "abort@example.com", "User profile", "custom_t_1", "applied"],
            ["email", "abort@example.com", "Frobnicate the widget", "x"],
            ["email", "abort@example.com", "User profile", "custom_t_2", "skipped"],
            ["email", "abort-later@example.com", "User profile", "custom_t_1", "skipped"],
        ],
    )
    text = refused(r)
    assert "Frobnicate the widget" in text
    user = ok(empty.get("users/where/email=abort@example.com"))[0]
    assert (user["custom_t_1"], user["custom_t_2"]) == ("applied", None)
    assert ok(empty.get("users/where/email=abort-later@example.com")) == []


@pytest.mark.parametrize(
    "command,named",
    [
        (["email", "bad@example.com", "Teleport user", "x"], "Teleport user"),
        (["email", "bad@example.com", "Product viewed"], "Product viewed"),  # missing item
        (["email", "bad@example.com", "Product viewed", "BAD-SKU", "quantity", "lots"], "lots"),
        (["email", "bad@example.com", "Product viewed", "BAD-SKU", "colour", "red"], "colour"),
        (["email", "bad@example.com", "Product viewed", "BAD-SKU", "quantity"], "quantity"),
        (["email", "bad@example.com", "Product purchased", "NO-SUCH-SKU"], "NO-SUCH-SKU"),
        (["email", "bad@example.com", "Article liked", "NO-SUCH-ARTICLE"], "NO-SUCH-ARTICLE"),
        (["email", "bad@example.com", "Products Purchased"], "Products Purchased"),
        (["email", "bad@example.com", "Navigate", "/home"], "Navigate"),
    ],
)
def test_do_refuses_bad_commands(empty: httpx.Client, command: list[Any], named: str) -> None:
    ok(empty.post("products", json={"internal_id": "BAD-SKU", "title": "Bad item"}))
    text = refused(empty.post("do", json=[command]))
    assert named in text
    assert ok(empty.get("products_interactions/where/product_internal_id=BAD-SKU")) == []


def test_do_refuses_malformed_bodies(empty: httpx.Client) -> None:
    refused(empty.post("do", json={"email": "x"}))
    refused(empty.post("do", json=["not a command array"]))
    refused(empty.post("do", json=[[]]))
    refused(empty.post("do", content=b"[[not json"))


def test_do_accepts_tracker_commands_when_enabled() -> None:
    batch = [
        ["email", "bulk@example.com", "Product added to cart", "BULK-SKU"],
        ["email", "bulk@example.com", "Products Purchased"],
    ]
    with (
        running_sandbox("empty", extra_args=["--do-accepts-tracker-commands"]) as sb,
        _client(sb) as c,
    ):
        ok(c.post("products", json={"internal_id": "BULK-SKU", "title": "Bulk"}))
        r = c.post("do", json=batch)
        assert (r.status_code, r.content) == (200, b"")
        rows = ok(c.get("products_interactions/where/product_internal_id=BULK-SKU"))
        assert [r["status"] for r in rows] == ["goal"]


# ---- account, tracker code, auth, content types (api §1.3, §2.2, §5.18, §5.19) ---------------


def test_account_and_tracker_code(demo: httpx.Client) -> None:
    r = demo.get("account")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    account = r.json()
    assert isinstance(account, dict) and isinstance(account["account_id"], int)
    r = demo.get("tracker_code")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.startswith("<script>") and r.text.rstrip().endswith("</script>")
    assert f"_S_T.setup({account['account_id']}, " in r.text
    assert "lcounter.personyze.com/stat-track-lib.js" in r.text


def test_authentication(empty_sb: RunningSandbox) -> None:
    url = empty_sb.base_url + "/account"
    good = base64.b64encode(f"api:{empty_sb.api_key}".encode()).decode()
    wrong = base64.b64encode(b"api:0000000000000000000000000000000000000000").decode()
    assert httpx.get(url, headers={"Authorization": f"Basic {good}"}).status_code == 200
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer " + good},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic"},
    ):
        r = httpx.get(url, headers=headers)
        assert (r.status_code, r.text) == (401, "Please, log in"), headers
    r = httpx.get(url, headers={"Authorization": f"Basic {wrong}"})
    assert r.status_code == 401 and empty_sb.api_key not in r.text
    r = httpx.get(url, auth=("api", empty_sb.api_key.lower()))
    assert r.status_code == 401
    r = httpx.post(empty_sb.base_url + "/users", json={"email": "unauth@example.com"})
    assert r.status_code == 401
    with _client(empty_sb) as c:
        assert ok(c.get("users/where/email=unauth@example.com")) == []


def test_form_urlencoded_body_is_accepted(empty: httpx.Client) -> None:
    r = empty.post(
        "placeholders",
        content=b"name=Legacy+form&html_id=%23legacy&units_count_max=2",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    new_id = ok(r)
    row = ok(empty.get(f"placeholders/{new_id}"))
    assert (row["name"], row["html_id"], row["units_count_max"]) == ("Legacy form", "#legacy", 2)
    # JSON sent with the form content type (curl --data) is parsed as JSON
    r = empty.put(
        f"placeholders/{new_id}",
        content=b'{"name": "Curl data"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ok(r) == 1
    assert ok(empty.get(f"placeholders/{new_id}"))["name"] == "Curl data"


def test_out_of_range_numbers_are_refused_without_locking_the_database(
    empty: httpx.Client,
) -> None:
    huge = 10**30  # beyond SQLite's 64-bit integers
    before = ok(empty.get("placeholders"))
    refused(empty.post("placeholders", json={"name": "Huge", "units_count_max": huge}))
    refused(empty.get(f"users/{huge}"))
    assert ok(empty.get("placeholders")) == before
    batch = [["email", "overflow@example.com", "Product viewed", "BAD-SKU", "quantity", huge]]
    ok(empty.post("products", json={"internal_id": "BAD-SKU", "title": "Bad item"}))
    refused(empty.post("do", json=batch))
    started = time.monotonic()
    new_id = ok(empty.post("placeholders", json={"name": "After overflow"}))
    assert time.monotonic() - started < 5  # the failed batch left no write lock behind
    assert ok(empty.get(f"placeholders/{new_id}"))["name"] == "After overflow"
    assert ok(empty.get("users/where/email=overflow@example.com")) == []
