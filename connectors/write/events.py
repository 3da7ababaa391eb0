"""Events (interactions, generic `do` commands): planned here, delivered once by ``delivery``.

An event's identity is the value of the stream's ``event_id_column`` when it names one;
otherwise the n-th row of an input with the same content is the n-th event (the engine sets
``Item.identity``). The ledger keeps identities across runs when ``ledger_path`` is a file:
an event it shows as done or given up is not sent again, and one it shows as pending (a crash)
is delivered with the request planned then, so a stamped transaction_time stays the same.

Product interactions get a ``readback``: what Personyze will store of them, so that they can be
counted in products_interactions. A record without transaction_time is stamped with the
current time: then a retried run cannot recognise it (its stamp differs) unless the ledger
kept the first stamp, which is why exactly-once needs an event time in the input.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from connectors.spec.models import CommandSpec, WriteMode
from connectors.write.commands import event_command, translate, user_key
from connectors.write.context import Context
from connectors.write.delivery import Event, deliver
from connectors.write.execute import Outcome, send_do
from connectors.write.ledger import DONE, PENDING, UNKNOWN
from connectors.write.readback import event_key, match_of
from connectors.write.records import Item, Refused
from connectors.write.targets import writable_objects

USER_KEYS = ("email", "internal_id", "user_id")


def _readback(
    mode: WriteMode, key: list[Any], item: Any, fields: dict[str, Any], stamped: bool
) -> dict[str, Any] | None:
    if mode.readback is None or mode.item_column is None:
        return None
    return {
        "object": mode.readback,
        "user": key,
        "match": match_of(mode.item_column, item, fields),
        "stamped": stamped,
    }


def plan_event(ctx: Context, item: Item) -> dict[str, Any]:
    """The ledger entry (request and how to read it back) of one interaction record."""
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
    stamped = mode.readback is not None and "transaction_time" not in extra
    if stamped:
        extra["transaction_time"] = int(time.time())
    command = event_command(table, mode.command_target, status, key, {**extra, "item": target_item})
    readback = _readback(mode, key, target_item, {**extra, "status": status}, stamped)
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
    """For a generic `do` product command: stamp transaction_time and say how to read it back."""
    for spec in writable_objects(ctx.specs).values():
        for mode in spec.write.modes:
            if (
                mode.command_target == command.target
                and mode.readback
                and command.interaction_status
            ):
                pairs = dict(zip(array[4::2], array[5::2], strict=False))
                stamped = "transaction_time" not in pairs
                if stamped:
                    array += ["transaction_time", int(time.time())]
                    pairs["transaction_time"] = array[-1]
                fields = {**pairs, "status": command.interaction_status}
                return _readback(mode, array[:2], array[3], fields, stamped)
    return None


def _planned(
    ctx: Context, items: list[Item], plan: Callable[[Item], dict[str, Any]]
) -> list[Event]:
    """Events to deliver: the ledger's leftovers of earlier runs, then ``items`` the ledger does
    not show as done (those are settled as skipped)."""
    known = ctx.ledger.entries(ctx.stream, [i.identity for i in items])
    mine = {i.identity for i in items}
    out = [
        Event(h, entry, None, resumed=True)
        for h, entry in ctx.ledger.pending(ctx.stream)
        if h not in mine
    ]
    for item in items:
        state, entry = known.get(item.identity, (None, None))
        if state in (DONE, UNKNOWN):
            if entry and entry.get("readback"):  # it counts among the run's events like it
                ctx.tally.count(item.identity, event_key(entry["readback"]))
            ctx.accept(item, "skipped")
            continue
        if state != PENDING:
            try:
                entry = plan(item)
            except Refused as exc:
                ctx.reject(item, str(exc))
                continue
        assert entry is not None
        out.append(Event(item.identity, entry, item, resumed=state == PENDING))
    return out


def events(ctx: Context, items: list[Item]) -> None:
    deliver(ctx, _planned(ctx, items, lambda item: plan_event(ctx, item)))


def commands(ctx: Context, items: list[Item]) -> None:
    """The generic `do` stream: `User profile` commands are idempotent and sent as they are;
    every other command is an event."""
    table = ctx.specs.commands
    profiles: list[tuple[Item, list[Any]]] = []
    others: list[Item] = []
    arrays: dict[int, list[Any]] = {}
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
        else:
            arrays[id(item)] = array
            others.append(item)

    def settle(start: int, end: int, outcome: Outcome, reason: str) -> None:
        for item, _ in profiles[start:end]:
            if outcome == "ok":
                ctx.accept(item, "appended")
            else:
                ctx.reject(item, reason)

    send_do(ctx.gw, ctx.stream, [a for _, a in profiles], settle, idempotent=True)

    def plan(item: Item) -> dict[str, Any]:
        array = arrays[id(item)]
        command = table.find(array[2], "do")
        assert command is not None
        readback = _command_readback(ctx, command, array)
        return {"kind": "do", "path": "do", "request": array, "key": item.key, "readback": readback}

    deliver(ctx, _planned(ctx, others, plan))
