"""Bodies a strict server refuses with a plain-text 400 before it changes anything: NaN and
Infinity (Python's json accepts them), numbers beyond a double, lone UTF-16 surrogates, invalid
UTF-8, JSON nested deeper than the server parses, and form bodies that are not form fields. A
`do` batch holding such a value is not JSON, so none of its commands runs. tracker-v1 refuses the
same bodies as a 500 with the reason as text, its documented way of failing (api §7.6)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.sandbox_rules.answers import ok, refused

pytestmark = pytest.mark.integration

NOT_JSON = "The request body is not valid JSON: "
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _users(client: httpx.Client) -> Any:
    return ok(client.get("users/order_by/user_id"))


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"email": "nan@example.com", "custom_f_1": NaN}', NOT_JSON + "NaN is not a number"),
        (b'{"email": "inf@example.com", "custom_f_1": Infinity}', NOT_JSON + "Infinity is not a number"),  # noqa: E501
        (b'{"email": "ninf@example.com", "x": -Infinity}', NOT_JSON + "-Infinity is not a number"),
        (b'{"email": "big@example.com", "custom_f_1": 1e400}', NOT_JSON + "1e400 is out of range"),
        (b'{"email": "s@example.com", "first_name": "\\ud800x"}',
         "The request body holds a lone UTF-16 surrogate in '\\ud800x'"),
        (b'{"email": "k@example.com", "\\udfff": 1}',
         "The request body holds a lone UTF-16 surrogate in '\\udfff'"),
        (b'{"email": "u@example.com", "first_name": "\xff\xfe"}',
         "The request body is not valid UTF-8 (at byte offset 42)"),
        (b"[" * 100_000 + b"]" * 100_000, "The request body nests JSON deeper than 512 levels"),
        (b'{"email": "d@example.com", "deep": ' + b"[" * 600 + b"]" * 600 + b"}",
         "The request body nests JSON deeper than 512 levels"),
        (b'{"email": "junk@example.com"} junk', NOT_JSON + "Extra data at line 1 column 31"),
        (b"email=form%40example.com", NOT_JSON + "Expecting value at line 1 column 1"),
    ],
)  # fmt: skip
def test_bodies_a_strict_server_refuses(empty: httpx.Client, body: bytes, text: str) -> None:
    before = _users(empty)
    assert refused(empty.post("users", content=body, headers=JSON)) == text
    assert _users(empty) == before
    with_id = ok(empty.post("users", json={"email": "strict-put@example.com", "first_name": "A"}))
    assert refused(empty.put(f"users/{with_id}", content=body, headers=JSON)) == text
    assert ok(empty.get(f"users/{with_id}"))["first_name"] == "A"


def test_the_largest_double_and_512_levels_are_accepted(empty: httpx.Client) -> None:
    deep: Any = "bottom"
    for _ in range(510):  # the object around it is level 1, the list holding "bottom" is 511
        deep = [deep]
    body = {"internal_id": "DEEP-1", "deep_value": deep, "huge_price": 1.7976931348623157e308}
    pid = ok(empty.post("products", json=body))
    row = ok(empty.get(f"products/{pid}"))
    assert row["huge_price"] == 1.7976931348623157e308
    assert isinstance(row["deep_value"], str) and row["deep_value"].startswith("[[[")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"email=form%FF%40example.com", "The form body is not valid UTF-8"),
        (b"email=a%40example.com&oops", "The form body is not valid: bad query field: 'oops'"),
        (b'[["not" "form"]]', NOT_JSON + "Expecting ',' delimiter at line 1 column 9"),
    ],
)
def test_form_bodies_are_form_fields_or_refused(
    empty: httpx.Client, body: bytes, text: str
) -> None:
    before = _users(empty)
    assert refused(empty.post("users", content=body, headers=FORM)) == text
    assert _users(empty) == before


def test_a_do_batch_with_nan_runs_none_of_its_commands(empty: httpx.Client) -> None:
    ok(empty.post("products", json={"internal_id": "NAN-SKU", "title": "NaN item"}))
    body = (
        b'[["email", "do-nan@example.com", "User profile", "first_name", "Applied?"],'
        b' ["email", "do-nan@example.com", "Product purchased", "NAN-SKU", "amount", NaN]]'
    )
    assert refused(empty.post("do", content=body)) == NOT_JSON + "NaN is not a number"
    assert ok(empty.get("users/where/email=do-nan@example.com")) == []
    assert ok(empty.get("products_interactions/where/product_internal_id=NAN-SKU")) == []


def test_tracker_refuses_the_same_bodies_as_a_500_and_applies_nothing(
    empty: httpx.Client,
) -> None:
    ok(empty.post("products", json={"internal_id": "TRK-NAN", "title": "Tracker NaN"}))
    body = b'{"user_id": 7100, "commands": [["Product Purchased", "TRK-NAN", "amount", NaN]]}'
    answer = empty.post("tracker-v1", content=body)
    assert (answer.status_code, answer.text) == (500, NOT_JSON + "NaN is not a number")
    body = b'{"user_id": 7101, "commands": [["Product Viewed", "TRK-NAN\xff"]]}'
    answer = empty.post("tracker-v1", content=body)
    assert (answer.status_code, answer.text) == (
        500,
        "The request body is not valid UTF-8 (at byte offset 58)",
    )
    assert ok(empty.get("users/where/user_id:7100,7101")) == []
    assert ok(empty.get("products_interactions/where/product_internal_id=TRK-NAN")) == []
