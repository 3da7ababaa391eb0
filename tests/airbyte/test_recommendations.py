"""The recommendations stream through the Airbyte source: one record per (user, action, rank,
item) for the configured tracker users, and their session ids kept in the stream state so the
next sync continues the same sessions."""

from __future__ import annotations

from typing import Any

from personyze_sandbox.process import RunningSandbox
from tests.airbyte import protocol
from tests.airbyte.conftest import sandbox_config

USERS = [5, 42]


def sessions(output: protocol.Output) -> dict[str, Any]:
    final = protocol.final_states(output)
    (state,) = [s for s in final if s["stream"]["stream_descriptor"]["name"] == "recommendations"]
    value: dict[str, Any] = state["stream"]["stream_state"]["sessions"]
    return value


def test_recommendations_records_and_sessions(fresh_sandbox: RunningSandbox) -> None:
    config = sandbox_config(
        fresh_sandbox, recommendation_user_ids=USERS, record_recommendation_page_views=True
    )
    discovered = protocol.run("discover", config).catalog()
    catalog = protocol.configured_catalog(discovered, ["recommendations"])
    first = protocol.run("read", config, catalog=catalog)
    assert not first.errors(), first.errors()
    records = first.records("recommendations")
    assert {r["user_id"] for r in records} == set(USERS)
    keys = [(r["user_id"], r["action_id"], r["rank"]) for r in records]
    assert len(keys) == len(set(keys))  # the primary key is unique
    assert all(r.get("internal_id") for r in records)  # each record carries its item
    kept = sessions(first)
    assert set(kept) == {str(u) for u in USERS} and all(kept.values())

    second = protocol.run("read", config, catalog=catalog, state=protocol.final_states(first))
    assert not second.errors(), second.errors()
    assert sessions(second) == kept  # the same sessions continue
    assert {r["user_id"] for r in second.records("recommendations")} == set(USERS)
