"""A read never changes the account: a full sync of every stream the source offers by default
leaves the sandbox's data byte for byte as it was, with and without state. The one stream that
writes (``recommendations``: every read is a page view) is offered only with
``record_recommendation_page_views``, is read after every other stream, records exactly what
the docs say."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.airbyte import protocol
from tests.airbyte.conftest import sandbox_config
from tests.recommendations import OPT_IN, SMALL, USERS, products_shown
from tests.sandbox_snapshot import snapshot

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("demo", seed=23, extra_args=SMALL) as sb:
        yield sb


def names(catalog: dict[str, Any]) -> list[str]:
    return [s["name"] for s in catalog["streams"]]


def record_order(output: protocol.Output) -> list[str]:
    """The streams in the order their records came, each once."""
    return list(dict.fromkeys(m["record"]["stream"] for m in output.of_type("RECORD")))


def test_a_full_sync_of_every_default_stream_changes_nothing(sandbox: RunningSandbox) -> None:
    # recommendation users configured but no opt-in: today's trap
    config = sandbox_config(sandbox, recommendation_user_ids=USERS)
    discovered = protocol.run("discover", config).catalog()
    assert "recommendations" not in names(discovered)
    before = snapshot(sandbox.db_path)
    for full_refresh in (False, True):
        catalog = protocol.configured_catalog(discovered, full_refresh=full_refresh)
        first = protocol.run("read", config, catalog=catalog)
        assert not first.errors(), first.errors()
        assert len(record_order(first)) >= 20
        assert before.changes(snapshot(sandbox.db_path)) == []
        again = protocol.run("read", config, catalog=catalog, state=protocol.final_states(first))
        assert not again.errors(), again.errors()
        assert before.changes(snapshot(sandbox.db_path)) == []


def test_the_writing_stream_is_offered_only_on_opt_in(sandbox: RunningSandbox) -> None:
    config = sandbox_config(sandbox, recommendation_user_ids=USERS)
    assert "recommendations" not in names(protocol.run("discover", config).catalog())
    opted = protocol.run("discover", {**config, OPT_IN: True}).catalog()
    assert "recommendations" in names(opted)


def account_effects(sb: RunningSandbox) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{sb.db_path}?mode=ro", uri=True)
    try:
        delivered = Counter(
            dict(
                conn.execute(
                    "SELECT user_id, COUNT(*) FROM products_interactions "
                    "WHERE status = 'delivered' GROUP BY user_id"
                ).fetchall()
            )
        )
        sessions = conn.execute("SELECT COUNT(*) FROM _tracker_sessions").fetchone()[0]
        profiles = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT user_id, session_counter, last_session_time, data_last_modified "
                "FROM users WHERE user_id IN (5, 42, 137)"
            )
        }
    finally:
        conn.close()
    return {"delivered": delivered, "sessions": sessions, "profiles": profiles}


def test_the_opted_in_stream_is_read_last_and_records_what_the_docs_say() -> None:
    with running_sandbox("demo", seed=29, extra_args=SMALL) as sb:
        config = sandbox_config(sb, recommendation_user_ids=USERS, **{OPT_IN: True})
        discovered = protocol.run("discover", config).catalog()
        # the writing stream first in the catalog: the source still reads it last
        discovered["streams"].sort(key=lambda s: s["name"] != "recommendations")
        catalog = protocol.configured_catalog(discovered)
        before = account_effects(sb)
        first = protocol.run("read", config, catalog=catalog)
        assert not first.errors(), first.errors()
        order = record_order(first)
        assert order[-1] == "recommendations" and len(order) >= 20
        after = account_effects(sb)
        shown = products_shown(first.records("recommendations"))
        # per user and sync: one `delivered` row per product shown (at most 5 + 5 here) ...
        assert after["delivered"] - before["delivered"] == shown
        assert set(shown) == set(USERS) and max(shown.values()) <= 10
        # ... and on the first sync a new tracker session, which bumps the profile
        assert after["sessions"] == before["sessions"] + len(USERS)
        for user in USERS:
            assert after["profiles"][user][0] == before["profiles"][user][0] + 1
            assert after["profiles"][user][2] > before["profiles"][user][2]

        second = protocol.run("read", config, catalog=catalog, state=protocol.final_states(first))
        assert not second.errors(), second.errors()
        again = account_effects(sb)
        shown_again = products_shown(second.records("recommendations"))
        assert again["delivered"] - after["delivered"] == shown_again
        # the kept sessions continue: no new session, no profile change
        assert again["sessions"] == after["sessions"]
        assert again["profiles"] == after["profiles"]
