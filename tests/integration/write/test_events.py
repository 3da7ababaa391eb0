"""Identical events: the n-th identical row of an input is the n-th event, a rerun of the same
input sends nothing new, and an event-id column, when the stream names one, is the identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from personyze_sandbox.process import RunningSandbox
from tests.integration.write.runs import T0, Records, write
from tests.readback import article_interactions, interactions, rejects, users_by_email

pytestmark = pytest.mark.integration

BUYER = "omar.chen.1@example.com"


def view(product: str, at: int | None = T0, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {"email": BUYER, "product_internal_id": product, "status": "viewed"}
    if at is not None:
        row["transaction_time"] = at
    return {**row, **extra}


def test_identical_rows_are_separate_events_and_a_rerun_sends_nothing_new(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    records: Records = {
        "products_interactions": [
            view("SKU-00003"),
            view("SKU-00003"),  # the same view twice in the same second: two views
            view("SKU-00004", status="goal", quantity=1, amount=10),
            view("SKU-00004", status="goal", quantity=1, amount=10),  # two purchases
            view("SKU-00005"),
        ]
    }
    uid = users_by_email(sandbox, [BUYER])[BUYER]["user_id"]
    skus = ["SKU-00003", "SKU-00004", "SKU-00005"]
    before = interactions(sandbox, skus)
    # no ledger file: the read-back decides what is already in Personyze
    first = write(sandbox, {}, records, tmp_path, ledger_path=None, batch_size=2)
    added = interactions(sandbox, skus) - before
    assert added[(uid, "SKU-00003", "viewed", 1, None)] == 2
    assert added[(uid, "SKU-00004", "goal", 1, 10)] == 2
    assert added[(uid, "SKU-00005", "viewed", 1, None)] == 1
    assert first.streams["products_interactions"].appended == 5
    assert first.streams["products_interactions"].skipped == 0

    second = write(sandbox, {}, records, tmp_path, ledger_path=None, batch_size=2)
    assert interactions(sandbox, skus) - before == added
    assert second.streams["products_interactions"].appended == 0
    assert second.streams["products_interactions"].skipped == 5
    assert rejects(tmp_path) == []
    # the summary says why nothing was sent (what an Airbyte user reads after a retry)
    assert first.streams["products_interactions"].notes == []
    assert second.streams["products_interactions"].notes == [
        "5 event(s) already in Personyze (read back before sending), so not sent again: "
        "sent by an earlier attempt or run"
    ]
    assert "5 event(s) already in Personyze" in second.render()


def test_without_an_event_time_the_ledger_makes_a_rerun_send_nothing_new(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    records: Records = {
        "products_interactions": [view("SKU-00006", at=None), view("SKU-00006", at=None)],
        "articles_interactions": [
            {"email": BUYER, "article_internal_id": "article-0002", "status": "liked"},
            {"email": BUYER, "article_internal_id": "article-0002", "status": "liked"},
        ],
    }
    uid = users_by_email(sandbox, [BUYER])[BUYER]["user_id"]
    before_products = interactions(sandbox, ["SKU-00006"])
    before_articles = article_interactions(sandbox)
    for _ in range(2):
        summary = write(sandbox, {}, records, tmp_path, ledger_path=tmp_path / "ledger.db")
    assert (interactions(sandbox, ["SKU-00006"]) - before_products)[
        (uid, "SKU-00006", "viewed", 1, None)
    ] == 2
    assert (article_interactions(sandbox) - before_articles) == {(uid, "article-0002", "liked"): 2}
    assert summary.streams["products_interactions"].skipped == 2
    assert summary.streams["articles_interactions"].skipped == 2
    assert summary.total("appended") == 0
    # shown as sent by the ledger, not read back: no note claims Personyze was read
    assert not any("already in Personyze" in n for c in summary.streams.values() for n in c.notes)


def test_an_event_id_column_is_the_identity(sandbox: RunningSandbox, tmp_path: Path) -> None:
    config = {"orders": {"object": "products_interactions", "event_id_column": "line_id"}}
    line = view("SKU-00007", status="goal", amount=5)
    records: Records = {
        "orders": [
            {**line, "line_id": "L1"},
            {**line, "line_id": "L2"},  # same content, another order line: another purchase
            {**line, "line_id": "L1"},  # L1 delivered twice: one purchase
            {"email": BUYER, "product_internal_id": "SKU-00007", "status": "goal"},  # no id
        ]
    }
    uid = users_by_email(sandbox, [BUYER])[BUYER]["user_id"]
    before = interactions(sandbox, ["SKU-00007"])
    first = write(sandbox, config, records, tmp_path, ledger_path=None)
    second = write(sandbox, config, records, tmp_path, ledger_path=None)
    added = interactions(sandbox, ["SKU-00007"]) - before
    assert added == {(uid, "SKU-00007", "goal", 1, 5): 2}
    assert (first.streams["orders"].appended, first.streams["orders"].skipped) == (2, 1)
    assert (second.streams["orders"].appended, second.streams["orders"].skipped) == (0, 3)
    assert first.streams["orders"].rejected == 1
    reasons = [r["reason"] for r in rejects(tmp_path) if r["stream"] == "orders"]
    assert len(reasons) == 2 and all("event id: column 'line_id'" in r for r in reasons)
    assert "line_id" not in str(added)  # the id column is not sent to Personyze


def test_an_interaction_given_before_its_product_still_finds_it(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """A resumed input may start in the middle of a customer's records: the interaction stream
    then receives records first, but products and profiles of the same batch go first."""
    records: Records = {
        "products_interactions": [
            view("NEW-SKU", email="late@example.com"),
            view("SKU-00008", email="late@example.com"),
        ],
        "products": [{"internal_id": "NEW-SKU", "title": "Given after its interaction"}],
        "users": [{"email": "late@example.com", "first_name": "Late"}],
    }
    summary = write(sandbox, {}, records, tmp_path, ledger_path=None)
    assert summary.total("rejected") == 0, rejects(tmp_path)
    uid = users_by_email(sandbox, ["late@example.com"])["late@example.com"]["user_id"]
    assert interactions(sandbox, ["NEW-SKU"]) == {(uid, "NEW-SKU", "viewed", 1, None): 1}
