"""tracker-v1 over real HTTP against the sandbox: sessions, Navigate, attribution,
recommendations that follow what the user does, every error path, and the recommendations
stream through the core's ``read_stream``."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.api.client import PersonyzeClient
from connectors.api.errors import ConfigurationError, OutcomeUnknown
from connectors.api.query import Query, all_of, cond
from connectors.read.streams import discover
from connectors.read.sync import ReadOptions, StateUpdate, read_stream
from connectors.settings import ConnectionSettings, SettingsError
from connectors.spec import default_specs
from connectors.tracker.client import TrackerClient, TrackerError, command, navigate
from personyze_sandbox.dataset import load_dataset
from personyze_sandbox.process import RunningSandbox, new_api_key, running_sandbox
from personyze_sandbox.server import Sandbox, SandboxConfig, SandboxHTTPServer

pytestmark = pytest.mark.integration

SPECS = default_specs()
HOME = navigate("Default")
FAULT_SEED = 13  # FaultPlan(0.5, 13) answers the first request 503 and the second normally
# FaultPlan(0.5, 4) answers the first request 500 'Internal server error' (a server failure,
# not a tracker refusal) and the second normally
FAULT_500_SEED = 4


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    """The demo dataset; each test uses its own tracker user ids."""
    with running_sandbox("demo", seed=7) as sb:
        yield sb


def _settings(sb: RunningSandbox, **config: Any) -> ConnectionSettings:
    return ConnectionSettings.from_config(
        {"api_key": sb.api_key, "base_url": sb.base_url, **config}
    )


def _tracker(sb: RunningSandbox, **config: Any) -> TrackerClient:
    return TrackerClient(_settings(sb, **config), sleep=lambda s: None)


def _post(sb: RunningSandbox, body: Any, key: str | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else None
    return httpx.post(
        f"{sb.base_url}/tracker-v1",
        auth=("api", key or sb.api_key),
        content=content,
        json=None if content is not None else body,
    )


def _rows(sb: RunningSandbox, user_id: int, **where: Any) -> list[dict[str, Any]]:
    conditions = [cond("user_id", "=", user_id), *(cond(k, "=", v) for k, v in where.items())]
    with PersonyzeClient(_settings(sb)) as client:
        rows = client.get(Query("products_interactions", where=all_of(*conditions), limit=1000))
    assert isinstance(rows, list)
    return rows


def _top_picks(answer: Any) -> list[str]:
    (action,) = [a for a in answer.actions if a.id == 1]
    return [item["internal_id"] for item in action.items]


# ---------------------------------------------------------------- sessions


def test_a_session_continues_across_calls(sandbox: RunningSandbox) -> None:
    with _tracker(sandbox) as tracker:
        first = tracker.send(3_000_001, [])
        assert first.session_id is not None
        start = int(first.session_id.split()[0])
        assert abs(start - time.time()) < 120
        for _ in range(3):
            assert tracker.send(3_000_001, [HOME]).session_id == first.session_id
        renewed = tracker.send(3_000_001, [], new_session=True).session_id
        assert renewed != first.session_id
    with PersonyzeClient(_settings(sandbox)) as client:
        (user,) = client.get(Query("users", where=all_of(cond("user_id", "=", 3_000_001))))
    assert user["session_counter"] == 2 and user["last_session_time"] >= start


def test_an_expired_session_id_starts_a_new_session(sandbox: RunningSandbox) -> None:
    now = int(time.time())
    with _tracker(sandbox) as tracker:
        tracker.sessions[3_000_002] = f"{now - 5_401} 0ddba11"
        answer = tracker.send(3_000_002, [HOME])
        assert answer.session_id is not None
        assert int(answer.session_id.split()[0]) >= now - 5
        # a well-formed id younger than 1.5 h is continued, even one the sandbox did not issue
        tracker.sessions[3_000_002] = f"{now - 5_000} c0ffee"
        assert tracker.send(3_000_002, []).session_id == f"{now - 5_000} c0ffee"
        tracker.sessions[3_000_002] = "not a session"
        assert tracker.send(3_000_002, []).session_id != "not a session"


def test_a_session_ends_after_one_and_a_half_hours(tmp_path: Path) -> None:
    """The sandbox in-process, on a clock the test moves."""
    now = [1_800_000_000.0]
    key = new_api_key()
    sandbox = Sandbox(SandboxConfig(api_key=key, db_path=tmp_path / "clock.db"))
    load_dataset(sandbox.store, "empty")
    sandbox.store.clock = lambda: now[0]
    server = SandboxHTTPServer(sandbox)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        settings = ConnectionSettings.from_config({"api_key": key, "base_url": server.base_url})
        with TrackerClient(settings) as tracker:
            first = tracker.send(5, []).session_id
            assert first is not None and first.startswith("1800000000 ")
            now[0] += 5_399
            assert tracker.send(5, []).session_id == first
            now[0] += 2
            second = tracker.send(5, []).session_id
            assert second is not None and second.startswith("1800005401 ")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---------------------------------------------------------------- Navigate and actions


def test_an_action_runs_once_per_page(sandbox: RunningSandbox) -> None:
    with _tracker(sandbox) as tracker:
        assert tracker.send(3_000_003, []).actions == ()  # no page yet
        page = tracker.send(3_000_003, [HOME])
        assert {a.id for a in page.actions} >= {1, 3}
        assert tracker.send(3_000_003, []).actions == ()
        viewed = tracker.send(3_000_003, [["Product Viewed", "SKU-00010"]])
        assert 1 not in {a.id for a in viewed.actions}
        again = tracker.send(3_000_003, [HOME])
        assert {a.id for a in again.actions} >= {1, 2, 3}
        (recent,) = [a for a in again.actions if a.id == 2]
        assert recent.name == "Recently viewed" and recent.items is not None
        assert recent.items[0]["internal_id"] == "SKU-00010"


def test_recommendations_follow_what_the_user_does(sandbox: RunningSandbox) -> None:
    user = 3_000_004
    with _tracker(sandbox) as tracker:
        answer = tracker.send(user, [["Product Viewed", "SKU-00012"], HOME])
        picks = _top_picks(answer)
        (top,) = [a for a in answer.actions if a.id == 1]
        # product 12 is in "lighting" (demo data): the only category the user has shown
        assert {item["category"] for item in top.items or []} == {"lighting"}
        bought = picks[0]
        after = tracker.send(user, [["Product Purchased", bought], HOME])
        assert bought not in _top_picks(after)
        assert _top_picks(after)[: len(picks) - 1] == picks[1:]
        # a bulk purchase empties the cart into purchases, which leave the picks too
        cart = _top_picks(after)[0]
        tracker.send(user, [["Product Added to cart", cart]])
        final = tracker.send(user, [["Products Purchased"], HOME])
        assert cart not in _top_picks(final)
    assert _rows(sandbox, user, product_internal_id=cart, status="goal")


def test_attribution_through_action_id(sandbox: RunningSandbox) -> None:
    user = 3_000_005
    with _tracker(sandbox) as tracker:
        shown = _top_picks(tracker.send(user, [HOME]))
        tracker.send(user, [command("Product viewed", shown[0], action_id=1)])
        tracker.send(user, [["Product Liked", shown[1], "action_id", "1"]])
        tracker.send(user, [["Article Viewed", "article-0001", "action_id", 3]])
    (view,) = _rows(sandbox, user, product_internal_id=shown[0], status="viewed")
    assert view["action_id"] == 1
    (like,) = _rows(sandbox, user, product_internal_id=shown[1], status="favorite")
    assert like["action_id"] == 1
    delivered = _rows(sandbox, user, status="delivered")
    assert {r["product_internal_id"] for r in delivered} >= set(shown)
    assert {r["action_id"] for r in delivered} <= {1, 2}


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"user_id": 1, "commands": [["Teleport"]]}, "Command 1: Unknown command 'Teleport'"),
        ({"user_id": "x", "commands": []}, "user_id must be a signed or unsigned 32-bit integer"),
        ({"user_id": 2**32, "commands": []}, "user_id must be a signed or unsigned 32-bit"),
        ({"commands": []}, "user_id must be"),
        ({"user_id": 1}, "commands must be an array"),
        ({"user_id": 1, "commands": [["Navigate", "home"]]}, "Command 1: Navigate needs urn:"),
        ({"user_id": 1, "commands": [], "device_type": "watch"}, "device_type must be one of"),
        (b"{not json", "The request body is not valid JSON"),
    ],
)
def test_a_bad_request_is_a_500_with_its_message_as_text(
    sandbox: RunningSandbox, body: Any, text: str
) -> None:
    answer = _post(sandbox, body)
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text.startswith(text)


def test_a_failing_batch_applies_nothing_and_raises_the_text(sandbox: RunningSandbox) -> None:
    user = 3_000_006
    with _tracker(sandbox) as tracker, pytest.raises(TrackerError) as err:
        tracker.send(user, [["Product Viewed", "SKU-00001"], ["Product Viewed", "NOPE"]])
    assert str(err.value) == "Command 2: products row not found by internal_id=NOPE"
    assert err.value.status == 500
    assert _rows(sandbox, user) == []
    assert tracker.stats.requests_sent == 1  # a refusal is not retried


def test_a_bad_key_is_a_401_configuration_error(sandbox: RunningSandbox) -> None:
    with _tracker(sandbox, api_key=new_api_key()) as tracker:
        with pytest.raises(ConfigurationError) as err:
            tracker.send(1, [HOME])
        assert tracker.stats.requests_sent == 1
    assert "401" in str(err.value)
    assert httpx.post(f"{sandbox.base_url}/tracker-v1", json={}).text == "Please, log in"


def test_a_503_is_retried() -> None:
    with (
        running_sandbox("empty", seed=FAULT_SEED, fault_rate=0.5) as sb,
        _tracker(sb) as tracker,
    ):
        answer = tracker.send(9, [HOME])
        assert answer.session_id is not None
        assert tracker.stats.requests_sent == 2


def test_a_500_that_names_no_reason_is_retried_when_resending_is_safe() -> None:
    with (
        running_sandbox("empty", seed=FAULT_500_SEED, fault_rate=0.5) as sb,
        _tracker(sb) as tracker,
    ):
        answer = tracker.send(9, [HOME], resend_lost=True)
        assert answer.session_id is not None
        assert tracker.stats.requests_sent == 2


def test_a_500_that_names_no_reason_is_never_resent_blindly() -> None:
    with (
        running_sandbox("empty", seed=FAULT_500_SEED, fault_rate=0.5) as sb,
        _tracker(sb) as tracker,
    ):
        with pytest.raises(OutcomeUnknown) as err:
            tracker.send(9, [HOME])
        assert tracker.stats.requests_sent == 1
    assert "not resent" in str(err.value) and "Internal server error" in str(err.value)


# ---------------------------------------------------------------- the recommendations stream


def _sync(sb: RunningSandbox, state: Any, **config: Any) -> tuple[list[dict[str, Any]], Any]:
    settings = _settings(sb, **{"record_recommendation_page_views": True, **config})
    with PersonyzeClient(settings) as client:
        (stream,) = [s for s in discover(client, SPECS) if s.name == "recommendations"]
        items = list(read_stream(client, SPECS, stream, state, ReadOptions.from_settings(settings)))
    states = [i.value for i in items if isinstance(i, StateUpdate)]
    return [i for i in items if not isinstance(i, StateUpdate)], states[-1] if states else None


def test_the_stream_emits_one_record_per_user_action_rank_and_item(
    sandbox: RunningSandbox,
) -> None:
    users = [3_000_010, 3_000_011]
    with _tracker(sandbox) as tracker:
        tracker.send(users[0], [["Product Viewed", "SKU-00020"]])
    records, state = _sync(sandbox, None, recommendation_user_ids=users)
    keys = Counter((r["user_id"], r["action_id"], r["rank"]) for r in records)
    assert keys and max(keys.values()) == 1
    assert {r["user_id"] for r in records} == set(users)
    for (user, action), n in Counter((r["user_id"], r["action_id"]) for r in records).items():
        ranks = sorted(
            r["rank"] for r in records if (r["user_id"], r["action_id"]) == (user, action)
        )
        assert ranks == list(range(1, n + 1))
    names = {r["action_id"]: r["action_name"] for r in records}
    assert names[1] == "Top picks for you" and names[3] == "Related articles"
    assert all(r["internal_id"] and isinstance(r["fetched_at"], int) for r in records)
    assert any(r["action_id"] == 2 and r["internal_id"] == "SKU-00020" for r in records)
    assert set(state["sessions"]) == {str(u) for u in users}

    again, next_state = _sync(sandbox, state, recommendation_user_ids=users)
    assert next_state == state  # the same sessions were continued
    assert Counter(r["user_id"] for r in again) == Counter(r["user_id"] for r in records)


def test_the_stream_reads_the_members_of_a_user_list(sandbox: RunningSandbox) -> None:
    with PersonyzeClient(_settings(sandbox)) as client:
        members = client.get(
            Query("user_list_users", where=all_of(cond("user_list_id", "=", 7)), limit=1000)
        )
    expected = {m["user_id"] for m in members} | {3_000_012}
    records, state = _sync(
        sandbox, None, recommendation_user_ids=[3_000_012], recommendation_user_list_id=7
    )
    assert {int(u) for u in state["sessions"]} == expected
    assert {r["user_id"] for r in records} <= expected


def test_without_users_the_stream_emits_nothing(sandbox: RunningSandbox) -> None:
    assert _sync(sandbox, None) == ([], None)
    assert _sync(sandbox, {"sessions": {"1": "1 x"}}) == ([], None)


def test_without_the_opt_in_the_stream_refuses_to_read(sandbox: RunningSandbox) -> None:
    users = [3_000_013]
    with pytest.raises(SettingsError) as err:
        _sync(sandbox, None, recommendation_user_ids=users, record_recommendation_page_views=False)
    assert str(err.value).startswith("record_recommendation_page_views: ")
    assert _rows(sandbox, users[0]) == []
