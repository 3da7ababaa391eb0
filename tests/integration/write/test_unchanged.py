"""skip_unchanged (on by default): rows whose mapped values equal what Personyze holds are counted
unchanged and cost no request beyond the read the upsert makes anyway; no local file."""

from __future__ import annotations

from pathlib import Path

import pytest

from personyze_sandbox.process import RunningSandbox
from tests.integration.write.runs import Records, write
from tests.readback import products_by_id, users_by_email

pytestmark = pytest.mark.integration


def people(first: str = "Ann") -> list[dict[str, object]]:
    return [
        {"email": "omar.chen.1@example.com", "first_name": "Omar"},  # what the demo holds
        {"email": "keep1@example.com", "first_name": first, "custom_i_1": 7},
        {"email": "keep2@example.com", "first_name": first, "custom_i_1": "8"},
    ]


def goods(price: float = 9.5) -> list[dict[str, object]]:
    return [
        {"internal_id": "KEEP-1", "title": "Kept", "price": price, "image_1": "https://x/1.jpg"},
        {"internal_id": "KEEP-2", "title": "Kept too", "price": 3, "is_in_stock": "yes"},
    ]


def test_unchanged_rows_cost_only_the_read_and_no_file(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    records: Records = {"users": people(), "products": goods()}
    first = write(sandbox, {}, records, tmp_path, ledger_path=None)
    assert (first.streams["users"].created, first.streams["users"].unchanged) == (2, 1)
    assert first.streams["products"].created == 2

    # a rerun in a fresh directory (nothing local remembers the first run)
    again = tmp_path / "again"
    again.mkdir()
    second = write(sandbox, {}, records, again, ledger_path=None)
    users, products = second.streams["users"], second.streams["products"]
    assert (users.unchanged, users.created, users.updated) == (3, 0, 0)
    assert (products.unchanged, products.created, products.updated) == (2, 0, 0)
    assert users.calls == 1 and products.calls == 1  # one read each, nothing written
    assert list(again.iterdir()) == []

    # one changed value: only that row is written
    changed: Records = {"users": people(first="Bea"), "products": goods(price=10)}
    third = write(sandbox, {}, changed, again, ledger_path=None)
    assert (third.streams["users"].updated, third.streams["users"].unchanged) == (2, 1)
    assert (third.streams["products"].updated, third.streams["products"].unchanged) == (1, 1)
    assert third.streams["products"].calls == 2  # the read and one POST
    got = users_by_email(sandbox, ["keep1@example.com", "keep2@example.com"])
    assert {u["first_name"] for u in got.values()} == {"Bea"}
    assert products_by_id(sandbox, ["KEEP-1"])["KEEP-1"]["price"] == 10


def test_a_key_given_twice_in_a_batch_is_compared_with_the_value_before_it(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """The second row sets back what Personyze held before the first: it is not unchanged."""
    records: Records = {
        "users": [
            {"email": "omar.chen.1@example.com", "first_name": "Changed"},
            {"email": "omar.chen.1@example.com", "first_name": "Omar"},
        ]
    }
    summary = write(sandbox, {}, records, tmp_path, ledger_path=None)
    assert summary.streams["users"].updated == 2
    got = users_by_email(sandbox, ["omar.chen.1@example.com"])
    assert got["omar.chen.1@example.com"]["first_name"] == "Omar"


def test_skip_unchanged_off_writes_every_row(sandbox: RunningSandbox, tmp_path: Path) -> None:
    records: Records = {"users": people()[:1]}
    summary = write(sandbox, {}, records, tmp_path, ledger_path=None, skip_unchanged=False)
    assert (summary.streams["users"].updated, summary.streams["users"].calls) == (1, 2)
