"""Tracker v1 client logic without a server: commands from the command table, answers,
sessions, error mapping (over httpx.MockTransport), and the recommendations settings/state."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.api.errors import ConfigurationError, RetriesExhausted
from connectors.read.recommendations import sessions_of, sessions_state
from connectors.read.streams import discover
from connectors.read.sync import ReadOptions
from connectors.settings import ConnectionSettings, SettingsError
from connectors.spec import default_specs
from connectors.tracker.client import (
    ActionWrapper,
    Device,
    TrackerClient,
    TrackerError,
    TrackerInputError,
    assemble,
    check_user_id,
    checked_command,
    command,
    navigate,
)

KEY = "FD09908F25BECB09D78EBEA1DADFB618651F612D"
BASE = "https://personyze.test/rest"
WRAPPERS = [
    {"id": 1, "name": "Top picks", "content_type": "application/json", "content_param": "data",
     "content_begin": "[", "content_end": "]"},
    {"id": 4, "name": "Hero", "content_type": "text/html", "content_param": "html",
     "content_begin": "<div>", "content_end": "</div>"},
]  # fmt: skip


# ---------------------------------------------------------------- commands


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["product VIEWED", "SKU-1"], ["Product viewed", "SKU-1"]),
        (["Product Viewed", "SKU-1", "action_id", "10"],
         ["Product viewed", "SKU-1", "action_id", 10]),
        (["Product purchased", 1234, "quantity", 2, "amount", 9.5],
         ["Product purchased", "1234", "quantity", 2, "amount", 9.5]),
        (["Products Purchased"], ["Products Purchased"]),
        (["products unliked"], ["Products Unliked"]),
        (["Products Removed from cart"], ["Products Removed from cart"]),
        (["Articles Unliked"], ["Articles Unliked"]),
        (["Article goal", "a-1", "action_id", 3], ["Article goal", "a-1", "action_id", 3]),
        (["User Profile", "first_name", "John", "industry", "e-commerce"],
         ["User profile", "first_name", "John", "industry", "e-commerce"]),
        (["Action Status", 7, "dont-show"], ["Action Status", 7, "dont-show"]),
        (["Action Status", "7", "close", "0"], ["Action Status", "7", "close", "0"]),
        (["Navigate", "urn:personyze:doc:Home"], ["Navigate", "urn:personyze:doc:Home"]),
    ],
)  # fmt: skip
def test_every_tracker_command_is_checked_against_the_table(
    raw: list[Any], expected: list[Any]
) -> None:
    assert checked_command(raw) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (["Teleport", "x"], "unknown tracker command 'Teleport'"),
        ([], "a command is an array"),
        ("Product viewed", "a command is an array"),
        (["Product viewed"], "needs the argument item"),
        (["Product viewed", "SKU-1", "action_id"], "has no value"),
        (["Product viewed", "SKU-1", "colour", "red"], "does not accept 'colour'"),
        (["Product viewed", "SKU-1", "action_id", "ten"], "action_id must be a integer"),
        (["Products Purchased", "action_id", 3], "does not accept 'action_id'"),
        (["User profile", "first_name"], "has no value"),
        (["Action Status", 7], "needs the argument status"),
    ],
)
def test_commands_the_tracker_would_refuse_are_caught_before_sending(
    raw: Any, problem: str
) -> None:
    with pytest.raises(TrackerInputError) as err:
        checked_command(raw)
    assert problem in str(err.value)


def test_command_and_navigate_helpers() -> None:
    assert command("Product viewed", "SKU-1", action_id=10) == [
        "Product viewed", "SKU-1", "action_id", 10,
    ]  # fmt: skip
    assert navigate("Default") == ["Navigate", "urn:personyze:doc:Default"]
    assert navigate("My page/2 & more") == [
        "Navigate",
        "urn:personyze:doc:My%20page%2F2%20%26%20more",
    ]
    with pytest.raises(TrackerInputError):
        navigate("")


@pytest.mark.parametrize("value", [0, 123456, -(2**31), 2**32 - 1, "42", "-7"])
def test_user_ids_are_32_bit_integers(value: Any) -> None:
    assert check_user_id(value) == int(value)


@pytest.mark.parametrize("value", [2**32, -(2**31) - 1, "x", None, True, 1.5, "1e3"])
def test_other_user_ids_are_refused(value: Any) -> None:
    with pytest.raises(TrackerInputError):
        check_user_id(value)


def test_device_fields_are_checked() -> None:
    assert Device(languages="en", screen="1920x1080", time_zone=-4).fields() == {
        "languages": "en", "screen": "1920x1080", "time_zone": -4, "device_type": "regular",
    }  # fmt: skip
    for bad in ({"device_type": "watch"}, {"screen": "big"}, {"time_zone": 30}):
        with pytest.raises(TrackerInputError):
            Device(**bad)


# ---------------------------------------------------------------- content assembly


def test_content_is_begin_plus_data_plus_end() -> None:
    wrapper = ActionWrapper(1, "Top", "application/json", "data", "[", "]")
    action = assemble(1, {"data": '{"id":"A"},{"id":"B"}'}, wrapper)
    assert action.content == '[{"id":"A"},{"id":"B"}]'
    assert action.items == [{"id": "A"}, {"id": "B"}]
    html = assemble(4, {"html": "Hi"}, ActionWrapper(4, "Hero", "text/html", "html", "<b>", "</b>"))
    assert (html.content, html.items) == ("<b>Hi</b>", None)


def test_without_a_wrapper_data_is_read_as_a_json_recommendation() -> None:
    assert assemble(9, {"data": '"x",2'}, None).items == ["x", 2]
    assert assemble(9, {"other": "y"}, None).content is None
    assert assemble(9, {"data": "not json"}, None).items is None


# ---------------------------------------------------------------- client over a mock transport

Handler = Callable[[httpx.Request], httpx.Response]


def _answer(
    session_id: str | None, actions: list[dict[str, Any]] | None = None, **extra: Any
) -> httpx.Response:
    body = {"session_id": session_id, "actions": actions or [], "cache_version": 0,
            "conditions": [{"id": 1}], "dismiss_conditions": [], "dismiss_actions": [],
            **extra}  # fmt: skip
    return httpx.Response(200, json=body)


class Server:
    """Answers from a queue of handlers and records what it was sent."""

    def __init__(self, *answers: httpx.Response | Handler) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.method, request.url.path, body))
        if request.url.path.startswith("/rest/actions/"):
            return httpx.Response(200, json=WRAPPERS)
        answer = self.answers.pop(0)
        return answer(request) if callable(answer) else answer

    def tracker_bodies(self) -> list[Any]:
        return [b for m, p, b in self.sent if p == "/rest/tracker-v1"]


def _client(server: Server, **kw: Any) -> TrackerClient:
    settings = ConnectionSettings.from_config({"api_key": KEY, "base_url": BASE, "max_retries": 3})
    return TrackerClient(
        settings, transport=httpx.MockTransport(server), sleep=lambda s: None, **kw
    )


def test_session_id_is_absent_first_then_the_last_received_and_null_keeps_it() -> None:
    server = Server(
        _answer("100 a"), _answer(None), _answer("100 a"), _answer("200 b"), _answer("200 b")
    )
    with _client(server) as tracker:
        assert tracker.send(7, []).session_id == "100 a"
        assert tracker.send(7, []).session_id == "100 a"  # null: keep the old one
        tracker.send(7, [])
        assert tracker.send(7, []).session_id == "200 b"
        tracker.send(7, [navigate("Default")], device=Device(languages="en"))
    bodies = server.tracker_bodies()
    assert "session_id" not in bodies[0]
    assert [b["session_id"] for b in bodies[1:]] == ["100 a", "100 a", "100 a", "200 b"]
    assert bodies[-1] == {"user_id": 7, "languages": "en", "device_type": "regular",
                          "session_id": "200 b",
                          "commands": [["Navigate", "urn:personyze:doc:Default"]]}  # fmt: skip


def test_sessions_are_per_user_and_can_be_seeded() -> None:
    server = Server(_answer("1 x"), _answer("2 y"))
    with _client(server, sessions={8: "0 old"}) as tracker:
        tracker.send(7, [])
        tracker.send(8, [])
        assert tracker.sessions == {7: "1 x", 8: "2 y"}
    assert [b.get("session_id") for b in server.tracker_bodies()] == [None, "0 old"]


def test_actions_are_assembled_with_wrappers_fetched_once() -> None:
    actions = [
        {"id": 1, "data": {"data": '{"internal_id":"A"}'}},
        {"id": "4", "data": {"html": "x"}},
    ]
    server = Server(_answer("1 x", actions), _answer("1 x", actions))
    with _client(server) as tracker:
        first = tracker.send(7, [navigate("Default")])
        tracker.send(7, [navigate("Default")])
    assert [(a.id, a.name, a.items) for a in first.actions] == [
        (1, "Top picks", [{"internal_id": "A"}]), (4, "Hero", None),
    ]  # fmt: skip
    assert first.actions[1].content == "<div>x</div>"
    gets = [p for m, p, b in server.sent if m == "GET"]
    assert len(gets) == 1 and "where/id:1,4" in gets[0]
    assert first.conditions == (1,)


def test_a_higher_cache_version_drops_the_wrappers() -> None:
    actions = [{"id": 1, "data": {"data": "1"}}]
    server = Server(_answer("1 x", actions), _answer("1 x", actions, cache_version=5))
    with _client(server) as tracker:
        tracker.send(7, [])
        tracker.send(7, [])
    assert len([m for m, p, b in server.sent if m == "GET"]) == 2


def test_a_500_is_the_tracker_error_text_and_is_not_retried() -> None:
    server = Server(httpx.Response(500, text="Unknown command 'Teleport'"))
    with _client(server) as tracker, pytest.raises(TrackerError) as err:
        tracker.send(7, [["Navigate", "urn:personyze:doc:x"]])
    assert str(err.value) == "Unknown command 'Teleport'"
    assert err.value.status == 500 and len(server.sent) == 1


def test_a_503_is_retried_and_a_401_is_a_configuration_error() -> None:
    server = Server(httpx.Response(503, text="busy"), httpx.Response(502), _answer("1 x"))
    with _client(server) as tracker:
        assert tracker.send(7, []).session_id == "1 x"
        assert tracker.stats.requests_sent == 3
    server = Server(*[httpx.Response(503, text="busy")] * 4)
    with _client(server) as tracker, pytest.raises(RetriesExhausted) as exhausted:
        tracker.send(7, [])
    assert exhausted.value.attempts == 4
    server = Server(httpx.Response(401, text="Invalid API key"))
    with _client(server) as tracker, pytest.raises(ConfigurationError) as err:
        tracker.send(7, [])
    assert "Full-featured" in str(err.value) and KEY not in str(err.value)


def test_an_empty_200_is_an_error() -> None:
    server = Server(httpx.Response(200, text=""))
    with _client(server) as tracker, pytest.raises(Exception, match="empty body"):
        tracker.send(7, [])


# ---------------------------------------------------------------- settings, state, stream


def test_recommendation_settings() -> None:
    base = {"api_key": KEY}
    s = ConnectionSettings.from_config(
        {**base, "recommendation_user_ids": ["5", 6, 5, -1], "recommendation_user_list_id": 3}
    )
    assert s.recommendation_user_ids == (5, 6, -1)
    assert (s.recommendation_user_list_id, s.recommendation_document) == (3, "Default")
    assert ConnectionSettings.from_config(
        {**base, "recommendation_user_ids": "1, 2"}
    ).recommendation_user_ids == (1, 2)
    assert ConnectionSettings.from_config(
        {**base, "recommendation_user_ids": "[3]"}
    ).recommendation_user_ids == (3,)
    options = ReadOptions.from_settings(
        ConnectionSettings.from_config(
            {**base, "recommendation_user_ids": [9], "recommendation_document": "Shop"}
        )
    )
    assert (options.recommendation_user_ids, options.recommendation_document) == ((9,), "Shop")
    with pytest.raises(SettingsError, match="recommendation_user_ids"):
        ConnectionSettings.from_config({**base, "recommendation_user_ids": [2**40]})
    read = [s.name for s in default_specs().connection.settings if "read" in s.applies_to]
    assert {
        "recommendation_user_ids",
        "recommendation_user_list_id",
        "recommendation_document",
    } <= set(read)


def test_sessions_state_round_trip() -> None:
    state = sessions_state({7: "1 a", -3: "2 b"})
    assert state == {"sessions": {"-3": "2 b", "7": "1 a"}}
    assert sessions_of(state) == {7: "1 a", -3: "2 b"}
    assert sessions_of({"sessions": {"x": "1", "8": None, "9": "3 c"}}) == {9: "3 c"}
    assert sessions_of(None) == {} and sessions_of({"sessions": []}) == {}


def test_discover_lists_the_recommendations_stream() -> None:
    (stream,) = [s for s in discover(None, default_specs()) if s.name == "recommendations"]
    assert stream.primary_key == ("user_id", "action_id", "rank")
    assert stream.cursor_field is None and stream.partition_field is None
    props = stream.json_schema["properties"]
    assert {"user_id", "action_id", "action_name", "rank", "fetched_at"} <= set(props)
    assert stream.json_schema["additionalProperties"] is True
