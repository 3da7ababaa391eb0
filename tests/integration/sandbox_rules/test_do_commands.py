"""`/rest/do` in the sandbox (api §6): success, case-insensitive names, abort at the first error,
refused commands and bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from personyze_sandbox.process import running_sandbox
from tests.integration.sandbox_rules.answers import (
    _client,
    ok,
    refused,
)

pytestmark = pytest.mark.integration


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
