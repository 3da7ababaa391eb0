"""A dry run's stand-in for Personyze's answers, so that its summary is the real run's.

A dry run reads (lookups, existence, memberships, list names, current members) but never
writes. Each write it would send is answered here the way Personyze would answer it, by reading
what the answer depends on (these predicting reads are neither printed nor counted: they are not
calls of the real run) and applying the documented rules: `do` commands resolve or create their
user (a user_id that names nobody refuses the command, api §6.3) and refuse an item missing from
the catalog; POST upserts on the object's ``upsert_on``; PUT and DELETE answer how many rows they
match; a DELETE takes its cascades with it; a membership needs its list and user. The effects go
into an ``Overlay`` that later reads of the dry run see, as the real run's later reads would see
its writes.
"""

from __future__ import annotations

from typing import Any

from connectors.api.client import PersonyzeClient
from connectors.api.errors import PersonyzeError, error_for_response
from connectors.api.query import Query, all_of, cond
from connectors.spec.loader import Specs
from connectors.write.overlay import (
    Overlay,
    equalities,
    placeholder,
    snake_name,
    text,
    without_placeholders,
)
from connectors.write.plan import MAX_EQUALITY_ROWS, in_list_chunks

CATALOGS = {"product": "products", "article": "articles"}
INTERACTIONS = {"product": "products_interactions"}


class Refusal(Exception):
    """What Personyze would answer with a 400."""


class Rehearsal:
    def __init__(self, client: PersonyzeClient | None, specs: Specs) -> None:
        self.client = client
        self.specs = specs
        self.overlay = Overlay()
        self._users: dict[tuple[str, str], int | None] = {}

    # -- reads ----------------------------------------------------------------------------------

    def _real(self, q: Query | None) -> list[Any]:
        if q is None or self.client is None:
            return []
        answer = self.client.get(q)
        return list(answer) if isinstance(answer, list) else [answer]

    def get(self, q: Query) -> list[Any]:
        return self.overlay.answer(q, self._real(without_placeholders(q)))

    def _exists(self, obj: str, column: str, value: Any) -> bool:
        q = Query(obj, where=all_of(cond(column, "=", value)), limit=MAX_EQUALITY_ROWS)
        return bool(self.get(q))

    def _user(self, kind: str, value: Any, *, create: bool) -> Any:
        """The profile a `do` key names (the lowest user_id, as Personyze picks one); a stub
        is created for an email or internal_id that names nobody."""
        key = (kind, text(value))
        if key not in self._users:
            q = Query(
                "users",
                where=all_of(cond(kind, "=", value)),
                columns=("user_id",),
                order_by=("user_id",),
                limit=1,
            )
            found = self._real(None if placeholder(value) else q)
            self._users[key] = int(found[0]["user_id"]) if found else None
        uid = self._users[key]
        if uid is not None and self.overlay.visible("users", {"user_id": uid, kind: value}):
            return uid
        for row in self.overlay.added.get("users", []):
            if text(row.get(kind)) == key[1] and self.overlay.visible("users", row):
                return row["user_id"]
        if not create or kind == "user_id":
            raise Refusal(f"User not found by {kind}={value}")
        row = {"user_id": self.overlay.new_id("users"), kind: value}
        self.overlay.add("users", row)
        return row["user_id"]

    def prefetch_users(self, keys: list[tuple[str, Any]]) -> None:
        """Look the `do` keys of a batch up at once (one IN-list read per key type)."""
        by_kind: dict[str, list[str]] = {}
        for kind, value in keys:
            if (kind, text(value)) not in self._users and not placeholder(value):
                by_kind.setdefault(kind, []).append(text(value))
        for kind, values in by_kind.items():
            for chunk in in_list_chunks(values):
                q = Query(
                    "users",
                    where=all_of(cond(kind, ":", chunk)),
                    columns=("user_id", kind),
                    order_by=("user_id",),
                    limit=MAX_EQUALITY_ROWS,
                )
                for row in self._real(q):
                    self._users.setdefault((kind, text(row[kind])), int(row["user_id"]))
                for value in chunk:
                    self._users.setdefault((kind, value), None)

    # -- writes ---------------------------------------------------------------------------------

    def post(self, path: str, body: Any) -> Any:
        try:
            if path == "do":
                return self._do(body)
            return self._insert(path, dict(body))
        except Refusal as exc:
            raise _error(path, str(exc)) from None

    def put(self, q: Query, body: dict[str, Any]) -> int:
        count = len(self._matching(q))
        self.overlay.patch(q.object, equalities(q.where), self._stored(q.object, body))
        return count

    def delete(self, q: Query) -> int:
        spec = self.specs.object(q.object)
        rows = self._matching(q)
        for row in rows:
            key = {k: row[k] for k in (spec.primary_key or tuple(row)) if k in row}
            self.overlay.hide(q.object, key)
            for cascade in spec.write.cascade_deletes:
                if row.get(cascade.parent_column) is not None:
                    self.overlay.hide(cascade.object, {cascade.column: row[cascade.parent_column]})
        return len(rows)

    def _matching(self, q: Query) -> list[dict[str, Any]]:
        return [r for r in self.get(Query(q.object, where=q.where, limit=MAX_EQUALITY_ROWS))]

    def _stored(self, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        """Column names as Personyze stores them (image_1 renames, camelCase aliases)."""
        spec = self.specs.object(obj)
        out = {}
        for name, value in body.items():
            name = spec.write.input_renames.get(name, name)
            if spec.write.column_aliases and not spec.has_column(name):
                name = snake_name(name) or name
            out[name] = value
        return out

    def _insert(self, obj: str, body: dict[str, Any]) -> Any:
        spec = self.specs.object(obj)
        fields = self._stored(obj, body)
        for res in spec.write.user_resolution:
            if res.field in fields:
                value = fields.pop(res.field)
                fields["user_id"] = self._user(res.users_column, value, create=res.creates_stub)
        for ref in spec.write.references:
            value = fields.get(ref.column)
            if value is not None and not self._exists(ref.object, ref.object_column, value):
                raise Refusal(f"{ref.object} row not found by {ref.object_column}={value}")
        key = spec.write.upsert_on
        if key is not None and self._exists(obj, key, fields.get(key)):
            self.overlay.patch(obj, {key: fields[key]}, fields)
            return None
        pk = tuple(spec.primary_key or ())
        if pk == ("user_list_id", "user_id"):  # a membership exists at most once
            pair = {"user_list_id": fields["user_list_id"], "user_id": fields["user_id"]}
            self.overlay.unhide(obj, pair)
            if self.get(Query(obj, where=all_of(*(cond(k, "=", v) for k, v in pair.items())))):
                return 0
        row = {c.name: c.default for c in spec.columns if c.default is not None}
        if len(pk) == 1 and pk[0] not in fields:
            row[pk[0]] = self.overlay.new_id(obj)
        row.update(fields)
        self.overlay.add(obj, row)
        return row.get(pk[0]) if len(pk) == 1 else 0

    def _do(self, batch: list[list[Any]]) -> None:
        table = self.specs.commands
        self.prefetch_users([(str(c[0]).lower(), c[1]) for c in batch])
        for number, command in enumerate(batch, start=1):
            kind, value, name, *args = command
            spec = table.find(name, "do")
            assert spec is not None  # the engine sends only commands of the table
            try:
                uid = self._user(str(kind).lower(), value, create=True)
                if spec.field_value_pairs:
                    fields = self._stored("users", dict(zip(args[::2], args[1::2], strict=True)))
                    self.overlay.patch("users", {"user_id": uid}, fields)
                elif spec.target in CATALOGS:
                    self._interaction(spec.target, spec.interaction_status, uid, args)
            except Refusal as exc:
                raise Refusal(f"Command {number}: {exc}") from None

    def _interaction(self, target: str, status: str | None, uid: Any, args: list[Any]) -> None:
        catalog, item = CATALOGS[target], args[0]
        if not self._exists(catalog, "internal_id", item):
            raise Refusal(f"{catalog} row not found by internal_id={item}")
        log = INTERACTIONS.get(target)
        if status is None or log is None:
            return  # status changes, article interactions: nothing a read shows
        keywords = dict(zip(args[1::2], args[2::2], strict=False))
        row = {"user_id": uid, "product_internal_id": item, "status": status, "quantity": 1}
        row.update(keywords)
        self.overlay.add(log, row)


def _error(path: str, reason: str) -> PersonyzeError:
    return error_for_response(400, reason, object=path, operation="write")
