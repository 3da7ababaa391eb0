"""Delivering events (not idempotent) so that each is recorded once.

1. What may already be in Personyze is settled first: events of an object Personyze can read
   back (products_interactions) are counted against the rows it holds (``readback``); the n-th
   event like them is sent only if Personyze holds fewer than n. Events stamped with this run's
   clock cannot be there yet and are not read; those the ledger shows as done are not either.
2. Each event is marked pending in the ledger just before its request leaves, done once
   Personyze accepted it, forgotten when Personyze refused it.
3. An event whose answer was lost is read back: counted in Personyze, done; missing, sent again,
   up to ``SETTLE_ROUNDS`` times. Given up only when it is missing after the last round (it was
   not applied: rejected, with the reason) or when it cannot be read back at all (article
   interactions, status changes): reported as of unknown outcome and never resent, so at most
   the events of the one request whose answer was lost are missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.api.errors import OutcomeUnknown, PersonyzeError, RequestError
from connectors.write.context import Context
from connectors.write.execute import Outcome, parallel, send_do
from connectors.write.ledger import DONE, UNKNOWN
from connectors.write.readback import EventKey, event_key, held
from connectors.write.records import Item

# Times an event whose answer was lost and that is not in Personyze is sent again.
SETTLE_ROUNDS = 4
# ctx.state: events found in Personyze before sending, for the summary's note
HELD = "held_before_send"


@dataclass
class Event:
    """One event to deliver: ``entry`` is its request and how to read it back (kept in the
    ledger); ``item`` None for an event a crashed earlier run left pending."""

    identity: str
    entry: dict[str, Any]
    item: Item | None
    resumed: bool = False
    key: EventKey | None = field(default=None, compare=False)
    rank: int = 0


def deliver(ctx: Context, events: list[Event]) -> None:
    for event in events:
        readback = event.entry.get("readback")
        if readback is not None:
            event.key = event_key(readback)
            event.rank = ctx.tally.count(event.identity, event.key)
    check = [
        e
        for e in events
        if e.key is not None and (e.resumed or not e.entry["readback"].get("stamped"))
    ]
    # what Personyze held before this batch's events, per content: the count each is read against
    before: dict[EventKey, int] = {}
    present = _already_held(ctx, check, before) if check else set()
    _done(ctx, [e for e in events if e.identity in present], "skipped")
    ctx.state[HELD] = ctx.state.get(HELD, 0) + len(present)
    unknown = _send(ctx, [e for e in events if e.identity not in present])
    _settle(ctx, unknown, before)


def held_note(ctx: Context) -> list[str]:
    """The summary's note on the events not sent because Personyze already held them: what a
    retried Airbyte attempt, or the same input written again, did not send twice."""
    count = ctx.state.pop(HELD, 0)
    if not count:
        return []
    return [
        f"{count} event(s) already in Personyze (read back before sending), so not sent again: "
        "sent by an earlier attempt or run"
    ]


def _already_held(ctx: Context, events: list[Event], before: dict[EventKey, int]) -> set[str]:
    have = held(ctx, [e.key for e in events if e.key is not None])
    before.update(have)
    return {e.identity for e in events if e.key is not None and e.rank <= have[e.key]}


def _send(ctx: Context, events: list[Event]) -> list[Event]:
    """Send ``events``; those whose answer was lost are returned."""
    unknown: list[Event] = []
    calls = [e for e in events if e.entry["kind"] == "do"]

    def mark(start: int, end: int) -> None:
        ctx.ledger.mark_pending(ctx.stream, [(e.identity, e.entry) for e in calls[start:end]])

    def settle(start: int, end: int, outcome: Outcome, reason: str) -> None:
        chunk = calls[start:end]
        if outcome == "ok":
            _done(ctx, chunk, "appended")
        elif outcome == "rejected":
            _refused(ctx, chunk, reason)
        else:
            unknown.extend(chunk)

    send_do(
        ctx.gw,
        ctx.stream,
        [e.entry["request"] for e in calls],
        settle,
        idempotent=False,
        before_send=mark,
        verifiable=all(e.key is not None for e in calls),
    )

    def post(event: Event) -> None:
        ctx.ledger.mark_pending(ctx.stream, [(event.identity, event.entry)])
        try:
            ctx.gw.post(ctx.stream, event.entry["path"], event.entry["request"])
        except RequestError as exc:
            _refused(ctx, [event], str(exc))
        except OutcomeUnknown:
            unknown.append(event)
        else:
            _done(ctx, [event], "appended")

    parallel(ctx.pool, post, [e for e in events if e.entry["kind"] == "post"])
    return unknown


def _settle(ctx: Context, unknown: list[Event], before: dict[EventKey, int]) -> None:
    """Read back events whose answer was lost; resend the missing ones, bounded. Personyze
    should hold max(what it held before, the run's events like them) rows of each content;
    for content not read before sending (stamped now), the first reading stands for before."""
    for round_ in range(SETTLE_ROUNDS + 1):
        if not unknown:
            return
        blind = [e for e in unknown if e.key is None]
        _give_up(ctx, blind, "the answer to its request was lost and it cannot be read back")
        readable = [e for e in unknown if e.key is not None]
        if not readable:
            return
        try:
            have = held(ctx, [e.key for e in readable if e.key is not None])
        except PersonyzeError as exc:
            _give_up(
                ctx,
                readable,
                f"the answer to its request was lost and reading it back failed: {exc}",
            )
            return
        missing: list[Event] = []
        by_key: dict[EventKey, list[Event]] = {}
        for event in readable:
            assert event.key is not None
            by_key.setdefault(event.key, []).append(event)
        for key, group in by_key.items():
            target = max(before.setdefault(key, have[key]), ctx.tally.seen(key))
            count = min(len(group), max(0, target - have[key]))
            group.sort(key=lambda e: e.rank)
            _done(ctx, group[: len(group) - count], "appended")
            missing += group[len(group) - count :]
        if round_ == SETTLE_ROUNDS:
            _refused(
                ctx,
                missing,
                f"sent {SETTLE_ROUNDS + 1} times, every answer was lost, and reading it back "
                "shows it is not in Personyze: not recorded; send it again",
            )
            return
        unknown = _send(ctx, missing)


def _done(ctx: Context, events: list[Event], how: str) -> None:
    if not events:
        return
    ctx.ledger.set_state(ctx.stream, [e.identity for e in events], DONE)
    for event in events:
        if event.item is not None:
            ctx.accept(event.item, how)
        else:
            ctx.count(how, 1)


def _refused(ctx: Context, events: list[Event], reason: str) -> None:
    if not events:
        return
    ctx.ledger.forget(ctx.stream, [e.identity for e in events])
    for event in events:
        if event.key is not None:
            ctx.tally.uncount(event.identity, event.key)
        if event.item is not None:
            ctx.reject(event.item, reason)
        else:
            ctx.report(event.entry.get("key"), reason, event.entry["request"])
            ctx.count("rejected", 1)


def _give_up(ctx: Context, events: list[Event], why: str) -> None:
    if not events:
        return
    ctx.ledger.set_state(ctx.stream, [e.identity for e in events], UNKNOWN)
    reason = (
        f"outcome unknown ({why}): not resent, so that it is never recorded twice; check "
        "Personyze and send it again if it is missing"
    )
    for event in events:
        if event.item is not None:
            ctx.unknown(event.item, reason)
        else:
            ctx.report_unknown(event.entry.get("key"), reason, event.entry["request"])
            ctx.count("unknown", 1)
