"""List membership: add, remove and mirror members of user lists.

Lists are named by id (``list_id``, or a record's ``user_list_id``) or by name (``list_name``, or
a record's ``user_list_name``). Names are not unique (api §5.2): the list of a name is the one
with the lowest id among lists with that name, created when none has it. Members are users
looked up by the match key first, and created by email or internal_id when missing (api §9 C2:
a live account may refuse to create them on POST user_list_users). An added membership is
confirmed by reading it back, since the POST answer is a meaningless number (api §5.3).
Mirror removes, at the end of the run, members of every list the stream named that were absent
from its records; it does nothing when a record of the stream was rejected, since that record
may name a member that must stay.
"""

from __future__ import annotations

from typing import Any

from connectors.api.errors import OutcomeUnknown, RequestError
from connectors.api.query import Query, all_of, cond
from connectors.write.commands import profile_command, user_key
from connectors.write.context import Context, existing_values
from connectors.write.execute import RESENDS, parallel, send_checked
from connectors.write.plan import MAX_EQUALITY_ROWS, in_list_chunks
from connectors.write.records import Item, Refused, key_text
from connectors.write.rows import find_or_create

LISTS, MEMBERS = "user_lists", "user_list_users"
SLOW_PAGE = 50


def _list_of(ctx: Context, item: Item) -> int | str:
    lists: dict[str, int | str] = ctx.state.setdefault("lists", {})
    if ctx.target.list_id is not None:
        ref = str(ctx.target.list_id)
    elif ctx.target.list_name is not None:
        ref = "name:" + ctx.target.list_name
    elif "user_list_id" in item.fields:
        ref = key_text("user_list_id", item.fields["user_list_id"])
    elif "user_list_name" in item.fields:
        ref = "name:" + str(item.fields["user_list_name"]).strip()
    else:
        raise Refused(
            "no list: set list_id or list_name for the stream, or give the record a "
            "user_list_id or user_list_name column"
        )
    if ref not in lists:
        if ref.startswith("name:"):
            name = ref[len("name:") :]
            lists[ref], created = find_or_create(ctx, LISTS, "name", name, {"name": name})
            if created:
                ctx.state.setdefault("notes", []).append(
                    f"created user list {name!r} (id {lists[ref]})"
                )
        else:
            found = existing_values(ctx.gw, ctx.stream, LISTS, "id", [ref])
            lists[ref] = int(ref) if found is None or ref in found else f"missing:{ref}"
    value = lists[ref]
    if isinstance(value, str) and value.startswith("missing:"):
        raise Refused(f"unknown list: no user list has id {ref}")
    return value


def _members(ctx: Context, list_id: int | str, user_ids: list[str]) -> set[str] | None:
    found: set[str] = set()
    for chunk in in_list_chunks(user_ids):
        q = Query(
            MEMBERS,
            where=all_of(cond("user_list_id", "=", list_id), cond("user_id", ":", chunk)),
            column="user_id",
            limit=MAX_EQUALITY_ROWS,
        )
        rows = ctx.gw.get(ctx.stream, q)
        if rows is None:
            return None
        found |= {str(r) for r in rows}
    return found


def _grouped(ctx: Context, items: list[Item]) -> dict[int | str, list[Item]]:
    groups: dict[int | str, list[Item]] = {}
    for item in items:
        try:
            groups.setdefault(_list_of(ctx, item), []).append(item)
        except (Refused, RequestError) as exc:
            ctx.reject(item, str(exc))
    return groups


def _resolve(ctx: Context, items: list[Item], *, create: bool) -> dict[str, int | str]:
    key = ctx.target.match_key
    assert key is not None
    table = ctx.specs.commands
    values = [i.key or "" for i in items]
    if not create:
        return ctx.users.lookup(ctx.stream, key, values)

    def stub(value: str) -> list[Any]:
        return profile_command(table, user_key(table, key, value), {}, key)

    return ctx.users.ensure(ctx.stream, key, values, stub)


def members_add(ctx: Context, items: list[Item]) -> None:
    for list_id, group in _grouped(ctx, items).items():
        _add(ctx, list_id, group)


def members_mirror(ctx: Context, items: list[Item]) -> None:
    members_add(ctx, items)


def _add(ctx: Context, list_id: int | str, items: list[Item]) -> None:
    users = _resolve(ctx, items, create=ctx.target.match_key != "user_id")
    ready: list[tuple[Item, str]] = []
    for item in items:
        uid = users.get(item.key or "")
        if uid is None:
            ctx.reject(item, f"no profile has {ctx.target.match_key}={item.key}")
        else:
            ready.append((item, str(uid)))
    present = _members(ctx, list_id, [u for _, u in ready]) or set()
    to_add = sorted({u for _, u in ready} - present)

    def post(uid: str) -> str | None:
        body = {"user_list_id": list_id, "user_id": int(uid) if uid.isdigit() else uid}
        try:
            send_checked(
                lambda: ctx.gw.post(ctx.stream, MEMBERS, body),
                lambda: uid in (_members(ctx, list_id, [uid]) or set()),
            )
        except RequestError as exc:
            return str(exc)
        except OutcomeUnknown:
            return (
                f"membership of user {uid} in list {list_id}: sent {RESENDS + 1} times, every "
                "answer was lost, and reading it back shows the user is not a member: not "
                "added; send it again"
            )
        return None

    errors = dict(zip(to_add, parallel(ctx.pool, post, to_add), strict=True))
    confirmed = _members(ctx, list_id, [u for u in to_add if errors[u] is None])
    seen: set[str] = ctx.state.setdefault("mirror_seen", {}).setdefault(str(list_id), set())
    counted: set[str] = set()
    for item, uid in ready:
        if errors.get(uid):
            ctx.reject(item, str(errors[uid]))
        elif uid in to_add and confirmed is not None and uid not in confirmed:
            ctx.reject(
                item,
                f"membership of user {uid} in list {list_id} was not confirmed by reading it back",
            )
        else:
            new = uid in to_add and uid not in counted
            counted.add(uid)
            seen.add(uid)
            ctx.accept(item, "created" if new else "unchanged")


def members_remove(ctx: Context, items: list[Item]) -> None:
    for list_id, group in _grouped(ctx, items).items():
        users = _resolve(ctx, group, create=False)
        ids = sorted({str(users[i.key or ""]) for i in group if (i.key or "") in users})
        present = _members(ctx, list_id, ids)
        gone = set(ids) if present is None else present
        errors = _remove(ctx, list_id, sorted(gone))
        for item in group:
            uid = users.get(item.key or "")
            if uid is not None and str(uid) in errors:
                ctx.reject(item, errors[str(uid)])
            else:
                ctx.accept(item, "deleted" if uid is not None and str(uid) in gone else "unchanged")
            if uid is not None:
                gone.discard(str(uid))


def _remove(ctx: Context, list_id: int | str, user_ids: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for chunk in in_list_chunks(user_ids):
        q = Query(
            MEMBERS, where=all_of(cond("user_list_id", "=", list_id), cond("user_id", ":", chunk))
        )
        try:
            ctx.gw.delete(ctx.stream, q)
        except RequestError as exc:
            errors.update({u: str(exc) for u in chunk})
    return errors


def all_members(ctx: Context, list_id: int | str) -> list[str]:
    """Every member of a list: one equality read of up to 1000 rows, then keyset pages of 50
    (a range condition is a slow query, api §4.7)."""
    q = Query(
        MEMBERS,
        where=all_of(cond("user_list_id", "=", list_id)),
        column="user_id",
        order_by=("user_id",),
        limit=MAX_EQUALITY_ROWS,
        offset=0,
    )
    rows = ctx.gw.get(ctx.stream, q)
    out = [str(r) for r in rows]
    if len(rows) < MAX_EQUALITY_ROWS:
        return out
    while True:
        q = Query(
            MEMBERS,
            where=all_of(cond("user_list_id", "=", list_id), cond("user_id", ">", out[-1])),
            column="user_id",
            order_by=("user_id",),
            limit=SLOW_PAGE,
            offset=0,
        )
        rows = ctx.gw.get(ctx.stream, q) or []
        out += [str(r) for r in rows]
        if len(rows) < SLOW_PAGE:
            return out


def finish_mirror(ctx: Context, rejected: int) -> None:
    """Remove members absent from the stream's records, for every list the stream named."""
    seen_by_list: dict[str, set[str]] = ctx.state.get("mirror_seen", {})
    if rejected:
        ctx.state.setdefault("notes", []).append(
            f"mirror removals skipped: {rejected} record(s) rejected, and a rejected record may "
            "name a member that must stay"
        )
        return
    for list_ref, seen in seen_by_list.items():
        list_id: int | str = int(list_ref) if list_ref.isdigit() else list_ref
        absent = sorted(set(all_members(ctx, list_id)) - seen, key=lambda u: (len(u), u))
        errors = _remove(ctx, list_id, absent)
        ctx.count("deleted", len(absent) - len(errors))
        for uid, reason in errors.items():
            ctx.report(
                uid,
                f"mirror: could not remove user {uid} from list {list_ref}: {reason}",
                {"user_list_id": list_id, "user_id": uid},
            )
