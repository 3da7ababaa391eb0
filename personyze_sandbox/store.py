"""The sandbox's SQLite store: connections, and GET answered the way the API answers it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connectors.api.query import Condition, Query
from connectors.spec import ObjectSpec, Specs
from personyze_sandbox.rules import ReadRules
from personyze_sandbox.schema import Catalog, bad_request, create_all
from personyze_sandbox.values import column_name, json_columns, to_json, where_value


class Store:
    def __init__(
        self,
        db_path: Path,
        specs: Specs,
        rules: ReadRules,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db_path = db_path
        self.specs = specs
        self.rules = rules
        self.clock = clock
        self.catalog = Catalog(specs)
        self._local = threading.local()
        # One writer at a time keeps read-modify-write sequences (upserts, merges) atomic.
        self.write_lock = threading.RLock()
        conn = self.conn()
        create_all(conn, specs)
        self.catalog.load(conn)

    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=30, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write request as one transaction: its new columns (ALTER TABLE) and its rows
        commit together or not at all. Writers take turns; readers keep reading (WAL)."""
        with self.write_lock:
            conn = self.conn()
            if conn.in_transaction:  # a write inside a write: part of the outer transaction
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                self.catalog.discard()
                raise
            self.catalog.publish()

    @contextmanager
    def savepoint(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Part of a write that fails alone: rolled back (columns included) if it raises."""
        mark = self.catalog.mark()
        conn.execute("SAVEPOINT part")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO part")
            conn.execute("RELEASE part")
            self.catalog.restore(mark)
            raise
        conn.execute("RELEASE part")

    def now(self) -> int:
        return int(self.clock())

    # ---- reads -------------------------------------------------------------------------

    def read(self, spec: ObjectSpec, q: Query) -> Any:
        self.rules.check_modifiers(q)
        if q.id is not None:
            return self._read_one(spec, q)
        self._check_columns(spec, [c.column for c in q.conditions()], "where")
        self._check_columns(spec, list(q.order_by or q.order_by_desc), "order_by")
        self.rules.check_scan(spec, q)
        offset, limit = self.rules.row_window(spec, q)
        where_sql, params = self.where_sql(spec, q.where)
        order = q.order_by or q.order_by_desc
        direction = "DESC" if q.order_by_desc else "ASC"
        order_sql = ", ".join(
            [f'"{column_name(spec, c)}" {direction}' for c in order] + [f"rowid {direction}"]
        )
        sql = (
            f'SELECT * FROM "{spec.name}"{where_sql} ORDER BY {order_sql} '
            f"LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        cursor = self.conn().cursor()
        cursor.row_factory = None  # plain tuples: a sqlite3.Row copied into a dict costs more
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        decode = json_columns(spec).decode
        rows = [decode(dict(zip(names, r, strict=True))) for r in cursor]
        return self._project(spec, q, rows)

    def _read_one(self, spec: ObjectSpec, q: Query) -> Any:
        if len(spec.primary_key) != 1:
            raise bad_request(f"{spec.name} has no single-column primary key")
        pk = spec.primary_key[0]
        sql = f'SELECT * FROM "{spec.name}" WHERE "{pk}" = ?'
        affinity = self.catalog.columns(spec.name).get(pk, "")
        found = self.conn().execute(sql, (where_value(affinity, q.id or ""),)).fetchone()
        if found is None:
            raise bad_request("Row not found")
        rows = self._project(spec, q, [to_json(spec, dict(found))])
        return rows[0]

    def _project(self, spec: ObjectSpec, q: Query, rows: list[dict[str, Any]]) -> Any:
        wanted = [column_name(spec, c) for c in ((q.column,) if q.column else q.columns)]
        if not wanted:
            return rows
        packed = any(c.role == "packed_json" for c in spec.columns)
        if not packed:
            self._check_columns(spec, wanted, "columns")
        if q.column:
            return [row.get(wanted[0]) for row in rows]
        return [{name: row.get(name) for name in wanted} for row in rows]

    def _check_columns(self, spec: ObjectSpec, names: list[str], where: str) -> None:
        known = self.catalog.columns(spec.name)
        for name in names:
            if column_name(spec, name) not in known:
                raise bad_request(f"Unknown column {name} in {where} of {spec.name}")

    def where_sql(
        self, spec: ObjectSpec, where: tuple[tuple[Condition, ...], ...]
    ) -> tuple[str, list[Any]]:
        if not where:
            return "", []
        params: list[Any] = []
        groups = []
        for group in where:
            parts = [self._condition_sql(spec, c, params) for c in group]
            groups.append("(" + " AND ".join(parts) + ")")
        return " WHERE " + " OR ".join(groups), params

    def _condition_sql(self, spec: ObjectSpec, c: Condition, params: list[Any]) -> str:
        name = column_name(spec, c.column)
        affinity = self.catalog.columns(spec.name).get(name)
        if affinity is None:
            raise bad_request(f"Unknown column {c.column} in where of {spec.name}")
        if isinstance(c.value, tuple):
            values = [where_value(affinity, v) for v in c.value]
            params.extend(values)
            marks = ", ".join("?" for _ in values)
            return f'"{name}" {"NOT IN" if c.op == "!:" else "IN"} ({marks})'
        value = where_value(affinity, c.value)
        if c.op == "=" and affinity == "" and value != c.value:
            # a dynamic column may hold the same number as text or as a number
            params.extend([value, c.value])
            return f'("{name}" = ? OR "{name}" = ?)'
        params.append(value)
        return f'"{name}" {c.op} ?'
