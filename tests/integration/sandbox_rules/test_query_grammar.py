"""The path grammar as the sandbox serves it: ordering, modifiers, where operators and precedence,
percent-decoding and the shapes of GET answers (api §2.1, §4.1-§4.6, §9 C6, U4)."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.sandbox_rules.answers import (
    enc,
    enc_comma,
    ids,
    ok,
    refused,
)

pytestmark = pytest.mark.integration


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
