"""The write ledger: a SQLite file that makes re-runs safe for events, which are not idempotent.

``events``: one row per event (stream + hash of the record's mapped content). An event is
``pending`` from just before its request leaves until Personyze accepted it (``done``). A pending
row found later (a crash, or an answer lost in transit) is reconciled by reading the event back
where the object allows it, and otherwise marked ``unknown`` and reported, never resent.
``upserts``: the content hash last written per stream and match key, for ``skip_unchanged``.
Without a ledger path the ledger lives in memory and protects one run only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

PENDING, DONE, UNKNOWN = "pending", "done", "unknown"


class Ledger:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path) if path is not None else ":memory:", check_same_thread=False, timeout=30
        )
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS events (stream TEXT NOT NULL, hash TEXT NOT NULL, "
                "state TEXT NOT NULL, body TEXT, updated REAL, PRIMARY KEY (stream, hash))"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS upserts (stream TEXT NOT NULL, key TEXT NOT NULL, "
                "hash TEXT NOT NULL, PRIMARY KEY (stream, key))"
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- events -------------------------------------------------------------------------------

    def entries(self, stream: str, identities: list[str]) -> dict[str, tuple[str, Any]]:
        """State and planned request of the events the ledger knows among ``identities``."""
        found: dict[str, tuple[str, Any]] = {}
        wanted = list(dict.fromkeys(identities))
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = self._db.execute(
                    "SELECT hash, state, body FROM events WHERE stream = ? AND hash IN ("
                    + ",".join("?" for _ in chunk)
                    + ")",
                    (stream, *chunk),
                ).fetchall()
                found.update({str(h): (str(s), json.loads(b) if b else None) for h, s, b in rows})
        return found

    def mark_pending(self, stream: str, entries: list[tuple[str, Any]]) -> None:
        """Record events (hash, planned request) as about to be sent; committed before return."""
        now = time.time()
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO events (stream, hash, state, body, updated) "
                "VALUES (?, ?, ?, ?, ?)",
                [(stream, h, PENDING, json.dumps(body, default=str), now) for h, body in entries],
            )

    def set_state(self, stream: str, digests: list[str], state: str) -> None:
        now = time.time()
        with self._lock, self._db:
            self._db.executemany(
                "UPDATE events SET state = ?, updated = ? WHERE stream = ? AND hash = ?",
                [(state, now, stream, h) for h in digests],
            )

    def forget(self, stream: str, digests: list[str]) -> None:
        """Drop events that were certainly not applied (rejected, or never sent)."""
        with self._lock, self._db:
            self._db.executemany(
                "DELETE FROM events WHERE stream = ? AND hash = ?", [(stream, h) for h in digests]
            )

    def pending(self, stream: str) -> list[tuple[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT hash, body FROM events WHERE stream = ? AND state = ? ORDER BY updated",
                (stream, PENDING),
            ).fetchall()
        return [(str(h), json.loads(b)) for h, b in rows]

    # -- upserts ------------------------------------------------------------------------------

    def unchanged(self, stream: str, key: str, digest: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT hash FROM upserts WHERE stream = ? AND key = ?", (stream, key)
            ).fetchone()
        return row is not None and row[0] == digest

    def remember(self, stream: str, pairs: list[tuple[str, str]]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO upserts (stream, key, hash) VALUES (?, ?, ?)",
                [(stream, k, h) for k, h in pairs],
            )
