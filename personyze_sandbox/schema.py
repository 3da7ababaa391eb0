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
    """The live column set of every table, shared by all request threads.

    Columns a write adds are staged for the writing thread and published only when its
    transaction commits (the ALTER TABLE is part of that transaction): other threads never see a
    column their snapshot of the database does not have, and a rolled-back write leaves none."""

    def __init__(self, specs: Specs) -> None:
        self.specs = specs
        self.limit = specs.connection.limits.dynamic_columns.max_per_object
        self._tables: dict[str, dict[str, str]] = {}
        self._staged = threading.local()

    def load(self, conn: sqlite3.Connection) -> None:
        for spec in table_objects(self.specs):
            info = conn.execute(f'PRAGMA table_info("{spec.name}")').fetchall()
            self._tables[spec.name] = {row[1]: (row[2] or "") for row in info}

    def columns(self, name: str) -> dict[str, str]:
        staged = self._staged_tables().get(name)
        return staged if staged is not None else self._tables[name]

    def ensure_columns(self, conn: sqlite3.Connection, spec: ObjectSpec, names: list[str]) -> None:
        """Add the dynamic columns a write introduces, all or none (the limit is checked first)."""
        current = self.columns(spec.name)
        missing = [n for n in dict.fromkeys(names) if n not in current]
        if not missing:
            return
        pattern = spec.dynamic_column_pattern
        for name in missing:
            if not DYNAMIC_NAME.match(name):
                raise bad_request(f"Invalid column name {name!r} for {spec.name}")
            if not spec.dynamic_columns or (pattern and not re.match(pattern, name)):
                raise bad_request(f"Unknown column {name!r} in {spec.name}")
        have = sum(1 for c in current if not spec.has_column(c))
        if have + len(missing) > self.limit:
            shown = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
            raise bad_request(
                f"{spec.name} may have at most {self.limit} dynamic columns: it has {have} and "
                f"this request adds {len(missing)} ({shown}); send fewer new fields"
            )
        for name in missing:
            conn.execute(f'ALTER TABLE "{spec.name}" ADD COLUMN "{name}"')
        self._staged_tables()[spec.name] = {**current, **dict.fromkeys(missing, "")}

    # ---- the writing thread's transaction ---------------------------------------------------

    def mark(self) -> dict[str, dict[str, str]]:
        return dict(self._staged_tables())

    def restore(self, mark: dict[str, dict[str, str]]) -> None:
        self._staged.tables = dict(mark)

    def publish(self) -> None:
        """After a commit: the staged columns exist for every connection now."""
        self._tables = {**self._tables, **self._staged_tables()}
        self._staged.tables = {}

    def discard(self) -> None:
        self._staged.tables = {}

    def _staged_tables(self) -> dict[str, dict[str, str]]:
        tables: dict[str, dict[str, str]] | None = getattr(self._staged, "tables", None)
        if tables is None:
            tables = self._staged.tables = {}
        return tables
