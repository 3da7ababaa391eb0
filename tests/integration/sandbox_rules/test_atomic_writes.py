"""Every write request commits whole or not at all, and dynamic columns stop at the limit in
specs/connection.json (limits.dynamic_columns), refused before anything changes.

Column sets are read back as the keys of a full row (`GET <object>/<id>` answers every column)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.spec import default_specs
from tests.integration.sandbox_rules.answers import WHOLE_TABLE, ok, refused

pytestmark = pytest.mark.integration

SPECS = default_specs()
LIMIT = SPECS.connection.limits.dynamic_columns.max_per_object


def _dynamic(client: httpx.Client, obj: str, row_id: int) -> set[str]:
    documented = {c.name for c in SPECS.object(obj).columns}
    return set(ok(client.get(f"{obj}/{row_id}"))) - documented


def _limit_text(obj: str, have: int, adding: list[str]) -> str:
    shown = ", ".join(adding[:3]) + (", …" if len(adding) > 3 else "")
    return (
        f"{obj} may have at most {LIMIT} dynamic columns: it has {have} and this request adds "
        f"{len(adding)} ({shown}); send fewer new fields"
    )


def test_a_post_beyond_the_limit_adds_no_column_and_later_columns_still_work(
    empty: httpx.Client,
) -> None:
    uid = ok(empty.post("users", json={"email": "limit@example.com"}))
    before_row, before = ok(empty.get(f"users/{uid}")), _dynamic(empty, "users", uid)
    wide = {f"wide_{n}": n for n in range(5000)}
    text = refused(empty.post("users", json={"email": "wide@example.com", **wide}))
    assert text == _limit_text("users", len(before), list(wide))
    assert _dynamic(empty, "users", uid) == before
    assert ok(empty.get(f"users/{uid}")) == before_row
    assert ok(empty.get("users/where/email=wide@example.com")) == []
    # a later write with a new column works (the failed one used to break them all with a 500)
    ok(empty.put(f"users/{uid}", json={"loyalty_tier": "gold"}))
    assert ok(empty.get(f"users/{uid}/columns/loyalty_tier")) == {"loyalty_tier": "gold"}


def test_columns_up_to_the_limit_are_accepted_and_one_more_is_refused(
    empty: httpx.Client,
) -> None:
    pid = ok(empty.post("products", json={"internal_id": "LIMIT-1"}))
    have = _dynamic(empty, "products", pid)
    room = [f"attr_{n}" for n in range(LIMIT - len(have))]
    ok(empty.post("products", json={"internal_id": "LIMIT-1", **{n: 1 for n in room}}))
    full = _dynamic(empty, "products", pid)
    assert len(full) == LIMIT
    row = ok(empty.get(f"products/{pid}"))
    extra = {"internal_id": "LIMIT-2", "title": "One too many", "attr_extra": 1}
    assert refused(empty.post("products", json=extra)) == _limit_text(
        "products", LIMIT, ["attr_extra"]
    )
    assert ok(empty.get("products/where/internal_id=LIMIT-2")) == []
    assert ok(empty.get(f"products/{pid}")) == row
    # existing dynamic columns stay writable at the limit
    ok(empty.post("products", json={"internal_id": "LIMIT-2", "attr_0": 5}))
    assert ok(empty.get("products/where/internal_id=LIMIT-2/column/attr_0")) == [5]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("users", WHOLE_TABLE),
        ("users/where/no_such_col=1", "Unknown column no_such_col in where of users"),
    ],
)
def test_a_refused_put_adds_no_column(empty: httpx.Client, path: str, text: str) -> None:
    uid = ok(empty.post("users", json={"email": "put-atomic@example.com"}))
    before = _dynamic(empty, "users", uid)
    assert refused(empty.put(path, json={"half_applied_col": "x"})) == text
    assert _dynamic(empty, "users", uid) == before
    refused(
        empty.get("users/where/half_applied_col=x"),
        "Unknown column half_applied_col in where of users",
    )


def _profile(client: httpx.Client, email: str) -> Any:
    rows = ok(client.get(f"users/where/email={email}"))
    return rows[0] if rows else None


def test_a_failing_do_command_applies_nothing_and_earlier_commands_stay(
    empty: httpx.Client,
) -> None:
    ok(empty.post("users", json={"email": "do-early@example.com"}))
    batch = [
        ["email", "do-early@example.com", "User profile", "custom_t_1", "applied"],
        ["email", "do-stub@example.com", "Product viewed", "NO-SUCH-SKU"],
        ["email", "do-never@example.com", "User profile", "custom_t_1", "skipped"],
    ]
    text = refused(empty.post("do", json=batch))
    assert text == "Command 2: products row not found by internal_id=NO-SUCH-SKU"
    assert _profile(empty, "do-early@example.com")["custom_t_1"] == "applied"  # api §6.3, U11
    assert _profile(empty, "do-stub@example.com") is None  # no stub user from the failed command
    assert _profile(empty, "do-never@example.com") is None


def test_a_do_profile_beyond_the_limit_adds_no_column(empty: httpx.Client) -> None:
    uid = ok(empty.post("users", json={"email": "do-wide@example.com"}))
    before = _dynamic(empty, "users", uid)
    wide: list[Any] = []
    for n in range(LIMIT + 1):
        wide += [f"do_wide_{n}", n]
    batch = [
        ["email", "do-wide@example.com", "User profile", "custom_t_2", "kept"],
        ["email", "do-wide@example.com", "User profile", *wide],
    ]
    text = refused(empty.post("do", json=batch))
    names = [f"do_wide_{n}" for n in range(LIMIT + 1)]
    assert text == "Command 2: " + _limit_text("users", len(before), names)
    assert _dynamic(empty, "users", uid) == before
    assert ok(empty.get(f"users/{uid}"))["custom_t_2"] == "kept"
