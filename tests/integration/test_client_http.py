"""The core client (connectors/client.py) against real sandboxes over HTTP on loopback.

Every test also checks that the API key never shows up in a log record of the `personyze`,
`httpx` or `httpcore` loggers, nor in the str/repr of an exception the client raised.
"""

from __future__ import annotations

import base64
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.api.client import PersonyzeClient
from connectors.api.errors import (
    ConfigurationError,
    PersonyzeError,
    RetriesExhausted,
    RowCapExceeded,
    RowNotFound,
    WholeTableRefused,
)
from connectors.api.query import Query, all_of, cond
from connectors.read.pace import is_far
from connectors.settings import ConnectionSettings
from personyze_sandbox.process import RunningSandbox, new_api_key, running_sandbox
from personyze_sandbox.server import FaultPlan

pytestmark = pytest.mark.integration

LOGGERS = ("personyze", "httpx", "httpcore")


def _forms(key: str) -> list[str]:
    return [
        key,
        key.lower(),
        base64.b64encode(f"api:{key}".encode()).decode(),
        base64.b64encode(key.encode()).decode(),
    ]


def make_client(
    sb: RunningSandbox,
    *,
    key: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **config: Any,
) -> PersonyzeClient:
    settings = ConnectionSettings.from_config(
        {"api_key": key or sb.api_key, "base_url": sb.base_url, **config}
    )
    return PersonyzeClient(settings, sleep=sleep)


def assert_clean(exc: BaseException, *keys: str) -> None:
    """Neither the exception nor what it wraps mentions a key in any form."""
    seen: BaseException | None = exc
    while seen is not None:
        for text in (str(seen), repr(seen), str(getattr(seen, "body", "")), str(seen.args)):
            for key in keys:
                for form in _forms(key):
                    assert form not in text, (type(seen).__name__, text)
        seen = seen.__cause__ or seen.__context__


@pytest.fixture(autouse=True)
def keys_never_logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Tests append the keys they use; every record captured at DEBUG is checked afterwards."""
    keys: list[str] = []
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    yield keys
    captured = caplog.get_records("setup") + caplog.get_records("call")
    records = [r for r in captured if r.name.split(".")[0] in LOGGERS]
    assert records  # every test sends requests, and httpx logs each one
    for record in records:
        text = record.getMessage() + repr(record.args) + str(record.exc_text or "")
        for key in keys:
            for form in _forms(key):
                assert form not in text, record


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningSandbox]:
    with running_sandbox("demo", seed=3) as sb:
        yield sb


def test_round_trips(demo: RunningSandbox, keys_never_logged: list[str]) -> None:
    keys_never_logged.append(demo.api_key)
    with make_client(demo) as client:
        list_id = client.post("user_lists", {"name": "Client list"})
        assert isinstance(list_id, int)
        one = Query("user_lists", id=str(list_id))
        assert client.get(one) == {"id": list_id, "name": "Client list"}
        assert client.put(one, {"name": "Renamed"}) == 1
        assert client.get(one)["name"] == "Renamed"

        title = "Drill & driver / 18V, 50% off = deal | naïve"
        pid = client.post("products", {"internal_id": "CLIENT-1", "title": title, "price": 9.5})
        by_title = Query(
            "products",
            where=all_of(cond("title", "=", title)),
            columns=("id", "title", "price"),
        )
        assert client.get(by_title) == [{"id": pid, "title": title, "price": 9.5}]
        listed = Query("products", where=all_of(cond("title", ":", [title, "nothing"])))
        assert [r["id"] for r in client.get(listed)] == [pid]
        by_key = Query("products", where=all_of(cond("internal_id", "=", "CLIENT-1")))
        assert client.put(by_key, {"price": 11}) == 1
        assert client.get(Query("products", id=str(pid), column="price")) is not None
        assert client.get(Query("products", where=by_key.where, column="price")) == [11]

        uid = client.post("users", {"email": "client@example.com", "first_name": "Cli"})
        users = client.get(Query("users", where=all_of(cond("email", "=", "client@example.com"))))
        assert [(u["user_id"], u["first_name"]) for u in users] == [(uid, "Cli")]
        assert client.post("do", [["user_id", uid, "User profile", "last_name", "Ent"]]) is None
        assert client.get(Query("users", id=str(uid)))["last_name"] == "Ent"

        assert client.delete(by_key) == 1
        assert client.delete(one) == 1
        assert client.delete(one) == 0
        assert client.get(by_key) == []
        with pytest.raises(RowNotFound) as info:
            client.get(one)
        assert_clean(info.value, demo.api_key)
        assert client.stats.retries == 0 and client.stats.requests_sent >= 19


def test_read_errors(demo: RunningSandbox, keys_never_logged: list[str]) -> None:
    keys_never_logged.append(demo.api_key)
    with make_client(demo) as client:
        ranged = Query("users", where=all_of(cond("user_id", ">", 0)), limit=51)
        with pytest.raises(RowCapExceeded) as cap:
            client.get(ranged)
        assert cap.value.status == 400 and cap.value.body == ""
        assert len(client.get(Query("users", where=ranged.where, limit=50))) == 50
        deep = Query("users", order_by=("user_id",), offset=999, limit=2)
        with pytest.raises(RowCapExceeded):
            client.get(deep)
        with pytest.raises(RowNotFound) as missing:
            client.get(Query("users", id="99999999"))
        with pytest.raises(WholeTableRefused) as whole:
            client.get(Query("users"))
        assert "whole table" in str(whole.value)
        for exc in (cap.value, missing.value, whole.value):
            assert_clean(exc, demo.api_key)
        assert client.stats.retries == 0  # none of these is retried


def test_wrong_key_is_a_configuration_error(
    demo: RunningSandbox, keys_never_logged: list[str]
) -> None:
    wrong = new_api_key()
    keys_never_logged.extend([wrong, demo.api_key])
    with make_client(demo, key=wrong) as client:
        for call in (
            lambda: client.get(Query("account")),
            lambda: client.post("users", {"email": "nope@example.com"}),
        ):
            with pytest.raises(ConfigurationError) as info:
                call()
            message = str(info.value)
            assert "check api_key" in message.lower()
            assert info.value.status == 401
            assert_clean(info.value, wrong, demo.api_key)
        assert client.stats.retries == 0
        assert wrong not in repr(client) and wrong not in repr(client.settings)
    with make_client(demo) as client:
        found = client.get(Query("users", where=all_of(cond("email", "=", "nope@example.com"))))
        assert found == []


def test_faults_are_retried(keys_never_logged: list[str]) -> None:
    with running_sandbox("empty", seed=4, fault_rate=0.3, extra_args=["--slow-ms", "50"]) as sb:
        keys_never_logged.append(sb.api_key)
        delays: list[float] = []

        def short_sleep(seconds: float) -> None:  # real waits, a tenth of the backoff
            delays.append(seconds)
            time.sleep(seconds / 10)

        with make_client(sb, sleep=short_sleep) as client:
            results = [client.get(Query("placeholders")) for _ in range(100)]
            assert results == [[]] * 100
            assert client.stats.retries > 0
            assert client.stats.requests_sent == 100 + client.stats.retries
            assert len(delays) == client.stats.retries
            assert all(0 <= d <= 30 for d in delays)


def test_the_quickest_exchange_is_measured(keys_never_logged: list[str]) -> None:
    """What tells a read the API is far (connectors.read.pace.is_far): the quickest answered
    exchange of the client, never less than the API's own delay."""
    with running_sandbox("empty", seed=4, latency_ms=60) as sb:
        keys_never_logged.append(sb.api_key)
        with make_client(sb) as client:
            assert client.stats.fastest == math.inf
            for _ in range(3):
                assert client.get(Query("placeholders")) == []
            assert 0.06 <= client.stats.fastest < 5
            assert is_far(client)


def _seed_whose_first_fault_fails() -> int:
    """A seed for which the sandbox's first fault is a failure, not just a slow answer."""
    for seed in range(100):
        if FaultPlan(1.0, seed).next() != "slow":
            return seed
    raise AssertionError("no seed found")


def test_retries_are_bounded(keys_never_logged: list[str]) -> None:
    seed = _seed_whose_first_fault_fails()
    with running_sandbox("empty", seed=seed, fault_rate=1.0, extra_args=["--slow-ms", "50"]) as sb:
        keys_never_logged.append(sb.api_key)
        with make_client(sb, max_retries=0) as client:
            with pytest.raises(RetriesExhausted) as info:
                client.get(Query("placeholders"))
            assert info.value.attempts == 1
            assert client.stats.requests_sent == 1 and client.stats.retries == 0
            assert_clean(info.value, sb.api_key)
        with make_client(sb, max_retries=2) as client:
            try:
                client.get(Query("placeholders"))
            except RetriesExhausted as exc:
                assert exc.attempts == 3
                assert_clean(exc, sb.api_key)
            assert client.stats.requests_sent <= 3


def test_throttled_user_inserts_are_retried(keys_never_logged: list[str]) -> None:
    with running_sandbox("empty", latency_ms=1500) as sb:
        keys_never_logged.append(sb.api_key)
        with make_client(sb) as client:
            ids: list[int] = []
            errors: list[BaseException] = []
            together = threading.Barrier(2)

            def post(n: int) -> None:
                together.wait(timeout=30)
                try:
                    ids.append(client.post("users", {"email": f"throttle{n}@example.com"}))
                except PersonyzeError as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert errors == [] and len(set(ids)) == 2
            assert client.stats.retries >= 1
            emails = ["throttle0@example.com", "throttle1@example.com"]
            rows = client.get(
                Query("users", where=all_of(cond("email", ":", emails)), columns=("user_id",))
            )
            assert sorted(r["user_id"] for r in rows) == sorted(ids)
