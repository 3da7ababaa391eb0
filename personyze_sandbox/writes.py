"""POST, PUT and DELETE with the documented side effects (api §5): upserts, merges, renames,
stub users, cascades and data_last_modified upkeep."""

from __future__ import annotations

import sqlite3
from typing import Any

from connectors.api.query import Query
from connectors.spec import ObjectSpec
from personyze_sandbox.rules import Behaviour
from personyze_sandbox.schema import bad_request
from personyze_sandbox.store import Store
from personyze_sandbox.values import column_name, to_stored


class Writer:
    def __init__(self, store: Store, behaviour: Behaviour) -> None:
        self.store = store
        self.behaviour = behaviour

    # ---- input shaping ------------------------------------------------------------------

    def prepare(self, spec: ObjectSpec, body: dict[str, Any]) -> dict[str, Any]:
        """Renames, aliases, dropped empty values and typed values of one input row."""
        fields: dict[str, Any] = {}
        for raw_name, value in body.items():
            name = spec.write.input_renames.get(raw_name, raw_name)
            name = column_name(spec, name)
            if spec.write.empty_values_ignored and (value is None or value == ""):
                continue
            col = spec.column(name) if spec.has_column(name) else None
            if col is not None and col.role in ("auto_id", "modified_time", "insert_time"):
                continue  # the server owns these values
            fields[name] = to_stored(spec, name, value)
        return fields

    def _merge_keys(self, spec: ObjectSpec) -> tuple[str, ...]:
        if self.behaviour == "observed" and spec.write.merge_on_observed is not None:
            return spec.write.merge_on_observed
        return spec.write.merge_on

    # ---- POST ---------------------------------------------------------------------------

    def insert(self, conn: sqlite3.Connection, spec: ObjectSpec, body: dict[str, Any]) -> int:
        resolved = self._resolve_user_fields(conn, spec, body)
        fields = self.prepare(spec, resolved)
        self._check_required(spec, fields)
        self.store.catalog.ensure_columns(conn, spec, list(fields))
        existing = self._existing_row(
            conn, spec, {**self._server_owned_keys(spec, resolved), **fields}
        )
        if existing is not None:
            self.update_rowids(conn, spec, [existing], fields)
            return existing
        for col in spec.columns:
            if col.default is not None and col.name not in fields:
                fields[col.name] = col.default
            if col.role in ("modified_time", "insert_time"):
                fields[col.name] = self.store.now()
        names = list(fields)
        sql = (
            f'INSERT INTO "{spec.name}" ('
            + ", ".join(f'"{n}"' for n in names)
            + ") VALUES ("
            + ", ".join("?" for _ in names)
            + ")"
        )
        try:
            cur = conn.execute(sql, [fields[n] for n in names])
        except sqlite3.IntegrityError:
            # e.g. an existing membership: the API answers a meaningless lastInsertId (api §5.3)
            return 0
        return int(cur.lastrowid or 0)

    def _check_required(self, spec: ObjectSpec, fields: dict[str, Any]) -> None:
        needed = spec.write.required_on_insert
        needed += (spec.write.upsert_on,) if spec.write.upsert_on else ()
        for name in needed:
            if fields.get(name) is None:
                raise bad_request(f"Field {name} is required to insert into {spec.name}")
        for ref in spec.write.references:
            value = fields.get(ref.column)
            if value is not None:
                self._must_exist(self.store.conn(), ref.object, ref.object_column, value)

    def _must_exist(self, conn: sqlite3.Connection, table: str, column: str, value: Any) -> None:
        if conn.execute(f'SELECT 1 FROM "{table}" WHERE "{column}" = ?', (value,)).fetchone():
            return
        raise bad_request(f"{table} row not found by {column}={value}")

    def _server_owned_keys(self, spec: ObjectSpec, body: dict[str, Any]) -> dict[str, Any]:
        """Merge keys that ``prepare`` drops because the server assigns them (users.user_id):
        a POST naming an existing user_id merges into that user (api §5.1)."""
        out: dict[str, Any] = {}
        for key in self._merge_keys(spec):
            if not spec.has_column(key) or spec.column(key).role != "auto_id":
                continue
            value = body.get(key)
            if value is not None and value != "":
                out[key] = to_stored(spec, key, value)
        return out

    def _existing_row(
        self, conn: sqlite3.Connection, spec: ObjectSpec, fields: dict[str, Any]
    ) -> int | None:
        keys = self._merge_keys(spec) + ((spec.write.upsert_on,) if spec.write.upsert_on else ())
        for key in keys:
            if fields.get(key) is None:
                continue
            found = conn.execute(
                f'SELECT rowid FROM "{spec.name}" WHERE "{key}" = ? LIMIT 1', (fields[key],)
            ).fetchone()
            if found is not None:
                return int(found[0])
        return None

    # ---- user resolution (user_list_users, products_interactions, do) --------------------

    def _resolve_user_fields(
        self, conn: sqlite3.Connection, spec: ObjectSpec, body: dict[str, Any]
    ) -> dict[str, Any]:
        out = dict(body)
        for res in spec.write.user_resolution:
            if res.field not in out:
                continue
            value = out.pop(res.field)
            if out.get("user_id") not in (None, ""):
                continue
            stub = res.creates_stub
            if self.behaviour == "observed" and res.creates_stub_observed is not None:
                stub = res.creates_stub_observed
            out["user_id"] = self.resolve_user(conn, res.users_column, value, create=stub)
        return out

    def resolve_user(self, conn: sqlite3.Connection, key: str, value: Any, *, create: bool) -> int:
        users = self.store.specs.object("users")
        if value in (None, ""):
            raise bad_request(f"User not found by {key}=")
        stored = to_stored(users, key, value)
        found = conn.execute(
            f'SELECT user_id FROM users WHERE "{key}" = ? LIMIT 1', (stored,)
        ).fetchone()
        if found is not None:
            return int(found[0])
        if key == "user_id" or not create:
            raise bad_request(f"User not found by {key}={value}")
        now = self.store.now()
        cur = conn.execute(
            f'INSERT INTO users ("{key}", data_last_modified, last_session_time, session_counter) '
            "VALUES (?, ?, 0, 0)",
            (stored, now),
        )
        return int(cur.lastrowid or 0)

    # ---- PUT / DELETE -------------------------------------------------------------------

    def matching_rowids(self, conn: sqlite3.Connection, spec: ObjectSpec, q: Query) -> list[int]:
        if q.id is None and not q.where:
            raise bad_request("Cannot do this operation on whole table")
        if q.id is not None:
            if len(spec.primary_key) != 1:
                raise bad_request(f"{spec.name} has no single-column primary key")
            sql = f'SELECT rowid FROM "{spec.name}" WHERE "{spec.primary_key[0]}" = ?'
            return [int(r[0]) for r in conn.execute(sql, (q.id,))]
        if self.behaviour == "observed" and spec.write.merge_on_observed is not None:
            unusable = set(spec.write.merge_on) - set(spec.write.merge_on_observed)
            if any(c.column in unusable for c in q.conditions()):
                return []  # a live account matched nothing on these keys (api §9 C1)
        where_sql, params = self.store.where_sql(spec, q.where)
        return [
            int(r[0]) for r in conn.execute(f'SELECT rowid FROM "{spec.name}"{where_sql}', params)
        ]

    def update(
        self, conn: sqlite3.Connection, spec: ObjectSpec, q: Query, body: dict[str, Any]
    ) -> int:
        fields = self.prepare(spec, body)
        self.store.catalog.ensure_columns(conn, spec, list(fields))
        rowids = self.matching_rowids(conn, spec, q)
        self.update_rowids(conn, spec, rowids, fields)
        return len(rowids)

    def update_rowids(
        self, conn: sqlite3.Connection, spec: ObjectSpec, rowids: list[int], fields: dict[str, Any]
    ) -> None:
        if not fields or not rowids:
            return
        sets = ", ".join(f'"{n}" = ?' for n in fields)
        changed = " OR ".join(f'"{n}" IS NOT ?' for n in fields)
        modified = [c.name for c in spec.columns if c.role == "modified_time"]
        for rowid in rowids:
            params = list(fields.values())
            differs = conn.execute(
                f'SELECT 1 FROM "{spec.name}" WHERE rowid = ? AND ({changed})', [rowid, *params]
            ).fetchone()
            if differs is None:
                continue  # nothing changes: data_last_modified keeps its value
            extra = "".join(f', "{m}" = {self.store.now()}' for m in modified)
            conn.execute(
                f'UPDATE "{spec.name}" SET {sets}{extra} WHERE rowid = ?', [*params, rowid]
            )

    def delete(self, conn: sqlite3.Connection, spec: ObjectSpec, q: Query) -> int:
        rowids = self.matching_rowids(conn, spec, q)
        for cascade in spec.write.cascade_deletes:
            conn.execute(
                f'DELETE FROM "{cascade.object}" WHERE "{cascade.column}" IN '
                f'(SELECT "{cascade.parent_column}" FROM "{spec.name}" WHERE rowid IN '
                f"({','.join('?' for _ in rowids)}))",
                rowids,
            )
        conn.execute(
            f'DELETE FROM "{spec.name}" WHERE rowid IN ({",".join("?" for _ in rowids)})', rowids
        )
        return len(rowids)
