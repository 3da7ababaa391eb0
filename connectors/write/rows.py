"""Strategies for rows that are not events: profiles, catalog rows, named rows, deletes.

Each strategy settles every item it is given (accept, reject) before it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.api.errors import OutcomeUnknown, RequestError
from connectors.api.query import Query, all_of, cond
from connectors.write.commands import profile_command, user_key
from connectors.write.context import Context, existing_rows, lowest_id
from connectors.write.execute import RESENDS, Outcome, parallel, send_checked, send_do
from connectors.write.plan import in_list_chunks
from connectors.write.records import Item, Refused
from connectors.write.unchanged import apply, is_unchanged


def _how(existing: set[str] | None, seen: set[str], key: str) -> str:
    how = "updated" if existing is None or key in existing or key in seen else "created"
    seen.add(key)
    return how


def _checked_require(
    ctx: Context,
    items: list[Item],
    existing: set[str] | None,
    rows: dict[str, list[dict[str, Any]]],
    stored: Callable[[Item], dict[str, Any]],
) -> list[Item]:
    """Items the mode's ``require`` lets through; the others are rejected. A mode that only
    creates rows settles a record whose row already holds its values (``stored(item)``, as
    written, against ``rows``) as unchanged: writing it would change nothing, and it is what an
    attempt retried after a crash finds for the rows the crashed attempt had created."""
    key, obj = ctx.target.match_key, ctx.spec.name
    out = []
    for item in items:
        assert item.key is not None
        present = existing is None or item.key in existing
        if ctx.mode.require == "existing" and not present:
            ctx.reject(
                item,
                f"no {obj} row has {key}={item.key}; mode {ctx.mode.name} does not create rows",
            )
        elif ctx.mode.require == "absent" and existing is not None and item.key in existing:
            if _holds(rows, item, stored):
                ctx.accept(item, "unchanged")
                continue
            ctx.reject(
                item,
                f"a {obj} row with {key}={item.key} already exists with other values; mode "
                f"{ctx.mode.name} only creates rows",
            )
        else:
            out.append(item)
    return out


def _holds(
    rows: dict[str, list[dict[str, Any]]], item: Item, stored: Callable[[Item], dict[str, Any]]
) -> bool:
    found = rows.get(item.key or "")
    if not found:
        return False
    try:
        return is_unchanged(stored(item), found)
    except Refused:
        return False


def _skipped(
    ctx: Context, item: Item, rows: dict[str, list[dict[str, Any]]] | None, fields: dict[str, Any]
) -> bool:
    """With skip_unchanged, settle ``item`` as unchanged when the rows with its key hold
    ``fields``; otherwise remember them as written for a later row of the batch."""
    found = (rows or {}).get(item.key or "")
    if found is None:
        return False
    if ctx.skip_unchanged and is_unchanged(fields, found):
        ctx.accept(item, "unchanged")
        return True
    apply(fields, found)
    return False


def profile_commands(ctx: Context, items: list[Item]) -> None:
    """Profiles through `/rest/do` `User profile` commands keyed by the match key."""
    key = ctx.target.match_key
    assert key is not None
    rows = existing_rows(ctx, ctx.spec.path, key, [i.key or "" for i in items])
    ctx.users.remember(key, rows)
    existing: set[str] | None = set(rows)
    table = ctx.specs.commands
    commands: list[list[Any]] = []
    planned: list[tuple[Item, str]] = []
    seen: set[str] = set()

    def stored(item: Item) -> dict[str, Any]:
        command = profile_command(table, user_key(table, key, item.key or ""), item.fields, key)
        return dict(zip(command[3::2], command[4::2], strict=True))

    for item in _checked_require(ctx, items, existing, rows, stored):
        assert item.key is not None
        if key == "user_id" and existing is not None and item.key not in existing:
            ctx.reject(
                item,
                f"no profile has user_id={item.key}; a profile is created by email or internal_id",
            )
            continue
        try:
            command = profile_command(table, user_key(table, key, item.key), item.fields, key)
        except Refused as exc:
            ctx.reject(item, str(exc))
            continue
        if _skipped(ctx, item, rows, dict(zip(command[3::2], command[4::2], strict=True))):
            seen.add(item.key)
            continue
        commands.append(command)
        planned.append((item, _how(existing, seen, item.key)))

    def settle(start: int, end: int, outcome: Outcome, reason: str) -> None:
        for item, how in planned[start:end]:
            if outcome == "ok":
                ctx.accept(item, how)
            else:
                ctx.reject(item, reason or "the answer was lost; send it again")

    send_do(ctx.gw, ctx.stream, commands, settle, idempotent=True)


def post_rows(ctx: Context, items: list[Item]) -> None:
    """One POST per row (Personyze upserts on ``write.upsert_on``), on the thread pool."""
    key = ctx.target.match_key
    assert key is not None
    rows = existing_rows(ctx, ctx.spec.path, key, [i.key or "" for i in items])
    existing: set[str] | None = set(rows)
    seen: set[str] = set()
    planned = []
    renames = ctx.spec.write.input_renames

    def renamed(item: Item) -> dict[str, Any]:
        return {renames.get(k, k): v for k, v in item.fields.items()}

    for item in _checked_require(ctx, items, existing, rows, renamed):
        stored = renamed(item)
        if _skipped(ctx, item, rows, stored):
            seen.add(item.key or "")
            continue
        planned.append((item, _how(existing, seen, item.key or ""), stored))

    def post(entry: tuple[Item, str, dict[str, Any]]) -> None:
        item, how, stored = entry

        def applied() -> bool:  # an upsert: applied when the row holds what was sent
            found = existing_rows(ctx, ctx.spec.path, key, [item.key or ""])
            return is_unchanged(stored, found.get(item.key or "", []))

        try:
            send_checked(lambda: ctx.gw.post(ctx.stream, ctx.spec.path, item.fields), applied)
        except RequestError as exc:
            ctx.reject(item, str(exc))
        except OutcomeUnknown:
            ctx.reject(
                item,
                f"sent {RESENDS + 1} times, every answer was lost, and reading it back shows "
                f"the {ctx.spec.name} row does not hold it: not written; send it again",
            )
        else:
            ctx.accept(item, how)

    parallel(ctx.pool, post, planned)


def put_rows(ctx: Context, items: list[Item]) -> None:
    """PUT where/<key>=<value> per row; a row matching nothing is rejected (never created)."""
    key = ctx.target.match_key
    assert key is not None

    def put(item: Item) -> None:
        body = {k: v for k, v in item.fields.items() if k != key}
        if not body:
            ctx.accept(item, "unchanged")
            return
        q = Query(ctx.spec.path, where=all_of(cond(key, "=", item.key)))
        try:
            count = ctx.gw.put(ctx.stream, q, body)
        except RequestError as exc:
            ctx.reject(item, str(exc))
            return
        if count == 0:
            ctx.reject(
                item,
                f"no {ctx.spec.name} row has {key}={item.key}; mode update does not create rows",
            )
        else:
            ctx.accept(item, "updated")

    parallel(ctx.pool, put, items)


def delete_rows(ctx: Context, items: list[Item]) -> None:
    """DELETE where/<key>:<v1>,<v2>,... in chunks. Deleting what is not there is no error."""
    key = ctx.target.match_key
    assert key is not None
    by_key: dict[str, list[Item]] = {}
    for item in items:
        by_key.setdefault(item.key or "", []).append(item)
    for chunk in in_list_chunks(list(by_key)):
        q = Query(ctx.spec.path, where=all_of(cond(key, ":", chunk)))
        try:
            count = ctx.gw.delete(ctx.stream, q)
        except RequestError as exc:
            for value in chunk:
                for item in by_key[value]:
                    ctx.reject(item, str(exc))
            continue
        deleted = len(chunk) if count is None else count
        ctx.count("deleted", deleted)
        ctx.count("unchanged", max(0, len(chunk) - deleted))
        for value in chunk:
            for item in by_key[value]:
                ctx.accept(item, None)


def find_or_create(
    ctx: Context, obj: str, key: str, value: str, body: dict[str, Any]
) -> tuple[int | str, bool]:
    """The id of the row of ``obj`` whose ``key`` is ``value``: the lowest id when several have
    it (names of lists are not unique), POSTed with ``body`` when none has. (id, created)"""
    pk = ctx.specs.object(obj).primary_key[0]
    q = Query(obj, where=all_of(cond(key, "=", value)), column=pk, order_by=(pk,), limit=1000)
    rows = ctx.gw.get(ctx.stream, q)
    if rows:
        return lowest_id(rows), False
    try:
        # POST creates a row each time: after a lost answer, resent only when still absent
        send_checked(
            lambda: ctx.gw.post(ctx.stream, obj, body), lambda: bool(ctx.gw.get(ctx.stream, q))
        )
    except OutcomeUnknown as exc:
        raise Refused(
            f"{obj} row with {key}={value}: sent {RESENDS + 1} times, every answer was lost, and "
            f"reading it back shows it is not there: not created; send it again"
        ) from exc
    rows = ctx.gw.get(ctx.stream, q)
    if not rows:
        raise Refused(f"{obj} row with {key}={value} was not found after creating it")
    return lowest_id(rows), True


def named_rows(ctx: Context, items: list[Item]) -> None:
    """Make sure a row with the key's value exists (find by key, lowest id; POST when none)."""
    key = ctx.target.match_key
    assert key is not None
    for item in items:
        assert item.key is not None
        try:
            _, created = find_or_create(ctx, ctx.spec.path, key, item.key, item.fields)
        except (RequestError, Refused) as exc:
            ctx.reject(item, str(exc))
            continue
        ctx.accept(item, "created" if created else "unchanged")
