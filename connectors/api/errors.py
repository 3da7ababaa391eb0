"""Every error the Personyze client raises, and the one table that decides which.

::

    PersonyzeError                 base; .object, .operation, .status, .body where known
    ├── ConfigurationError         401 (no/unknown/revoked key, plain http), 403, redirects:
    │                              fix api_key or base_url, retrying cannot help
    ├── RequestError               400 and other 4xx: the request itself is wrong, not retried
    │   ├── WholeTableRefused      'Cannot do this operation on whole table': add an indexed
    │   │                          where or order_by
    │   ├── RowCapExceeded         bare 400: offset+limit > 1000, or > 50 rows for a slow query
    │   ├── RowNotFound            'Row not found': single-id GET of an id that does not exist
    │   └── UserNotFound           'User not found by ...': the user key resolves to no profile
    ├── RetryableError             5xx, 503, 408, timeouts, dropped connections: retried
    │   ├── Throttled              400 'Too many simultaneous requests' (retry_texts of
    │   │                          connection.json) and 429: retried with backoff
    │   └── OutcomeUnknown         a POST was sent but its answer was lost (read timeout,
    │                              dropped connection); it may have been applied, so the client
    │                              does not resend it and the write engine decides
    └── RetriesExhausted           a retryable error persisted past max_retries or the time
                                   budget; .last is that error, .attempts and .elapsed say how
                                   long the client tried

Personyze answers errors as plain text (api §3): only a few texts are documented and REST
validation errors are all 400, so the class depends on status and body together. ``RULES``
holds that mapping; ``classify`` and ``error_for_response`` are its only readers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from connectors.spec.loader import default_specs

# How much of a response body a message quotes; the whole body stays in ``.body``.
_QUOTED_BODY = 200


class PersonyzeError(Exception):
    """Base of every client error; the message names the object, the operation and what to do."""

    # Only the user can fix it (settings, key, mappings, input): adapters report it as a
    # configuration error instead of retrying (``connectors.api.failures``).
    user_fixable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        object: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.object = object
        self.operation = operation
        self.status = status
        self.body = body

    def __str__(self) -> str:
        return self.message


class ConfigurationError(PersonyzeError):
    """The connection settings are wrong (key, role or base_url); retrying cannot help."""

    user_fixable = True


class RequestError(PersonyzeError):
    """Personyze refused the request as the caller's mistake; not retried."""


class WholeTableRefused(RequestError):
    """The query has no usable indexed where/order_by on a table that refuses full scans."""


class RowCapExceeded(RequestError):
    """A bare 400: offset+limit over 1000, or more than 50 rows for a slow query."""


class RowNotFound(RequestError):
    """A single-id GET named an id that does not exist."""


class UserNotFound(RequestError):
    """A user key (email, internal id, user_id) resolved to no profile."""


class RetryableError(PersonyzeError):
    """A failure that may pass on its own: server errors, timeouts, dropped connections."""


class Throttled(RetryableError):
    """Personyze refused the request for now (serialised inserts, rate limit)."""


class OutcomeUnknown(RetryableError):
    """A non-idempotent request was sent and its answer lost; it may have been applied."""


class RetriesExhausted(PersonyzeError):
    """A retryable error persisted through every attempt the client was allowed."""

    def __init__(self, last: RetryableError, *, attempts: int, elapsed: float) -> None:
        what = _what(last.object, last.operation)
        super().__init__(
            f"{what} gave up after {attempts} attempt{'s' if attempts != 1 else ''} over "
            f"{elapsed:.1f}s; last error: {last}. Try again later, or raise max_retries or "
            "request_timeout if Personyze is slow",
            object=last.object,
            operation=last.operation,
            status=last.status,
            body=last.body,
        )
        self.last = last
        self.attempts = attempts
        self.elapsed = elapsed


def _retry_text(status: int, body: str) -> bool:
    return status == 400 and any(t in body for t in default_specs().connection.retry_texts)


@dataclass(frozen=True)
class Rule:
    """Responses for which ``matches`` is true raise ``error``; ``advice`` says what to do."""

    description: str
    matches: Callable[[int, str], bool]
    error: type[PersonyzeError]
    advice: str

    @property
    def retry(self) -> bool:
        return issubclass(self.error, RetryableError)


_CHECK_KEY = (
    "check api_key (Personyze: Settings → Integrations → API, the Full-featured API key) and "
    "that base_url uses https; Personyze answers 401 to a missing, unknown or revoked key and to "
    "plain http"
)
_CHECK_URL = (
    "check base_url (the REST root, e.g. https://app.personyze.com/rest) and the object name"
)
_RETRIED = "Personyze is busy or failing; the client retries with backoff"

# Body texts are stripped before matching. First match wins.
RULES: tuple[Rule, ...] = (
    Rule(
        "401 any body ('Please, log in', bad key, plain http)",
        lambda s, b: s == 401,
        ConfigurationError,
        _CHECK_KEY,
    ),
    Rule(
        "403 any body (undocumented; the key's role does not allow this)",
        lambda s, b: s == 403,
        ConfigurationError,
        "use a key with the role for this operation (the Full-featured API key)",
    ),
    Rule(
        "400 containing a retry text of connection.json ('Too many simultaneous requests')",
        _retry_text,
        Throttled,
        "Personyze serialises this operation per account; the client retries with backoff",
    ),
    Rule(
        "400 'Cannot do this operation on whole table'",
        lambda s, b: s == 400 and b.startswith("Cannot do this operation on whole table"),
        WholeTableRefused,
        "filter (where) or order (order_by) on an indexed column of this object",
    ),
    Rule(
        "400 'Row not found'",
        lambda s, b: s == 400 and b.startswith("Row not found"),
        RowNotFound,
        "no row has this id; check the id or read with a where instead",
    ),
    Rule(
        "400 'User not found by ...'",
        lambda s, b: s == 400 and b.startswith("User not found by"),
        UserNotFound,
        "create the user first or match it by a key that exists (email or user_id)",
    ),
    Rule(
        "400 with an empty body (row cap)",
        lambda s, b: s == 400 and not b,
        RowCapExceeded,
        "ask for fewer rows: offset+limit may not exceed 1000, and a range or non-indexed "
        "filter may return at most 50 rows per request",
    ),
    Rule(
        "400 any other text",
        lambda s, b: s == 400,
        RequestError,
        "Personyze refused the request; check the object, columns and values it names",
    ),
    Rule("429 (undocumented rate limit)", lambda s, b: s == 429, Throttled, _RETRIED),
    Rule("408 request timeout", lambda s, b: s == 408, RetryableError, _RETRIED),
    Rule("5xx, including 503", lambda s, b: 500 <= s <= 599, RetryableError, _RETRIED),
    Rule(
        "3xx redirect",
        lambda s, b: 300 <= s <= 399,
        ConfigurationError,
        "Personyze answered a redirect; " + _CHECK_URL,
    ),
    Rule("other 4xx (404 and friends)", lambda s, b: 400 <= s <= 499, RequestError, _CHECK_URL),
    Rule(
        "anything else",
        lambda s, b: True,
        PersonyzeError,
        "unexpected answer from Personyze; try again later or report it",
    ),
)


def rule_for(status: int, body: str) -> Rule:
    """The first rule of ``RULES`` matching a non-success response."""
    text = body.strip()
    return next(rule for rule in RULES if rule.matches(status, text))


def classify(status: int, body: str) -> type[PersonyzeError]:
    return rule_for(status, body).error


def should_retry(status: int, body: str) -> bool:
    return rule_for(status, body).retry


def error_for_response(
    status: int, body: str, *, object: str | None, operation: str | None
) -> PersonyzeError:
    """The error to raise for a non-success response. ``body`` must already be redacted."""
    rule = rule_for(status, body)
    text = body.strip()
    quoted = repr(_clip(text)) if text else "with an empty body"
    return rule.error(
        f"{_what(object, operation)} failed: HTTP {status} {quoted}. {_capital(rule.advice)}",
        object=object,
        operation=operation,
        status=status,
        body=body,
    )


def _what(object: str | None, operation: str | None) -> str:
    return f"Personyze {object or 'API'} {operation or 'request'}"


def _clip(text: str) -> str:
    return text if len(text) <= _QUOTED_BODY else text[:_QUOTED_BODY] + "…"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
