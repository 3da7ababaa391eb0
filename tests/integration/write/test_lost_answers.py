"""Answers lost on the way back (the request applied or not, the client cannot tell): product
interactions are read back and resent until each is in Personyze once; article interactions,
which cannot be read back, lose at most the events of the requests whose answer was lost, and
the summary and the rejects file say which."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import httpx
import pytest

from connectors.api.query import Query, all_of, cond
from personyze_sandbox.process import RunningSandbox
from tests.integration.write.runs import T0, LosingTransport, Records, write_losing_answers
from tests.readback import article_interactions, get, rejects, users_by_email

pytestmark = pytest.mark.integration


class LosingAnswers(LosingTransport):
    """A share of the event writes lose their answer, half of them after the sandbox applied
    the request, half before it was sent."""

    def __init__(self, rate: float, seed: int) -> None:
        super().__init__()
        self.rate = rate
        self.rng = random.Random(seed)
        self.lost = Counter[str]()

    def loses(self, request: httpx.Request) -> tuple[bool, bool]:
        writes_events = request.method == "POST" and request.url.path.endswith(
            ("/do", "/products_interactions")
        )
        lose = writes_events and self.rng.random() < self.rate
        applied = self.rng.random() < 0.5
        if lose:
            self.lost["applied" if applied else "not sent"] += 1
        return lose, applied


def test_lost_answers_settle_by_read_back(sandbox: RunningSandbox, tmp_path: Path) -> None:
    emails = [f"lost{i}@example.com" for i in range(40)]
    skus = [f"SKU-{i % 30 + 1:05d}" for i in range(40)]
    records: Records = {
        "products_interactions": [
            {"email": e, "product_internal_id": s, "status": st, "transaction_time": T0 + i}
            for i, (e, s) in enumerate(zip(emails, skus, strict=True))
            for st in ("viewed", "extra", "goal", "delivered")  # delivered: a POST
        ]
        + [  # the same view twice: two views
            {"email": emails[0], "product_internal_id": skus[0], "status": "viewed"}
        ]
        * 2,
        "articles_interactions": [
            {"email": e, "article_internal_id": f"article-{i % 20 + 1:04d}", "status": "viewed"}
            for i, e in enumerate(emails)
        ],
    }
    transport = LosingAnswers(rate=0.3, seed=5)
    summary = write_losing_answers(sandbox, None, records, transport, tmp_path, batch_size=8)
    assert transport.lost["applied"] >= 3 and transport.lost["not sent"] >= 3

    users = users_by_email(sandbox, emails)
    want: Counter[tuple[object, ...]] = Counter()
    for row in records["products_interactions"]:
        want[(users[str(row["email"])]["user_id"], row["product_internal_id"], row["status"])] += 1
    rows = get(
        sandbox,
        Query(
            "products_interactions",
            where=all_of(
                cond("user_id", ":", sorted(u["user_id"] for u in users.values())),
                cond("product_internal_id", ":", sorted(set(skus))),
            ),
            limit=1000,
        ),
    )
    got = Counter((r["user_id"], r["product_internal_id"], r["status"]) for r in rows)
    assert got == want  # every product interaction once, none given up
    events = summary.streams["products_interactions"]
    assert (events.appended, events.unknown, events.rejected) == (162, 0, 0)

    ids = {u["user_id"] for u in users.values()}
    liked = {k: n for k, n in article_interactions(sandbox).items() if k[0] in ids}
    unknown = [r for r in rejects(tmp_path) if r["stream"] == "articles_interactions"]
    articles = summary.streams["articles_interactions"]
    assert max(liked.values()) == 1  # never twice
    reported = {
        (users[r["record"]["email"]]["user_id"], r["record"]["article_internal_id"])
        for r in unknown
    }
    missing = {(users[e]["user_id"], f"article-{i % 20 + 1:04d}") for i, e in enumerate(emails)} - {
        (uid, article) for uid, article, _ in liked
    }
    assert missing <= reported  # nothing missing that is not reported
    assert articles.unknown == len(unknown) > 0
    assert all("outcome unknown" in r["reason"] for r in unknown)
    (note,) = summary.streams["articles_interactions"].notes
    assert f"{len(unknown)} event(s) of unknown outcome" in note
    assert len(unknown) <= 8 * transport.lost.total()  # at most the requests that lost answers
