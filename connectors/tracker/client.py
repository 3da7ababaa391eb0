"""Tracker API v1 (`POST /rest/tracker-v1`, api §7): send a device's commands, get its actions.

One request carries the user (a 32-bit ``user_id``), the session token of the last answer, a
few device fields and a batch of commands built from the command table of specs/commands.json.
The answer holds the actions to present; the variable part of each action's content is in
``data[content_param]`` and the constant wrapper (``content_begin``/``content_end``) comes
from ``/rest/actions``, fetched once per client (api §5.4).

Errors (api §7.6): a 500 whose plain-text body is the tracker's reason is a refusal
(``TrackerError``, never retried: resending would not change the answer); a 500 that names no
reason (empty, an HTML page, ``Internal server error``: ``connectors.tracker.refusals``) is a
server failure, retried like a 503 when the request may safely apply twice (``resend_lost``)
and otherwise raised as ``OutcomeUnknown``, never resent blindly; 401 is a
``ConfigurationError``; 503, other 5xx and network failures are retried with backoff. The
core client retries every 5xx, so the tracker sends through its own client with retries off
and keeps the retry loop here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from connectors import __version__
from connectors.api.backoff import RETRY_BUDGET, full_jitter
from connectors.api.client import ClientStats, PersonyzeClient
from connectors.api.errors import (
    OutcomeUnknown,
    PersonyzeError,
    RetriesExhausted,
    RetryableError,
)
from connectors.api.query import Query, all_of, build_path, cond
from connectors.settings import ConnectionSettings
from connectors.spec import CommandTable, default_specs
from connectors.tracker.answers import (
    ActionWrapper,
    TrackerAction,
    TrackerResponse,
    assemble,
    data_of,
    ids_of,
    int_of,
    wrapper_of,
)
from connectors.tracker.commands import (
    DOCUMENT_URN,
    TrackerError,
    TrackerInputError,
    check_user_id,
    checked_command,
    command,
    navigate,
)
from connectors.tracker.refusals import is_refusal

__all__ = [
    "DOCUMENT_URN",
    "ActionWrapper",
    "Device",
    "TrackerAction",
    "TrackerClient",
    "TrackerError",
    "TrackerInputError",
    "TrackerResponse",
    "assemble",
    "check_user_id",
    "checked_command",
    "command",
    "navigate",
]

logger = logging.getLogger("personyze.tracker")
PATH = "tracker-v1"
DEVICE_TYPES = ("regular", "tablet", "phone")
WRAPPER_COLUMNS = ("id", "name", "content_type", "content_param", "content_begin", "content_end")


@dataclass(frozen=True)
class Device:
    """What the dashboard shows about the device (all optional, api §9 U13)."""

    languages: str | None = None
    time_zone: float | None = None
    screen: str | None = None
    os: str | None = None
    platform: str | None = None
    device_type: str | None = "regular"

    def __post_init__(self) -> None:
        if self.device_type is not None and self.device_type not in DEVICE_TYPES:
            raise TrackerInputError(f"device_type must be one of {', '.join(DEVICE_TYPES)}")
        if self.screen is not None and not re.fullmatch(r"\d+x\d+", self.screen):
            raise TrackerInputError(f"screen must look like 1920x1080, not {self.screen!r}")
        if self.time_zone is not None and not -14 <= self.time_zone <= 14:
            raise TrackerInputError(f"time_zone {self.time_zone!r} is not an offset in hours")

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


# ---------------------------------------------------------------------------- client


class TrackerClient:
    """Sends tracker-v1 requests and remembers each user's session (``sessions``)."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        sessions: Mapping[int, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = f"personyze-connectors/{__version__}",
        sleep: Callable[[float], None] = time.sleep,
        table: CommandTable | None = None,
    ) -> None:
        self.settings = settings
        self.sessions: dict[int, str] = dict(sessions or {})
        self._max_retries = settings.max_retries
        self._http = PersonyzeClient(
            dataclasses.replace(settings, max_retries=0), transport=transport, user_agent=user_agent
        )
        self._sleep = sleep
        self._table = table or default_specs().commands
        self._rng = random.Random()
        self._wrappers: dict[int, ActionWrapper | None] = {}
        self._cache_version = 0

    def __enter__(self) -> TrackerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def stats(self) -> ClientStats:
        """Requests sent (retries included) by this tracker client."""
        return self._http.stats

    def send(
        self,
        user_id: int,
        commands: Iterable[Sequence[Any]],
        *,
        device: Device | None = None,
        new_session: bool = False,
        resend_lost: bool = False,
    ) -> TrackerResponse:
        """One request for ``user_id`` with its last session_id; the answer's session_id
        replaces it (a null keeps it). ``resend_lost``: resend when the answer was lost (only
        for batches that may safely apply twice, such as a lone Navigate)."""
        user_id = check_user_id(user_id)
        body: dict[str, Any] = {"user_id": user_id, **(device.fields() if device else {})}
        if user_id in self.sessions:
            body["session_id"] = self.sessions[user_id]
        if new_session:
            body["new_session"] = True
        body["commands"] = [checked_command(c, self._table) for c in commands]
        answer = self._call("POST", PATH, body, resend_lost=resend_lost)
        response = self._response(answer)
        if response.session_id is not None:
            self.sessions[user_id] = response.session_id
        return dataclasses.replace(response, session_id=self.sessions.get(user_id))

    def wrappers(self, ids: Iterable[int]) -> dict[int, ActionWrapper | None]:
        """Wrappers of actions (None: /rest/actions does not list it), fetched once each."""
        wanted = sorted(set(ids))
        missing = [i for i in wanted if i not in self._wrappers]
        if missing:
            query = Query(
                "actions", where=all_of(cond("id", ":", missing)), columns=WRAPPER_COLUMNS
            )
            rows = self._call("GET", build_path(query), None, resend_lost=True)
            found = {w.id: w for w in map(wrapper_of, rows if isinstance(rows, list) else []) if w}
            for i in missing:
                self._wrappers[i] = found.get(i)
        return {i: self._wrappers[i] for i in wanted}

    # -- internals --------------------------------------------------------------------------

    def _response(self, answer: Any) -> TrackerResponse:
        if not isinstance(answer, dict):
            raise PersonyzeError(
                f"Personyze tracker-v1 answered {type(answer).__name__} instead of an object",
                object=PATH,
                operation="write",
            )
        version = int_of(answer.get("cache_version")) or 0
        if version > self._cache_version:  # the account's content changed: drop the cache
            self._cache_version, self._wrappers = version, {}
        raw_actions = [a for a in answer.get("actions") or [] if isinstance(a, dict)]
        parsed = [(int_of(a.get("id")), data_of(a.get("data"))) for a in raw_actions]
        ids = [i for i, _ in parsed if i is not None]
        wrappers = self.wrappers(ids) if ids else {}
        session = answer.get("session_id")
        return TrackerResponse(
            session_id=session if isinstance(session, str) and session else None,
            actions=tuple(assemble(i, d, wrappers.get(i)) for i, d in parsed if i is not None),
            conditions=ids_of(
                c.get("id") if isinstance(c, dict) else c for c in answer.get("conditions") or []
            ),
            cache_version=version,
            dismiss_conditions=ids_of(answer.get("dismiss_conditions") or []),
            dismiss_actions=ids_of(answer.get("dismiss_actions") or []),
        )

    def _call(self, method: str, path: str, body: Any, *, resend_lost: bool) -> Any:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return _decoded(self._http.request(method, path, body), path)
            except RetriesExhausted as exc:
                error: RetryableError = exc.last
            except OutcomeUnknown as exc:
                if not resend_lost:
                    raise
                error = exc
            if method == "POST" and error.status == 500:
                if is_refusal(error.body):
                    raise TrackerError(
                        (error.body or "").strip(),
                        object=PATH,
                        operation="write",
                        status=500,
                        body=error.body,
                    ) from None
                if not resend_lost:
                    raise OutcomeUnknown(
                        f"Personyze {PATH} failed with HTTP 500 and no reason "
                        f"({(error.body or '').strip()[:80]!r}): the server may have applied "
                        "some of the commands, so they were not resent; check the account "
                        "before sending them again",
                        object=PATH,
                        operation="write",
                        status=500,
                        body=error.body,
                    ) from None
            delay = full_jitter(attempt, self._rng)
            elapsed = time.monotonic() - started
            if attempt > self._max_retries or elapsed + delay > RETRY_BUDGET:
                raise RetriesExhausted(error, attempts=attempt, elapsed=elapsed) from error
            logger.warning("retrying %s %s in %.2fs: %s", method, path.split("/")[0], delay, error)
            self._sleep(delay)


def _decoded(response: httpx.Response, path: str) -> Any:
    # the SDKs treat a 200 with an empty body as an error (api §7.6)
    try:
        return json.loads(response.text)
    except ValueError:
        obj = path.split("/", 1)[0]
        raise PersonyzeError(
            f"Personyze {obj} answered HTTP {response.status_code} with "
            f"{'an empty body' if not response.text.strip() else 'a body that is not JSON'}; "
            "check that base_url is the REST root (e.g. https://app.personyze.com/rest)",
            object=obj,
            status=response.status_code,
        ) from None
