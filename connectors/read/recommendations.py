"""The ``recommendations`` stream: what Personyze recommends right now to configured users.

For each tracker user id (``recommendation_user_ids``, then the members of
``recommendation_user_list_id``) one tracker-v1 request navigates to the configured document
(``["Navigate", "urn:personyze:doc:<document>"]``: actions run once per page, so every read is
a new page view) and every JSON recommendation action of the answer becomes records, one per
(user, action, rank, item): the item's fields plus ``user_id``, ``action_id``, ``action_name``,
``rank`` (1-based) and ``fetched_at`` (unix seconds), which win over item fields of the same
name.

What a read writes to the account (which is why the stream is offered only with
``record_recommendation_page_views``, never selected by default and read after every other
stream: ``connectors.read.selection``), per configured user and sync, as measured on the
sandbox's demo data (actions "Top picks for you" and "Recently viewed", 5 products each, and
"Related articles", 3 articles):

- one page view of ``recommendation_document``; the shown actions count as executed;
- one ``products_interactions`` row with status ``delivered`` per product shown (up to 10 per
  user there; as many as your product recommendation actions show on a live account);
- when the user has no open session (the first sync, a sync without state, or more than 1.5
  hours after the last): a new tracker session, which adds 1 to ``users.session_counter`` and
  sets ``last_session_time`` and ``data_last_modified`` to now (the next incremental ``users``
  sync re-emits the user); a user id with no profile gets a stub profile.

A lost answer is resent (at most ``max_retries`` times): it may record one more page view.

State: ``{"sessions": {"<user_id>": "<session_id>"}}``, the tracker session of every user, so
that the next sync continues the same sessions (Personyze ends them after 1.5 hours and then
answers a new id, which replaces the stored one). It is checkpointed after each user.

A list member's ``users.user_id`` is sent as the tracker user id: the sandbox maps tracker ids
to ``users.user_id`` one to one; on a live account that holds only if your apps send Personyze
user ids as their tracker ids.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.api.query import cond
from connectors.read import Checkpoint, QueryClient, read_records
from connectors.settings import ConnectionSettings, SettingsError, tracker_user_id
from connectors.spec import Specs
from connectors.tracker.client import TrackerClient, navigate

logger = logging.getLogger("personyze.recommendations")
SESSIONS = "sessions"
META_FIELDS = ("user_id", "action_id", "action_name", "rank", "fetched_at")


@dataclass(frozen=True)
class SessionsCheckpoint:
    """The stream's whole state, valid once the records before it are emitted."""

    value: dict[str, Any]


class RecommendationOptions(Protocol):
    """The read options the stream uses (``connectors.read.sync.ReadOptions`` has them)."""

    @property
    def recommendation_user_ids(self) -> tuple[int, ...]: ...
    @property
    def recommendation_user_list_id(self) -> int | None: ...
    @property
    def recommendation_document(self) -> str: ...


def sessions_of(state: Mapping[str, Any] | None) -> dict[int, str]:
    """The sessions kept in a stream state; entries that are not (user id, text) are dropped."""
    raw = (state or {}).get(SESSIONS)
    if not isinstance(raw, Mapping):
        return {}
    out: dict[int, str] = {}
    for key, value in raw.items():
        user = tracker_user_id(key)
        if user is not None and isinstance(value, str) and value:
            out[user] = value
    return out


def sessions_state(sessions: Mapping[int, str]) -> dict[str, Any]:
    return {SESSIONS: {str(user): sid for user, sid in sorted(sessions.items())}}


def recommendation_users(
    client: QueryClient, specs: Specs, options: RecommendationOptions
) -> list[int]:
    """The configured user ids, then the list's members, each once, in that order."""
    users = list(dict.fromkeys(options.recommendation_user_ids))
    list_id = options.recommendation_user_list_id
    if list_id is None:
        return users
    members = specs.object("user_list_users")
    prefix = (cond("user_list_id", "=", list_id),)
    for row in read_records(client, members, prefix=prefix):
        if isinstance(row, Checkpoint):
            continue
        user = tracker_user_id(row.get("user_id"))
        if user is None:
            logger.warning(
                "user list %s: member %r is not a 32-bit tracker user id; skipped",
                list_id,
                row.get("user_id"),
            )
        elif user not in users:
            users.append(user)
    return users


def read_recommendations(
    client: QueryClient,
    specs: Specs,
    state: Mapping[str, Any] | None,
    options: RecommendationOptions,
    *,
    clock: Callable[[], float] = time.time,
) -> Iterator[dict[str, Any] | SessionsCheckpoint]:
    """Records and, after each user, the stream's whole state as a ``SessionsCheckpoint``."""
    settings = getattr(client, "settings", None)
    if not isinstance(settings, ConnectionSettings):
        raise TypeError("the recommendations stream needs a PersonyzeClient (its settings)")
    if not settings.record_recommendation_page_views:
        raise SettingsError(
            "record_recommendation_page_views: reading the recommendations stream records a "
            "page view per configured user in your account; set this setting to true to "
            "accept that, or do not select the stream"
        )
    users = recommendation_users(client, specs, options)
    if not users:
        return
    with TrackerClient(settings, sessions=sessions_of(state)) as tracker:
        for user in users:
            answer = tracker.send(
                user, [navigate(options.recommendation_document)], resend_lost=True
            )
            fetched_at = int(clock())
            for action in answer.actions:
                for rank, item in enumerate(action.items or [], start=1):
                    fields = dict(item) if isinstance(item, Mapping) else {"value": item}
                    yield {
                        **fields,
                        "user_id": user,
                        "action_id": action.id,
                        "action_name": action.name,
                        "rank": rank,
                        "fetched_at": fetched_at,
                    }
            yield SessionsCheckpoint(sessions_state(tracker.sessions))
