"""PersonyzeClient over httpx.MockTransport: only what a real server cannot show deterministically
(header form, retry bounds and delays, POST safety on lost answers, redaction everywhere).
Behaviour against real HTTP is covered by the integration tests on the sandbox."""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from connectors.api.client import BACKOFF_BASE, BACKOFF_CAP, PersonyzeClient
from connectors.api.errors import (
    ConfigurationError,
    OutcomeUnknown,
    PersonyzeError,
    RetriesExhausted,
    RowNotFound,
    Throttled,
)
from connectors.api.query import Query, all_of, build_path, cond
from connectors.settings import ConnectionSettings

KEY = "FD09908F25BECB09D78EBEA1DADFB618651F612D"
BASIC = base64.b64encode(f"api:{KEY}".encode()).decode()
BASE = "https://personyze.test/rest"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that replays scripted answers and keeps every request."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)


def make_client(
    recorder: Recorder,
    *,
    max_retries: int = 3,
    clock: Callable[[], float] | None = None,
    budget: float = 300.0,
) -> tuple[PersonyzeClient, list[float]]:
    sleeps: list[float] = []
    settings = ConnectionSettings.from_config(
        {"api_key": KEY, "base_url": BASE, "max_retries": max_retries}
    )
    client = PersonyzeClient(
        settings,
        transport=httpx.MockTransport(recorder),
        sleep=sleeps.append,
        rng=random.Random(7),
        clock=clock or (lambda: 0.0),
        retry_budget=budget,
    )
    return client, sleeps


@pytest.fixture
def no_leak(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert KEY not in caplog.text and BASIC not in caplog.text


def test_auth_header_only_and_no_key_in_url() -> None:
    rec = Recorder(httpx.Response(200, json=[{"user_id": 1}]))
    client, _ = make_client(rec)
    q = Query("users", where=all_of(cond("email", "=", "a&b@x.com")), limit=10, offset=0)
    assert client.get(q) == [{"user_id": 1}]
    request = rec.requests[0]
    assert request.headers["Authorization"] == f"Basic {BASIC}"
    assert base64.b64decode(BASIC).decode() == f"api:{KEY}"
    assert request.headers["User-Agent"].startswith("personyze-connectors/")
    assert request.url.userinfo == b""
    assert KEY not in str(request.url)
    # Values stay encoded exactly once more than the grammar asks: httpx must not re-encode '%'.
    assert request.url.raw_path.decode() == "/rest/" + build_path(q)
    assert KEY not in repr(client)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(200, json=[{"id": 1}]), [{"id": 1}]),
        (httpx.Response(200, json={"id": 1}), {"id": 1}),
        (httpx.Response(200, json=["a", "b"]), ["a", "b"]),
        (httpx.Response(200, text="12"), 12),
        (httpx.Response(200, text="null"), None),
    ],
)
def test_get_decodes_every_documented_shape(answer: httpx.Response, expected: Any) -> None:
    client, _ = make_client(Recorder(answer))
    assert client.get(Query("users", id="1")) == expected


def test_post_put_delete_bodies() -> None:
    rec = Recorder(
        httpx.Response(200, text=""),
        httpx.Response(200, text="5712334"),
        httpx.Response(200, text="3"),
        httpx.Response(200, text='"2"'),
    )
    client, _ = make_client(rec)
    assert client.post("do", {"commands": [["email", "a@b.c", "User profile"]]}) is None
    assert client.post("/products", {"internal_id": "é"}) == 5712334
    assert client.put(Query("products", id="9"), {"title": "x"}) == 3
    assert client.delete(Query("products", id="9")) == 2
    assert rec.requests[1].headers["Content-Type"] == "application/json"
    assert rec.requests[1].content.decode() == '{"internal_id":"é"}'
    assert [r.method for r in rec.requests] == ["POST", "POST", "PUT", "DELETE"]
    assert str(rec.requests[1].url) == f"{BASE}/products"


def test_get_text_returns_html() -> None:
    client, _ = make_client(Recorder(httpx.Response(200, text="<script>x</script>")))
    assert client.get_text("tracker_code") == "<script>x</script>"


@pytest.mark.parametrize(
    ("call", "body", "fragment"),
    [
        ("get", "<html>login</html>", "not JSON"),
        ("get", "", "empty body"),
        ("put", '{"a": 1}', "row count"),
        ("post", "oops", "not JSON"),
    ],
)
def test_unexpected_success_bodies_name_the_object(call: str, body: str, fragment: str) -> None:
    client, _ = make_client(Recorder(httpx.Response(200, text=body)))
    with pytest.raises(PersonyzeError) as info:
        if call == "get":
            client.get(Query("users", id="1"))
        elif call == "put":
            client.put(Query("users", id="1"), {"a": 1})
        else:
            client.post("users", {"a": 1})
    assert str(info.value).startswith("Personyze users ")
    assert fragment in str(info.value)
    assert info.value.object == "users"


def test_retries_are_bounded_and_delays_follow_full_jitter(no_leak: None) -> None:
    rec = Recorder(httpx.Response(503, text="busy"))
    client, sleeps = make_client(rec, max_retries=5)
    with pytest.raises(RetriesExhausted) as info:
        client.get(Query("users", id="1"))
    assert len(rec.requests) == 6
    assert len(sleeps) == 5
    for attempt, delay in enumerate(sleeps, start=1):
        assert 0 <= delay <= min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    assert info.value.attempts == 6 and info.value.status == 503
    assert "gave up after 6 attempts" in str(info.value)
    assert client.stats.requests_sent == 6 and client.stats.retries == 5


def test_zero_retries_means_one_attempt() -> None:
    rec = Recorder(httpx.Response(500))
    client, sleeps = make_client(rec, max_retries=0)
    with pytest.raises(RetriesExhausted):
        client.get(Query("users", id="1"))
    assert len(rec.requests) == 1 and sleeps == []


def test_delays_never_exceed_the_cap() -> None:
    rec = Recorder(httpx.Response(502))
    client, sleeps = make_client(rec, max_retries=20, budget=10_000)
    with pytest.raises(RetriesExhausted):
        client.get(Query("users", id="1"))
    assert max(sleeps) <= BACKOFF_CAP


def test_total_time_budget_stops_before_the_attempts_run_out() -> None:
    now = [0.0]
    rec = Recorder(httpx.Response(503))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    settings = ConnectionSettings.from_config({"api_key": KEY, "base_url": BASE, "max_retries": 20})
    client = PersonyzeClient(
        settings,
        transport=httpx.MockTransport(rec),
        sleep=sleep,
        rng=random.Random(1),
        clock=lambda: now[0],
        retry_budget=20.0,
    )
    with pytest.raises(RetriesExhausted) as info:
        client.get(Query("users", id="1"))
    assert sum(sleeps) <= 20.0
    assert len(rec.requests) < 21
    assert info.value.elapsed <= 20.0


def test_retry_after_is_honoured(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder(httpx.Response(503, headers={"Retry-After": "7"}), httpx.Response(200, json=[]))
    client, sleeps = make_client(rec)
    with caplog.at_level(logging.WARNING, logger="personyze.client"):
        assert client.get(Query("users", id="1")) == []
    assert sleeps[0] >= 7
    (record,) = caplog.records
    assert record.name == "personyze.client" and record.levelno == logging.WARNING
    assert "GET users/1 (attempt 2 of 4) in 7.00s" in record.getMessage()
    assert "HTTP 503" in record.getMessage()


@pytest.mark.parametrize(
    ("method", "failure", "attempts", "error"),
    [
        ("POST", httpx.ReadTimeout("timed out"), 1, OutcomeUnknown),
        ("POST", httpx.RemoteProtocolError("Server disconnected"), 1, OutcomeUnknown),
        ("POST", httpx.ReadError("connection reset"), 1, OutcomeUnknown),
        ("POST", httpx.WriteTimeout("timed out"), 1, OutcomeUnknown),
        ("POST", httpx.ConnectError("refused"), 4, RetriesExhausted),
        ("POST", httpx.ConnectTimeout("timed out"), 4, RetriesExhausted),
        ("POST", httpx.Response(503), 4, RetriesExhausted),
        ("POST", httpx.Response(400, text="Too many simultaneous requests"), 4, RetriesExhausted),
        ("GET", httpx.ReadTimeout("timed out"), 4, RetriesExhausted),
        ("GET", httpx.RemoteProtocolError("Server disconnected"), 4, RetriesExhausted),
        ("PUT", httpx.ReadError("connection reset"), 4, RetriesExhausted),
        ("DELETE", httpx.ReadTimeout("timed out"), 4, RetriesExhausted),
        ("GET", httpx.Response(401, text="Please, log in"), 1, ConfigurationError),
        ("GET", httpx.Response(400, text="Row not found"), 1, RowNotFound),
        ("GET", httpx.UnsupportedProtocol("no"), 1, ConfigurationError),
    ],
)
def test_what_is_retried(
    method: str, failure: httpx.Response | Exception, attempts: int, error: type[Exception]
) -> None:
    rec = Recorder(failure)
    client, sleeps = make_client(rec, max_retries=3)
    with pytest.raises(error) as info:
        client.request(method, "users/1", {"a": 1} if method in ("POST", "PUT") else None)
    assert len(rec.requests) == attempts
    assert len(sleeps) == attempts - 1
    assert type(info.value) is error


def test_throttled_is_wrapped_and_succeeds_when_it_passes() -> None:
    throttled = httpx.Response(400, text="Too many simultaneous requests")
    rec = Recorder(throttled, throttled, httpx.Response(200, text="42"))
    client, sleeps = make_client(rec)
    assert client.post("users", {"email": "a@b.c"}) == 42
    assert len(sleeps) == 2 and client.stats.retries == 2

    client, _ = make_client(Recorder(throttled), max_retries=1)
    with pytest.raises(RetriesExhausted) as info:
        client.post("users", {"email": "a@b.c"})
    assert isinstance(info.value.last, Throttled)


def test_outcome_unknown_names_object_and_advice() -> None:
    client, _ = make_client(Recorder(httpx.ReadTimeout("timed out")))
    with pytest.raises(OutcomeUnknown) as info:
        client.post("do", {"commands": []})
    assert info.value.object == "do" and info.value.operation == "write"
    assert "may or may not have been applied" in str(info.value)


def echo_key(request: httpx.Request) -> httpx.Response:
    # A misbehaving proxy that echoes the request's credentials in every form.
    return httpx.Response(
        500, text=f"{request.headers['Authorization']} {KEY} https://api:{KEY}@h/rest"
    )


@pytest.mark.parametrize(
    "failure",
    [
        echo_key,
        httpx.ReadTimeout(f"timed out talking to https://api:{KEY}@h/rest"),
        httpx.ConnectError(f"refused {KEY}"),
        httpx.Response(401, text=f"bad key {KEY}"),
        httpx.Response(200, text=f"<html>{KEY}</html>"),
    ],
)
def test_key_never_in_logs_or_exceptions(
    failure: Handler | Exception | httpx.Response, no_leak: None
) -> None:
    client, _ = make_client(Recorder(failure), max_retries=2)
    for call in (
        lambda: client.get(Query("users", where=all_of(cond("email", "=", "a@b.c")))),
        lambda: client.post("users", {"email": "a@b.c"}),
    ):
        with pytest.raises(PersonyzeError) as info:
            call()
        exc: BaseException | None = info.value
        while exc is not None:
            if isinstance(exc, PersonyzeError):
                for text in (str(exc), repr(exc), str(exc.body), repr(exc.args)):
                    assert KEY not in text and BASIC not in text
            exc = exc.__cause__ if isinstance(exc, PersonyzeError) else None


def test_context_manager_closes_and_detaches_the_log_filter() -> None:
    logger = logging.getLogger("personyze.client")
    before = len(logger.filters)
    with make_client(Recorder(httpx.Response(200, json=[])))[0] as client:
        assert len(logger.filters) == before + 1
    assert len(logger.filters) == before
    with pytest.raises(RuntimeError):
        client.get(Query("users", id="1"))


def test_a_request_in_flight_when_its_client_closes_ends_without_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A read that is dropped (a head start no stream took over) closes its client while its
    requests are in flight: they end at once, with no retry and no advice to check the network
    (it was a ReadError 'Bad file descriptor', retried with warnings for seconds)."""
    closing: list[PersonyzeClient] = []

    def closed_mid_request(request: httpx.Request) -> httpx.Response:
        closing[0].close()
        raise httpx.ReadError("[Errno 9] Bad file descriptor", request=request)

    recorder = Recorder(closed_mid_request)
    client, sleeps = make_client(recorder)
    closing.append(client)
    with (
        caplog.at_level(logging.WARNING, logger="personyze.client"),
        pytest.raises(PersonyzeError, match="users read stopped: the connection was closed"),
    ):
        client.get(Query("users", id="1"))
    assert len(recorder.requests) == 1 and sleeps == []
    assert caplog.records == []
