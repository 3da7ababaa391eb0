"""Answers lost on writes that are not events: a list created by name, a membership added.
Both are read back after a lost answer and resent only when absent, so a lost answer never
creates a second list, and a membership whose every answer was lost never stops the run: it is
confirmed by reading it back, or rejected with a reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.api.query import Query, all_of, cond
from connectors.write import RunSummary
from connectors.write.execute import RESENDS
from personyze_sandbox.process import RunningSandbox
from tests.integration.write.runs import LosingTransport, Records, write_losing_answers
from tests.readback import get, lists_named, rejects, users_by_email

pytestmark = pytest.mark.integration


class LoseAnswers(LosingTransport):
    """The first ``times`` POSTs to ``path`` lose their answer, after the sandbox applied them
    (``applied``) or before they reached it."""

    def __init__(self, path: str, times: int, *, applied: bool) -> None:
        super().__init__()
        self.path, self.left, self.applied = path, times, applied
        self.lost = 0

    def loses(self, request: httpx.Request) -> tuple[bool, bool]:
        lose = (
            request.method == "POST"
            and request.url.path.endswith("/" + self.path)
            and self.left > 0
        )
        if lose:
            self.left -= 1
            self.lost += 1
        return lose, self.applied


def run(
    sb: RunningSandbox,
    config: dict[str, Any],
    records: Records,
    transport: LoseAnswers,
    tmp: Path,
) -> RunSummary:
    return write_losing_answers(sb, config, records, transport, tmp, concurrency=4)


def members_of(sb: RunningSandbox, list_id: int) -> set[int]:
    q = Query("user_list_users", where=all_of(cond("user_list_id", "=", list_id)), limit=1000)
    return {r["user_id"] for r in get(sb, q)}


@pytest.mark.parametrize("stream", ["named", "members"])
def test_a_list_whose_creation_answer_was_lost_is_created_once(
    sandbox: RunningSandbox, tmp_path: Path, stream: str
) -> None:
    emails = [f"listlost{i}@example.com" for i in range(3)]
    if stream == "named":
        config: dict[str, Any] = {"named": {"object": "user_lists", "match_key": "name"}}
        records: Records = {"named": [{"name": "Lost answers"}]}
    else:
        config = {"members": {"object": "user_list_users", "list_name": "Lost answers"}}
        records = {"members": [{"email": e} for e in emails]}
    transport = LoseAnswers("user_lists", 2, applied=True)
    summary = run(sandbox, config, records, transport, tmp_path)

    assert transport.lost == 1  # the first answer was lost; the list was then read back
    found = lists_named(sandbox, "Lost answers")
    assert len(found) == 1, found  # created once, not again after the lost answer
    assert rejects(tmp_path) == []
    counts = summary.streams[stream]
    assert counts.rejected == counts.unknown == 0
    if stream == "members":
        users = users_by_email(sandbox, emails)
        assert members_of(sandbox, found[0]["id"]) == {u["user_id"] for u in users.values()}
        assert counts.created == 3


def test_a_list_whose_creation_was_lost_before_applying_is_sent_again(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = {"named": {"object": "user_lists", "match_key": "name"}}
    records: Records = {"named": [{"name": "Never arrived"}]}
    transport = LoseAnswers("user_lists", 1, applied=False)
    summary = run(sandbox, config, records, transport, tmp_path)
    assert transport.lost == 1
    assert len(lists_named(sandbox, "Never arrived")) == 1
    assert summary.streams["named"].created == 1


def test_memberships_whose_every_answer_was_lost_are_read_back(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Every membership POST answer is lost (after applying) more times than the client
    resends: the run goes on, each membership is confirmed by reading it back."""
    emails = [f"memberlost{i}@example.com" for i in range(6)]
    config = {"members": {"object": "user_list_users", "list_name": "Lost members"}}
    records: Records = {"members": [{"email": e} for e in emails]}
    transport = LoseAnswers("user_list_users", 100, applied=True)
    summary = run(sandbox, config, records, transport, tmp_path)

    assert transport.lost == len(emails)  # one POST each: the rest was read back
    (found,) = lists_named(sandbox, "Lost members")
    users = users_by_email(sandbox, emails)
    assert members_of(sandbox, found["id"]) == {u["user_id"] for u in users.values()}
    counts = summary.streams["members"]
    assert (counts.created, counts.rejected, counts.unknown) == (6, 0, 0)
    assert rejects(tmp_path) == []


def test_memberships_never_applied_are_resent_then_rejected_with_a_reason(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Every membership POST is lost before it reaches Personyze: each is read back, found
    absent, resent within the budget, and finally rejected with its reason; the run ends."""
    emails = [f"neveradded{i}@example.com" for i in range(3)]
    config = {"members": {"object": "user_list_users", "list_name": "Never added"}}
    records: Records = {"members": [{"email": e} for e in emails]}
    transport = LoseAnswers("user_list_users", 1000, applied=False)
    summary = run(sandbox, config, records, transport, tmp_path)

    (found,) = lists_named(sandbox, "Never added")
    assert members_of(sandbox, found["id"]) == set()
    counts = summary.streams["members"]
    assert (counts.created, counts.rejected) == (0, 3)
    reasons = Counter(r["stream"] for r in rejects(tmp_path))
    assert reasons == {"members": 3}
    for reject in rejects(tmp_path):
        assert "not a member" in reject["reason"] and "send it again" in reject["reason"]
        assert reject["key"] in emails
    assert transport.lost == 3 * (1 + RESENDS)  # sent, then resent: bounded


def test_members_whose_profile_creation_answers_were_lost_are_read_back(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Members new to Personyze get a stub profile by a `do` command first; every answer to it
    is lost (after applying): the profiles are read back and the memberships added, not
    rejected as 'no profile'."""
    emails = [f"stublost{i}@example.com" for i in range(4)]
    config = {"members": {"object": "user_list_users", "list_name": "Stub lost"}}
    records: Records = {"members": [{"email": e} for e in emails]}
    transport = LoseAnswers("do", 100, applied=True)
    summary = run(sandbox, config, records, transport, tmp_path)

    assert transport.lost == 1 + RESENDS
    (found,) = lists_named(sandbox, "Stub lost")
    users = users_by_email(sandbox, emails)
    assert len(users) == 4
    assert members_of(sandbox, found["id"]) == {u["user_id"] for u in users.values()}
    assert rejects(tmp_path) == []
    assert summary.streams["members"].created == 4


@pytest.mark.parametrize("applied", [True, False])
def test_catalog_upserts_whose_every_answer_was_lost_settle_by_read_back(
    sandbox: RunningSandbox, tmp_path: Path, applied: bool
) -> None:
    """Every product POST answer is lost: applied, the rows are read back and accepted; never
    applied, each is resent within the budget and rejected with its reason. The run ends."""
    config = {"catalog": {"object": "products"}}
    records: Records = {
        "catalog": [
            {"internal_id": f"LOST-{i}", "title": f"Lost {i}", "price": i} for i in range(3)
        ]
    }
    transport = LoseAnswers("products", 1000, applied=applied)
    summary = run(sandbox, config, records, transport, tmp_path)

    q = Query("products", where=all_of(cond("internal_id", ":", ["LOST-0", "LOST-1", "LOST-2"])))
    stored = {r["internal_id"]: (r["title"], r["price"]) for r in get(sandbox, q)}
    counts = summary.streams["catalog"]
    if applied:
        assert transport.lost == 3
        assert stored == {f"LOST-{i}": (f"Lost {i}", i) for i in range(3)}
        assert (counts.created, counts.rejected) == (3, 0)
        assert rejects(tmp_path) == []
    else:
        assert transport.lost == 3 * (1 + RESENDS)
        assert stored == {}
        assert (counts.created, counts.rejected) == (0, 3)
        for reject in rejects(tmp_path):
            assert reject["key"].startswith("LOST-")
            assert "every answer was lost" in reject["reason"]
            assert "send it again" in reject["reason"]
