"""`/rest/do`: command arrays applied one by one, from the command table in specs/commands.json.

The batch stops at the first failing command; commands before it stay applied (api §6.3, U11)
and the failing one applies nothing (not even the stub user it would have created). A body that
is not JSON runs no command at all: it is refused before the batch is read.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from connectors.spec import CommandSpec
from connectors.spec.models import CommandArg
from personyze_sandbox.schema import SandboxApiError, bad_request
from personyze_sandbox.values import checked_number
from personyze_sandbox.writes import Writer

ITEM_TABLES = {
    "product": ("products", "products_interactions", "product_internal_id"),
    "article": ("articles", "_articles_interactions", "article_internal_id"),
}
LOG_TABLES = {"products": ITEM_TABLES["product"], "articles": ITEM_TABLES["article"]}


class DoRunner:
    def __init__(self, writer: Writer, *, accept_tracker_only: bool = False) -> None:
        self.writer = writer
        self.specs = writer.store.specs
        self.accept_tracker_only = accept_tracker_only

    def run(self, conn: sqlite3.Connection, batch: Any) -> str | None:
        """Apply the batch; the text of the first failure, or None when all succeeded."""
        if not isinstance(batch, list):
            return "The body of do must be a JSON array of command arrays"
        for number, command in enumerate(batch, start=1):
            try:
                with self.writer.store.savepoint(conn):  # a failing command leaves nothing
                    self.apply(conn, command, endpoint="do", user_id=None)
            except SandboxApiError as exc:
                return f"Command {number}: {exc.text}"
        return None

    def apply(
        self, conn: sqlite3.Connection, command: Any, *, endpoint: str, user_id: int | None
    ) -> CommandSpec:
        if not isinstance(command, list) or not command:
            raise bad_request("each command must be a non-empty JSON array")
        key_types = self.specs.commands.key_types
        args = list(command)
        key: tuple[str, Any] | None = None
        if endpoint == "do" and isinstance(args[0], str) and args[0].lower() in key_types:
            if len(args) < 3:
                raise bad_request(f"command {command!r} needs a key, a key value and a name")
            key, args = (args[0].lower(), args[1]), args[2:]
        name = args[0]
        spec = self.specs.commands.find(name, "do" if endpoint == "do" else "tracker-v1")
        if spec is None or (
            endpoint == "do" and "do" not in spec.documented_for and not self.accept_tracker_only
        ):
            raise bad_request(f"Unknown command {name!r}")
        if user_id is None:
            if key is None:
                raise bad_request(
                    f"Command {spec.name!r} needs a user key ({', '.join(key_types)})"
                )
            user_id = self.writer.resolve_user(conn, key[0], key[1], create=key[0] != "user_id")
        self._execute(conn, spec, user_id, args[1:])
        return spec

    def _execute(
        self, conn: sqlite3.Connection, spec: CommandSpec, user_id: int, args: list[Any]
    ) -> None:
        positional, rest = self._positional(spec, args)
        if spec.field_value_pairs:
            self._profile(conn, user_id, rest)
            return
        keywords = self._keywords(spec, rest)
        if spec.target in ITEM_TABLES:
            catalog, log, item_column = ITEM_TABLES[spec.target]
            item = positional[0]
            if not conn.execute(
                f'SELECT 1 FROM "{catalog}" WHERE internal_id = ?', (str(item),)
            ).fetchone():
                raise bad_request(f"{catalog} row not found by internal_id={item}")
            if spec.interaction_status:
                self._log(conn, log, item_column, user_id, str(item), spec, keywords)
            if spec.status_change:
                self._move(conn, log, spec, user_id, item_column, str(item))
        elif spec.target in LOG_TABLES and spec.status_change:
            _, log, item_column = LOG_TABLES[spec.target]
            self._move(conn, log, spec, user_id, None, None)

    def _positional(self, spec: CommandSpec, args: list[Any]) -> tuple[list[Any], list[Any]]:
        values: list[Any] = []
        for index, arg in enumerate(spec.positional):
            if index >= len(args):
                if arg.optional:
                    break
                raise bad_request(f"Command {spec.name!r} needs argument {arg.name}")
            values.append(_typed(spec, arg, args[index]))
        return values, args[len(values) :]

    def _keywords(self, spec: CommandSpec, rest: list[Any]) -> dict[str, Any]:
        if len(rest) % 2:
            raise bad_request(f"Command {spec.name!r}: keyword {rest[-1]!r} has no value")
        allowed = {k.name: k for k in spec.keywords}
        out: dict[str, Any] = {}
        for name, value in zip(rest[::2], rest[1::2], strict=True):
            if not isinstance(name, str) or name not in allowed:
                raise bad_request(
                    f"Command {spec.name!r} does not accept {name!r}; "
                    f"allowed: {', '.join(allowed) or 'none'}"
                )
            out[name] = _typed(spec, allowed[name], value)
        return out

    def _profile(self, conn: sqlite3.Connection, user_id: int, pairs: list[Any]) -> None:
        if len(pairs) % 2:
            raise bad_request(f"User profile: field {pairs[-1]!r} has no value")
        users = self.specs.object("users")
        body = {}
        for name, value in zip(pairs[::2], pairs[1::2], strict=True):
            if not isinstance(name, str) or not name.strip():
                raise bad_request(f"User profile: field name {name!r} must be a text")
            body[name] = value
        fields = self.writer.prepare(users, body)
        self.writer.store.catalog.ensure_columns(conn, users, list(fields))
        self.writer.update_rowids(conn, users, [user_id], fields)

    def _log(
        self,
        conn: sqlite3.Connection,
        table: str,
        item_column: str,
        user_id: int,
        item: str,
        spec: CommandSpec,
        keywords: dict[str, Any],
    ) -> None:
        now = self.writer.store.now()
        row: dict[str, Any] = {
            "user_id": user_id,
            item_column: item,
            "status": spec.interaction_status,
            "time": now,
        }
        if table == "products_interactions":
            row["quantity"] = keywords.get("quantity", 1)
            row["amount"] = keywords.get("amount")
            row["transaction_time"] = keywords.get("transaction_time", now)
        row["action_id"] = keywords.get("action_id")
        names = list(row)
        conn.execute(
            f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({", ".join("?" for _ in names)})',
            [row[n] for n in names],
        )

    def _move(
        self,
        conn: sqlite3.Connection,
        table: str,
        spec: CommandSpec,
        user_id: int,
        item_column: str | None,
        item: str | None,
    ) -> None:
        change = spec.status_change
        assert change is not None
        sql = f'UPDATE "{table}" SET status = ? WHERE user_id = ? AND status = ?'
        params: list[Any] = [change.to_status, user_id, change.from_status]
        if item_column is not None:
            sql += f' AND "{item_column}" = ?'
            params.append(item)
        conn.execute(sql, params)


def _typed(spec: CommandSpec, arg: CommandArg, value: Any) -> Any:
    ok = {
        "string": isinstance(value, str),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "string_or_number": isinstance(value, str | int | float) and not isinstance(value, bool),
    }[arg.type]
    if not ok and isinstance(value, str) and arg.type in ("number", "integer"):
        # the Android SDK sends every argument as a JSON string (api §7.3)
        try:
            return int(value) if arg.type == "integer" else float(value)
        except ValueError:
            pass
    if not ok:
        raise bad_request(f"Command {spec.name!r}: {arg.name} must be a {arg.type}, got {value!r}")
    return checked_number(f"Command {spec.name!r}: {arg.name}", value)
