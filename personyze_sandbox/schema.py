"""SQLite tables of the sandbox, derived from the object specs."""

from __future__ import annotations

import re
import sqlite3
import threading

from connectors.spec import ObjectSpec, Specs

SQL_TYPES = {
    "integer": "INTEGER",
    "number": "REAL",
    "string": "TEXT",
    "array": "TEXT",
    "object": "TEXT",
    "any": "TEXT",
}
# Columns the sandbox keeps beside the documented ones (never returned by the API).
ARTICLE_INTERACTIONS = "_articles_interactions"
DYNAMIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class SandboxApiError(Exception):
    """An answer the sandbox sends instead of data: status and plain-text body (maybe empty)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text or f"HTTP {status}")
        self.status = status
        self.text = text


def bad_request(text: str) -> SandboxApiError:
    return SandboxApiError(400, text)


def table_objects(specs: Specs) -> list[ObjectSpec]:
    return [o for o in specs.objects.values() if o.kind == "table"]


def create_statements(spec: ObjectSpec) -> list[str]:
    cols = []
    for col in spec.columns:
        decl = f'"{col.name}" {SQL_TYPES[col.type]}'
        if col.role == "auto_id":
            decl += " PRIMARY KEY AUTOINCREMENT"
        cols.append(decl)
    pk = [p for p in spec.primary_key if spec.column(p).role != "auto_id"]
    if pk:
        cols.append("UNIQUE (" + ", ".join(f'"{p}"' for p in pk) + ")")
    stmts = [f'CREATE TABLE IF NOT EXISTS "{spec.name}" ({", ".join(cols)})']
    for col in spec.columns:
        if col.indexed and col.role != "auto_id":
            stmts.append(
                f'CREATE INDEX IF NOT EXISTS "ix_{spec.name}_{col.name}" '
                f'ON "{spec.name}" ("{col.name}")'
            )
    if spec.write.upsert_on:
        stmts.append(
            f'CREATE UNIQUE INDEX IF NOT EXISTS "ux_{spec.name}_{spec.write.upsert_on}" '
            f'ON "{spec.name}" ("{spec.write.upsert_on}")'
        )
    return stmts


def create_all(conn: sqlite3.Connection, specs: Specs) -> None:
    for spec in table_objects(specs):
        for stmt in create_statements(spec):
            conn.execute(stmt)
    conn.execute(
        f'CREATE TABLE IF NOT EXISTS "{ARTICLE_INTERACTIONS}" (user_id INTEGER, '
        "article_internal_id TEXT, status TEXT, action_id INTEGER, time INTEGER)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _account (id INTEGER, name TEXT, hosts TEXT, "
        "async INTEGER, no_hide INTEGER)"
    )
    conn.commit()


class Catalog:
    """The live column set of every table, shared by all request threads."""

    def __init__(self, specs: Specs) -> None:
        self.specs = specs
        self._tables: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def load(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            for spec in table_objects(self.specs):
                info = conn.execute(f'PRAGMA table_info("{spec.name}")').fetchall()
                self._tables[spec.name] = {row[1]: (row[2] or "") for row in info}

    def columns(self, name: str) -> dict[str, str]:
        return self._tables[name]

    def ensure_columns(self, conn: sqlite3.Connection, spec: ObjectSpec, names: list[str]) -> None:
        """Add dynamic columns a write introduces (the object allows any column name)."""
        missing = [n for n in names if n not in self._tables[spec.name]]
        if not missing:
            return
        with self._lock:
            for name in missing:
                if name in self._tables[spec.name]:
                    continue
                if not DYNAMIC_NAME.match(name):
                    raise bad_request(f"Invalid column name {name!r} for {spec.name}")
                pattern = spec.dynamic_column_pattern
                if not spec.dynamic_columns or (pattern and not re.match(pattern, name)):
                    raise bad_request(f"Unknown column {name!r} in {spec.name}")
                conn.execute(f'ALTER TABLE "{spec.name}" ADD COLUMN "{name}"')
                self._tables[spec.name] = {**self._tables[spec.name], name: ""}
