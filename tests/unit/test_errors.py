"""The classification table: each documented status/text → error class and retry decision."""

from __future__ import annotations

import pytest

from connectors.api.errors import (
    RULES,
    ConfigurationError,
    OutcomeUnknown,
    PersonyzeError,
    RequestError,
    RetriesExhausted,
    RetryableError,
    RowCapExceeded,
    RowNotFound,
    Throttled,
    UserNotFound,
    WholeTableRefused,
    classify,
    error_for_response,
    rule_for,
    should_retry,
)
from connectors.spec.loader import default_specs

CASES = [
    (401, "Please, log in", ConfigurationError, False),
    (401, "Invalid API key", ConfigurationError, False),
    (401, "", ConfigurationError, False),
    (403, "Forbidden", ConfigurationError, False),
    (400, "Too many simultaneous requests", Throttled, True),
    (400, "Too many simultaneous requests\n", Throttled, True),
    (400, "Cannot do this operation on whole table", WholeTableRefused, False),
    (400, "Row not found", RowNotFound, False),
    (400, "User not found by email=a@b.c", UserNotFound, False),
    (400, "", RowCapExceeded, False),
    (400, "  \n", RowCapExceeded, False),
    (400, "Unknown column 'x' in users", RequestError, False),
    (404, "Not Found", RequestError, False),
    (405, "", RequestError, False),
    (429, "", Throttled, True),
    (408, "", RetryableError, True),
    (500, "tracker failed", RetryableError, True),
    (502, "<html>Bad gateway</html>", RetryableError, True),
    (503, "", RetryableError, True),
    (504, "", RetryableError, True),
    (301, "", ConfigurationError, False),
    (100, "", PersonyzeError, False),
]


@pytest.mark.parametrize(("status", "body", "error", "retry"), CASES)
def test_classification(status: int, body: str, error: type[PersonyzeError], retry: bool) -> None:
    assert classify(status, body) is error
    assert should_retry(status, body) is retry


def test_every_retry_text_of_connection_json_is_throttled() -> None:
    for text in default_specs().connection.retry_texts:
        assert classify(400, text) is Throttled


def test_every_rule_is_reachable_and_the_last_catches_all() -> None:
    reached = {rule_for(status, body).description for status, body, _, _ in CASES}
    assert reached == {rule.description for rule in RULES}
    assert RULES[-1].matches(999, "anything")


def test_retry_decision_follows_the_class() -> None:
    for rule in RULES:
        assert rule.retry == issubclass(rule.error, RetryableError)
    assert issubclass(Throttled, RetryableError)
    assert issubclass(OutcomeUnknown, RetryableError)
    assert not issubclass(RetriesExhausted, RetryableError)
    assert issubclass(RowNotFound, RequestError) and issubclass(RowCapExceeded, RequestError)


@pytest.mark.parametrize(("status", "body", "error", "retry"), CASES)
def test_message_names_object_operation_and_what_to_do(
    status: int, body: str, error: type[PersonyzeError], retry: bool
) -> None:
    exc = error_for_response(status, body, object="users", operation="read")
    assert type(exc) is error
    text = str(exc)
    assert text.startswith("Personyze users read failed: HTTP ")
    assert rule_for(status, body).advice[1:] in text
    assert (exc.object, exc.operation, exc.status, exc.body) == ("users", "read", status, body)


def test_401_says_check_api_key() -> None:
    assert (
        "check api_key"
        in str(error_for_response(401, "Please, log in", object="users", operation="read")).lower()
    )


def test_long_bodies_are_clipped_in_the_message_but_kept_whole() -> None:
    body = "x" * 5000
    exc = error_for_response(400, body, object="users", operation="read")
    assert len(str(exc)) < 600
    assert exc.body == body


def test_retries_exhausted_wraps_the_last_error() -> None:
    last = error_for_response(503, "", object="products", operation="write")
    assert isinstance(last, RetryableError)
    exc = RetriesExhausted(last, attempts=7, elapsed=93.31)
    assert exc.last is last and exc.attempts == 7 and exc.status == 503
    text = str(exc)
    assert text.startswith("Personyze products write gave up after 7 attempts over 93.3s")
    assert "HTTP 503" in text
    assert repr(exc).startswith("RetriesExhausted(")
