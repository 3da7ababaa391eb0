"""Events (interactions, generic `do` commands): sent once, thanks to the ledger.

Each event is marked pending in the ledger just before its request leaves and done once
Personyze accepted it. A pending event (left by a crash, or whose answer was lost) is looked up
where its object can be read back (products_interactions: user, product, status and
transaction_time; the engine stamps a transaction_time on product events that have none, so the
lookup is always possible) and resent only when it is not there. An event nothing can read back
(article interactions) is reported as unknown and never resent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from connectors.api.errors import OutcomeUnknown, RequestError
from connectors.api.query import Query, all_of, cond
from connectors.spec.models import CommandSpec, WriteMode
from connectors.write.commands import event_command, translate, user_key
from connectors.write.context import Context
from connectors.write.execute import Outcome, parallel, send_do
from connectors.write.ledger import DONE, UNKNOWN
from connectors.write.records import Item, Refused
from connectors.write.targets import writable_objects

USER_KEYS = ("email", "internal_id", "user_id")


@dataclass
class Event:
    hash: str
    entry: dict[str, Any]
    item: Item | None


def _readback(
    mode: WriteMode, key: list[Any], item: Any, status: str, fields: dict[str, Any]
) -> dict[str, Any] | None:
    if mode.readback is None or mode.item_column is None:
        return None
    return {
        "object": mode.readback,
        "user": key,
        "item_column": mode.item_column,
        "item": item,
        "status": status,
        "transaction_time": fields["transaction_time"],
    }


def plan_event(ctx: Context, item: Item) -> dict[str, Any]:
    """The ledger entry (request and how to look it up) of one interaction record."""
    mode, table = ctx.mode, ctx.specs.commands
    assert mode.status_column and mode.item_column and mode.command_target
    assert ctx.target.match_key is not None
    status, target_item = item.fields[mode.status_column], item.fields[mode.item_column]
    key = user_key(table, ctx.target.match_key, item.key)
    extra = {
        k: v
        for k, v in item.fields.items()
        if k not in (mode.status_column, mode.item_column, *USER_KEYS)
    }
    if mode.readback is not None and "transaction_time" not in extra:
        extra["transaction_time"] = int(time.time())
    command = event_command(table, mode.command_target, status, key, {**extra, "item": target_item})
    readback = _readback(mode, key, target_item, str(status), extra)
    if command is not None:
        return {
            "kind": "do",
            "path": "do",
            "request": command,
            "key": item.key,
            "readback": readback,
        }
    if mode.post_fallback is None:
        raise Refused(f"no do command records status {status!r}")
    fallback = ctx.specs.object(mode.post_fallback)
    field = next(
        (r.field for r in fallback.write.user_resolution if r.users_column == key[0]), "user_id"
    )
    body = {field: key[1], mode.item_column: target_item, mode.status_column: status, **extra}
    return {
        "kind": "post",
        "path": fallback.path,
        "request": body,
        "key": item.key,
        "readback": readback,
    }


def _command_readback(ctx: Context, command: CommandSpec, array: list[Any]) -> Any:
    """For a generic `do` product command: stamp transaction_time and say how to look it up."""
    for spec in writable_objects(ctx.specs).values():
        for mode in spec.write.modes:
            if (
                mode.command_target == command.target
                and mode.readback
                and command.interaction_status
            ):
                if "transaction_time" not in array[4::2]:
                    array += ["transaction_time", int(time.time())]
                at = array.index("transaction_time", 4)
                return _readback(
                    mode,
                    array[:2],
                    array[3],
                    command.interaction_status,
                    {"transaction_time": array[at + 1]},
                )
    return None


def events(ctx: Context, items: list[Item]) -> None:
    items = _reconcile_leftovers(ctx, items)
    planned: list[Event] = []
    for item in items:
        try:
            planned.append(Event(item.hash, plan_event(ctx, item), item))
        except Refused as exc:
            ctx.reject(item, str(exc))
    _send(ctx, planned, final=False)


def commands(ctx: Context, items: list[Item]) -> None:
    items = _reconcile_leftovers(ctx, items)
    table = ctx.specs.commands
    profiles: list[tuple[Item, list[Any]]] = []
    planned: list[Event] = []
    for item in items:
        try:
            array = translate(table, item.fields, ctx.target.match_key)
        except Refused as exc:
            ctx.reject(item, str(exc))
            continue
        command = table.find(array[2], "do")
        assert command is not None
        if command.target == "user":  # setting profile fields twice is harmless
            profiles.append((item, array))
            continue
        readback = _command_readback(ctx, command, array)
        planned.append(
            Event(
                item.hash,
                {
                    "kind": "do",
                    "path": "do",
                    "request": array,
                    "key": item.key,
                    "readback": readback,
                },
                item,
            )
        )

    def settle(start: int, end: int, outcome: Outcome, reason: str) -> None:
        for item, _ in profiles[start:end]:
            if outcome == "ok":
                ctx.accept(item, "appended")
            else:
                ctx.reject(item, reason)

    send_do(ctx.gw, ctx.stream, [a for _, a in profiles], settle, idempotent=True)
    _send(ctx, planned, final=False)


def _send(ctx: Context, planned: list[Event], *, final: bool) -> None:
    unknown: list[Event] = []
    calls = [e for e in planned if e.entry["kind"] == "do"]

    def mark(start: int, end: int) -> None:
        ctx.ledger.mark_pending(ctx.stream, [(e.hash, e.entry) for e in calls[start:end]])

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
    )

    def post(event: Event) -> None:
        ctx.ledger.mark_pending(ctx.stream, [(event.hash, event.entry)])
        try:
            ctx.gw.post(ctx.stream, event.entry["path"], event.entry["request"])
        except RequestError as exc:
            _refused(ctx, [event], str(exc))
        except OutcomeUnknown:
            unknown.append(event)
        else:
            _done(ctx, [event], "appended")

    parallel(ctx.pool, post, [e for e in planned if e.entry["kind"] == "post"])
    if unknown and final:
        _give_up(ctx, unknown, "the answer to the request was lost twice")
    elif unknown:
        _reconcile(ctx, unknown)


def _done(ctx: Context, events: list[Event], how: str) -> None:
    ctx.ledger.set_state(ctx.stream, [e.hash for e in events], DONE)
    for event in events:
        if event.item is not None:
            ctx.accept(event.item, how)
        elif how == "appended":
            ctx.count("appended", 1)


def _refused(ctx: Context, events: list[Event], reason: str) -> None:
    ctx.ledger.forget(ctx.stream, [e.hash for e in events])
    for event in events:
        if event.item is not None:
            ctx.reject(event.item, reason)
        else:
            ctx.report(event.entry.get("key"), reason, event.entry["request"])
            ctx.count("rejected", 1)


def _give_up(ctx: Context, events: list[Event], why: str) -> None:
    ctx.ledger.set_state(ctx.stream, [e.hash for e in events], UNKNOWN)
    reason = (
        f"outcome unknown ({why}) and the event cannot be read back: not resent, so that "
        "it is never recorded twice; check Personyze and send it again if it is missing"
    )
    for event in events:
        if event.item is not None:
            ctx.unknown(event.item, reason)
        else:
            ctx.report(event.entry.get("key"), reason, event.entry["request"])
            ctx.count("unknown", 1)


def _applied(ctx: Context, readback: dict[str, Any]) -> bool:
    kind, value = readback["user"]
    uid = ctx.users.lookup(ctx.stream, kind, [str(value)]).get(str(value))
    if uid is None:
        return False
    q = Query(
        readback["object"],
        where=all_of(
            cond(readback["item_column"], "=", readback["item"]),
            cond("user_id", "=", uid),
            cond("status", "=", readback["status"]),
            cond("transaction_time", "=", readback["transaction_time"]),
        ),
        limit=50,
    )
    return bool(ctx.gw.get(ctx.stream, q))


def _reconcile(ctx: Context, events: list[Event]) -> None:
    resend: list[Event] = []
    for event in events:
        readback = event.entry.get("readback")
        if readback is None or ctx.gw.dry:
            _give_up(ctx, [event], "a crash or a lost answer")
        elif _applied(ctx, readback):
            _done(ctx, [event], "skipped")
        else:
            resend.append(event)
    _send(ctx, resend, final=True)


def _reconcile_leftovers(ctx: Context, items: list[Item]) -> list[Item]:
    """Settle events left pending by an earlier run (or an earlier lost answer) first; items of
    this batch with the same content are settled with them. Returns the other items."""
    leftovers = ctx.ledger.pending(ctx.stream)
    if not leftovers:
        return items
    by_hash = {i.hash: i for i in items}
    _reconcile(ctx, [Event(h, entry, by_hash.pop(h, None)) for h, entry in leftovers])
    return [i for i in items if i.hash in by_hash]
