"""`POST /rest/tracker-v1` (api §7): sessions, commands, page views and JSON recommendations.

Choices where the sources are silent (each documented in the sandbox's README section):
- The tracker ``user_id`` names the Personyze user: its unsigned 32-bit value (so the signed
  and unsigned forms of one device id are one user) is ``users.user_id``; a missing profile is
  created, as ``do`` creates stub users.
- A session lasts 1.5 hours from its start; its id is ``"<start unix seconds> <random hex>"``.
  A well-formed id younger than that is continued (also one this sandbox did not issue: only
  the leading start time is specified); an expired, malformed or another user's id, or
  ``new_session: true``, starts a new session. Every answer carries the session id.
- Actions run on pages: nothing runs before the session's first ``Navigate``; an action runs at
  most once per page (and not again in a session after ``Action Status`` close/dont-show).
- Recommendation actions are rows of ``_recommendation_rules`` (action_id, algorithm,
  max_items) loaded with the demo data; shown products are logged as ``delivered``
  interactions attributed to the action.
- Every failure is a 500 with the message as plain text, and a failing batch applies nothing.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from typing import Any

from personyze_sandbox.commands import DoRunner
from personyze_sandbox.schema import ARTICLE_INTERACTIONS, SandboxApiError
from personyze_sandbox.store import Store
from personyze_sandbox.tracker_request import checked_request, failure

SESSION_SECONDS = 5_400
DOCUMENT_URN = "urn:personyze:doc:"
ACTION_STATUSES = ("executed", "target", "close", "product", "article", "error", "dont-show")
RULES_TABLE = "_recommendation_rules"
BLOCKED_PAGE = -1  # a row of _tracker_shown on this page blocks the action for the session
_SESSION = re.compile(r"^(\d{1,10})(?:[ ,].*)?$", re.DOTALL)
_PRODUCT_FIELDS = ("internal_id", "title", "category", "brand", "price", "sale_price",
                   "image_big_url", "cart_url")  # fmt: skip
_ARTICLE_FIELDS = ("internal_id", "title", "category", "author", "publish_date", "image_big_url")


def create_tracker_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _tracker_sessions (session_id TEXT PRIMARY KEY, "
        "user_id INTEGER, start_time INTEGER, last_time INTEGER, page INTEGER, document TEXT, "
        "device_type TEXT, conditions TEXT)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _tracker_shown (session_id TEXT, page INTEGER, "
        "action_id INTEGER)"
    )
    conn.execute(
        "CREATE INDEX IF NOT EXISTS ix_tracker_shown ON _tracker_shown (session_id, action_id)"
    )
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {RULES_TABLE} (action_id INTEGER PRIMARY KEY, "
        "algorithm TEXT, max_items INTEGER)"
    )


class Tracker:
    def __init__(self, store: Store, do: DoRunner) -> None:
        self.store = store
        self.do = do
        with store.writing() as conn:
            create_tracker_tables(conn)

    def handle(self, payload: Any) -> dict[str, Any]:
        """The answer to one request body, or a SandboxApiError(500, text)."""
        request = checked_request(payload)
        with self.store.writing() as conn:
            return self._run(conn, request)

    def _run(self, conn: sqlite3.Connection, req: dict[str, Any]) -> dict[str, Any]:
        now = self.store.now()
        user_id = self._user(conn, req["user_id"], now)
        sid = self._session(conn, user_id, req, now)
        for number, cmd in enumerate(req["commands"], start=1):
            try:
                spec = self.do.apply(conn, cmd, endpoint="tracker-v1", user_id=user_id)
            except SandboxApiError as exc:
                raise failure(f"Command {number}: {exc.text}") from None
            if spec.target == "navigation":
                document = str(cmd[1])
                if not document.startswith(DOCUMENT_URN) or len(document) == len(DOCUMENT_URN):
                    raise failure(f"Command {number}: Navigate needs {DOCUMENT_URN}<name>")
                conn.execute(
                    "UPDATE _tracker_sessions SET page = page + 1, document = ? "
                    "WHERE session_id = ?",
                    (document[len(DOCUMENT_URN) :], sid),
                )
            elif spec.target == "action":
                self._action_status(conn, sid, cmd, number)
        session = conn.execute(
            "SELECT page, conditions FROM _tracker_sessions WHERE session_id = ?", (sid,)
        ).fetchone()
        actions = self._actions(conn, sid, int(session["page"]), user_id, now)
        matched = self._conditions(conn, user_id, req.get("device_type"))
        before = json.loads(session["conditions"] or "[]")
        conn.execute(
            "UPDATE _tracker_sessions SET last_time = ?, conditions = ? WHERE session_id = ?",
            (now, json.dumps(matched), sid),
        )
        return {
            "session_id": sid,
            "actions": actions,
            "cache_version": 0,
            "conditions": [{"id": i} for i in matched],
            "dismiss_conditions": [i for i in before if i not in matched],
            "dismiss_actions": [],
        }

    # -- users and sessions -------------------------------------------------------------------

    def _user(self, conn: sqlite3.Connection, tracker_id: int, now: int) -> int:
        user_id = tracker_id & 0xFFFFFFFF
        if not conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone():
            conn.execute(
                "INSERT INTO users (user_id, data_last_modified, last_session_time, "
                "session_counter) VALUES (?, ?, 0, 0)",
                (user_id, now),
            )
        return user_id

    def _session(
        self, conn: sqlite3.Connection, user_id: int, req: dict[str, Any], now: int
    ) -> str:
        given = req.get("session_id")
        match = _SESSION.match(given) if isinstance(given, str) else None
        if match and not req.get("new_session"):
            start = int(match.group(1))
            row = conn.execute(
                "SELECT user_id FROM _tracker_sessions WHERE session_id = ?", (given,)
            ).fetchone()
            fresh = now - SESSION_SECONDS < start <= now + 60
            if fresh and row is not None and row["user_id"] == user_id:
                return str(given)
            if fresh and row is None:  # a session this sandbox did not issue (or forgot)
                self._open(conn, str(given), user_id, start, req)
                return str(given)
        sid = f"{now} {secrets.token_hex(8)}"
        self._open(conn, sid, user_id, now, req)
        conn.execute(
            "UPDATE users SET last_session_time = ?, session_counter = "
            "COALESCE(session_counter, 0) + 1, data_last_modified = ? WHERE user_id = ?",
            (now, now, user_id),
        )
        return sid

    def _open(
        self, conn: sqlite3.Connection, sid: str, user_id: int, start: int, req: dict[str, Any]
    ) -> None:
        conn.execute(
            "INSERT INTO _tracker_sessions (session_id, user_id, start_time, last_time, page, "
            "device_type, conditions) VALUES (?, ?, ?, ?, 0, ?, '[]')",
            (sid, user_id, start, start, req.get("device_type")),
        )

    def _action_status(self, conn: sqlite3.Connection, sid: str, cmd: list[Any], n: int) -> None:
        status = str(cmd[2])
        if status not in ACTION_STATUSES:
            raise failure(f"Command {n}: Action Status {status!r} is not one of {ACTION_STATUSES}")
        if status in ("close", "dont-show"):
            conn.execute(
                "INSERT INTO _tracker_shown (session_id, page, action_id) VALUES (?, ?, ?)",
                (sid, BLOCKED_PAGE, int(str(cmd[1])) if str(cmd[1]).isdigit() else -1),
            )

    # -- actions and conditions ---------------------------------------------------------------

    def _actions(
        self, conn: sqlite3.Connection, sid: str, page: int, user_id: int, now: int
    ) -> list[dict[str, Any]]:
        if page <= 0:
            return []  # actions run on pages: nothing before the first Navigate
        done = {
            r[0]
            for r in conn.execute(
                "SELECT action_id FROM _tracker_shown WHERE session_id = ? AND page IN (?, ?)",
                (sid, page, BLOCKED_PAGE),
            )
        }
        rules = conn.execute(
            f"SELECT r.action_id, r.algorithm, r.max_items, a.content_param FROM {RULES_TABLE} r "
            "JOIN actions a ON a.id = r.action_id ORDER BY r.action_id"
        ).fetchall()
        out: list[dict[str, Any]] = []
        for rule in rules:
            action_id = int(rule["action_id"])
            if action_id in done:
                continue
            items = self._items(conn, str(rule["algorithm"]), user_id, int(rule["max_items"]))
            if not items:
                continue
            text = json.dumps(items, separators=(",", ":"), ensure_ascii=False)
            out.append({"id": action_id, "data": {rule["content_param"] or "data": text[1:-1]}})
            conn.execute(
                "INSERT INTO _tracker_shown (session_id, page, action_id) VALUES (?, ?, ?)",
                (sid, page, action_id),
            )
            if rule["algorithm"] != "related_articles":
                conn.executemany(
                    "INSERT INTO products_interactions (user_id, product_internal_id, quantity, "
                    "status, action_id, transaction_time, time) "
                    "VALUES (?, ?, 1, 'delivered', ?, ?, ?)",
                    [(user_id, item["internal_id"], action_id, now, now) for item in items],
                )
        return out

    def _items(
        self, conn: sqlite3.Connection, algorithm: str, user_id: int, limit: int
    ) -> list[dict[str, Any]]:
        products = self.store.catalog.columns("products")
        articles = self.store.catalog.columns("articles")
        if algorithm == "top_picks":
            cats = self._categories(conn, user_id) if "category" in products else []
            where = " AND p.category IN (SELECT value FROM json_each(?))" if cats else ""
            rows = conn.execute(
                "SELECT p.* FROM products p LEFT JOIN products_stats_all s "
                "ON s.internal_id = p.internal_id WHERE COALESCE(p.is_in_stock, 'yes') != 'no' "
                "AND p.internal_id NOT IN (SELECT product_internal_id FROM products_interactions "
                f"WHERE user_id = ? AND status = 'goal'){where} ORDER BY COALESCE(s.n_viewed, 0) "
                "+ 2 * COALESCE(s.n_extra, 0) + 3 * COALESCE(s.n_goal, 0) DESC, p.id LIMIT ?",
                (user_id, *([json.dumps(cats)] if cats else []), limit),
            ).fetchall()
            return [_item(r, _PRODUCT_FIELDS) for r in rows]
        if algorithm == "recently_viewed":
            rows = conn.execute(
                "SELECT p.*, MAX(i.time) AS seen, MAX(i.rowid) AS seq FROM products_interactions i "
                "JOIN products p ON p.internal_id = i.product_internal_id WHERE i.user_id = ? "
                "AND i.status IN ('viewed', 'extra', 'favorite') GROUP BY p.internal_id "
                "ORDER BY seen DESC, seq DESC LIMIT ?",
                (user_id, limit),
            ).fetchall()
            return [_item(r, _PRODUCT_FIELDS) for r in rows]
        if algorithm == "related_articles":
            cats = self._categories(conn, user_id) if "category" in articles else []
            where = " AND a.category IN (SELECT value FROM json_each(?))" if cats else ""
            rows = conn.execute(
                "SELECT a.* FROM articles a WHERE COALESCE(a.is_published, 'yes') != 'no' "
                f"AND a.internal_id NOT IN (SELECT article_internal_id FROM {ARTICLE_INTERACTIONS} "
                f"WHERE user_id = ?){where} ORDER BY a.id DESC LIMIT ?",
                (user_id, *([json.dumps(cats)] if cats else []), limit),
            ).fetchall()
            return [_item(r, _ARTICLE_FIELDS) for r in rows]
        return []

    def _categories(self, conn: sqlite3.Connection, user_id: int) -> list[str]:
        """The user's three favourite product categories, from what they did (not from what
        was shown to them)."""
        rows = conn.execute(
            "SELECT p.category, COUNT(*) AS n FROM products_interactions i JOIN products p "
            "ON p.internal_id = i.product_internal_id WHERE i.user_id = ? "
            "AND i.status != 'delivered' AND p.category IS NOT NULL GROUP BY p.category "
            "ORDER BY n DESC, p.category LIMIT 3",
            (user_id,),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def _conditions(
        self, conn: sqlite3.Connection, user_id: int, device_type: str | None
    ) -> list[int]:
        user = conn.execute(
            "SELECT session_counter FROM users WHERE user_id = ?", (user_id,)
        ).fetchone()
        in_cart = conn.execute(
            "SELECT 1 FROM products_interactions WHERE user_id = ? AND status = 'extra' LIMIT 1",
            (user_id,),
        ).fetchone()
        tests = {
            "All visitors": True,
            "Returning visitors": bool(user and (user[0] or 0) > 1),
            "Cart not empty": in_cart is not None,
            "Mobile users": device_type in ("phone", "tablet"),
        }
        return [
            int(r["id"])
            for r in conn.execute("SELECT id, name FROM conditions ORDER BY id")
            if tests.get(r["name"], False)
        ]


def _item(row: sqlite3.Row, fields: tuple[str, ...]) -> dict[str, Any]:
    keys = row.keys()
    return {f: row[f] for f in fields if f in keys and row[f] is not None}
