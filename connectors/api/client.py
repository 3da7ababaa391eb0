"""The HTTP client every engine uses to talk to Personyze (or the sandbox).

One ``httpx.Client`` per connection, shared by threads: Basic auth in the Authorization header
only (api §1.3 also allows ``https://api:KEY@host``, which leaks into logs, so it is never used),
errors classified by ``connectors.api.errors``, retries bounded in attempts and in total time, and
every log line and message redacted of the key.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import httpx
import orjson

from connectors import __version__
from connectors.api.backoff import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    RETRY_BUDGET,
    full_jitter,
    retry_after_seconds,
)
from connectors.api.errors import (
    ConfigurationError,
    OutcomeUnknown,
    PersonyzeError,
    RetriesExhausted,
    RetryableError,
    error_for_response,
)
from connectors.api.query import Query, build_path
from connectors.api.redact import RedactingFilter, redact
from connectors.api.slots import Slots
from connectors.settings import ConnectionSettings
from connectors.spec.loader import default_specs

logger = logging.getLogger("personyze.client")

__all__ = ["BACKOFF_BASE", "BACKOFF_CAP", "RETRY_BUDGET", "ClientStats", "PersonyzeClient"]

OPERATIONS = {"GET": "read", "POST": "write", "PUT": "update", "DELETE": "delete"}

# Raised before a byte of the request left: resending cannot apply a write twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
# The request may have reached Personyze; only idempotent methods are resent.
_MAYBE_SENT = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})


class ClientStats:
    """Counters shared by the threads of one client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests_sent = 0
        self._retries = 0
        self._fastest = math.inf

    @property
    def fastest(self) -> float:
        """Seconds of the quickest answered exchange so far (inf before one): how far the
        API is at the least, whatever the process's own load added to the others."""
        with self._lock:
            return self._fastest

    def answered(self, seconds: float) -> None:
        with self._lock:
            self._fastest = min(self._fastest, seconds)

    @property
    def requests_sent(self) -> int:
        with self._lock:
            return self._requests_sent

    @property
    def retries(self) -> int:
        with self._lock:
            return self._retries

    def count_request(self) -> None:
        with self._lock:
            self._requests_sent += 1

    def count_retry(self) -> None:
        with self._lock:
            self._retries += 1

    def __repr__(self) -> str:
        return f"ClientStats(requests_sent={self.requests_sent}, retries={self.retries})"


class PersonyzeClient:
    """Sends requests to the Personyze REST API below ``settings.base_url``."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = f"personyze-connectors/{__version__}",
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_budget: float = RETRY_BUDGET,
    ) -> None:
        self.settings = settings
        self.stats = ClientStats()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self._retry_budget = retry_budget
        self._secrets = (settings.api_key,)
        user = default_specs().connection.auth_user
        token = base64.b64encode(f"{user}:{settings.api_key}".encode()).decode("ascii")
        # max_concurrency is the number of requests in flight at once, whoever sends them
        # (read windows, probes, parent and child reads, writes): each waits its turn for a
        # slot (connectors.api.slots).
        self._slots = Slots(settings.max_concurrency)
        pool = settings.max_concurrency + 2
        self._http = httpx.Client(
            headers={
                "Authorization": f"Basic {token}",
                "User-Agent": user_agent,
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(settings.request_timeout),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            transport=transport,
            follow_redirects=False,
        )
        self._log_filter = RedactingFilter(self._secrets)
        logger.addFilter(self._log_filter)
        self._closed = False

    def __repr__(self) -> str:
        return f"PersonyzeClient(base_url={self.settings.base_url!r})"

    def __enter__(self) -> PersonyzeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        self._http.close()
        logger.removeFilter(self._log_filter)

    # -- verbs ------------------------------------------------------------------------------

    def get(self, query: Query) -> Any:
        """Rows (a JSON array), one row (an object, single-id form), a flat array (``column``)
        or a number, as decoded JSON."""
        path = build_path(query)
        return self._json(self.request("GET", path), path, "GET", empty_ok=False)

    def get_text(self, path: str) -> str:
        """The raw body of a GET: ``tracker_code`` answers HTML, not JSON."""
        return self.request("GET", path).text

    def post(self, path: str, body: Any) -> Any:
        """Decoded JSON answer of a POST (usually the new id), or None for an empty body:
        ``/rest/do`` answers nothing on success."""
        return self._json(self.request("POST", path, body), path, "POST", empty_ok=True)

    def put(self, query: Query, body: Mapping[str, Any]) -> int:
        """Number of rows updated."""
        path = build_path(query)
        return self._count(self.request("PUT", path, dict(body)), path, "PUT")

    def delete(self, query: Query) -> int:
        """Number of rows deleted."""
        path = build_path(query)
        return self._count(self.request("DELETE", path), path, "DELETE")

    # -- one request, with retries ------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """Send one request (``body``, when not None, as JSON), retrying what may pass; the
        successful response or an error from ``connectors.api.errors``."""
        method = method.upper()
        url = self._url(path)
        obj, operation = _object_of(path), OPERATIONS.get(method, method.lower())
        headers: dict[str, str] = {}
        content = None
        if body is not None:
            content = json.dumps(
                body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()
            headers["Content-Type"] = "application/json"
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            self.stats.count_request()
            try:
                with self._slots:  # held for the exchange only, never while backing off
                    sent = self._clock()
                    response = self._http.request(method, url, content=content, headers=headers)
                    self.stats.answered(self._clock() - sent)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                if self._closed:  # its user stopped it mid-request (a read dropped): no retry
                    raise PersonyzeError(
                        f"Personyze {obj} {operation} stopped: the connection was closed "
                        "while the request was in flight",
                        object=obj,
                        operation=operation,
                    ) from None
                error = self._transport_error(exc, method, obj, operation)
            else:
                if response.is_success:
                    return response
                error = error_for_response(
                    response.status_code,
                    redact(response.text, self._secrets),
                    object=obj,
                    operation=operation,
                )
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if not isinstance(error, RetryableError) or isinstance(error, OutcomeUnknown):
                raise error
            delay = self._backoff(attempt, retry_after)
            elapsed = self._clock() - started
            if attempt > self.settings.max_retries or elapsed + delay > self._retry_budget:
                raise RetriesExhausted(error, attempts=attempt, elapsed=elapsed) from error
            logger.warning(
                "retrying %s %s (attempt %d of %d) in %.2fs: %s",
                method,
                redact(path, self._secrets),
                attempt + 1,
                self.settings.max_retries + 1,
                delay,
                error,
            )
            self.stats.count_retry()
            self._sleep(delay)

    def _url(self, path: str) -> str:
        # Paths are joined as text: a path can never name another host, so the Authorization
        # header only ever goes to base_url.
        return f"{self.settings.base_url}/{path.lstrip('/')}"

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]; never sooner than the
        server's Retry-After."""
        delay = full_jitter(attempt, self._rng)
        return max(delay, retry_after) if retry_after is not None else delay

    def _transport_error(
        self, exc: Exception, method: str, obj: str, operation: str
    ) -> PersonyzeError:
        reason = redact(f"{type(exc).__name__}: {exc}", self._secrets)
        what = f"Personyze {obj} {operation}"
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ConfigurationError(
                f"{what} failed: {reason}. Check base_url", object=obj, operation=operation
            )
        if isinstance(exc, _NOT_SENT) or (isinstance(exc, _MAYBE_SENT) and method in _IDEMPOTENT):
            return RetryableError(
                f"{what} failed: {reason}. Check the network and base_url if it persists",
                object=obj,
                operation=operation,
            )
        if isinstance(exc, _MAYBE_SENT):
            return OutcomeUnknown(
                f"{what} may or may not have been applied: the answer was lost after the "
                f"request was sent ({reason}). It was not resent, since a repeated write could "
                "apply twice; read the data back before sending it again",
                object=obj,
                operation=operation,
            )
        return PersonyzeError(f"{what} failed: {reason}", object=obj, operation=operation)

    # -- bodies -------------------------------------------------------------------------------

    def _json(self, response: httpx.Response, path: str, method: str, *, empty_ok: bool) -> Any:
        content = response.content
        if not content.strip():
            if empty_ok:
                return None
            raise self._bad_body(response, path, method, "an empty body")
        try:
            # orjson reads the bytes directly, several times faster than json on wide rows
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass  # integers beyond 64 bits, or a body in another charset: the slow path
        try:
            return json.loads(response.text)
        except ValueError:
            raise self._bad_body(response, path, method, "a body that is not JSON") from None

    def _count(self, response: httpx.Response, path: str, method: str) -> int:
        value = self._json(response, path, method, empty_ok=False)
        # The API may send numbers as numeric strings (api §2.3); accept both.
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, int | float) and not isinstance(value, bool) and value == int(value):
            return int(value)
        raise self._bad_body(response, path, method, "something other than a row count")

    def _bad_body(
        self, response: httpx.Response, path: str, method: str, what: str
    ) -> PersonyzeError:
        obj, operation = _object_of(path), OPERATIONS.get(method, method.lower())
        body = redact(response.text, self._secrets)
        snippet = body.strip()[:200]
        return PersonyzeError(
            f"Personyze {obj} {operation}: HTTP {response.status_code} with {what} "
            f"({snippet!r}); check that base_url is the REST root "
            "(e.g. https://app.personyze.com/rest) and the object name",
            object=obj,
            operation=operation,
            status=response.status_code,
            body=body,
        )


def _object_of(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0] or "API"
