"""The event ledger: what this run (and, with a file, earlier runs) did with each event.

``events``: one row per event (stream + identity: the event id, or the content hash and its
occurrence in the input; the column is still called ``hash``), with the request planned for
it. An event is ``pending`` from just before its request leaves until Personyze accepted it
(``done``), ``unknown`` when it was given up. A pending row found by a later run (a crash) is
delivered with the request planned then (the same stamped transaction_time), read back first
where the object allows it, otherwise reported and never resent.

The ledger is an optimisation, not the guarantee: product interactions are read back before
they are sent whether or not a ledger remembers them. With ``ledger_path`` unset (the default:
a container keeps no file between attempts) it lives in memory for one run. A file remembers
across runs the events nothing can read back (article interactions) and the stamps of events
without an event time, and saves the read-back of events it knows as done.
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
    """``read_only`` (a dry run): the file's events are read into memory, nothing is written
    back and no file is created."""

    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path is not None and not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        memory = path is None or read_only
        self._transient = memory
        self._db = sqlite3.connect(
            ":memory:" if memory else str(path), check_same_thread=False, timeout=30
        )
        if read_only and path is not None and path.exists():
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as source:
                source.backup(self._db)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS events (stream TEXT NOT NULL, hash TEXT NOT NULL, "
                "state TEXT NOT NULL, body TEXT, updated REAL, PRIMARY KEY (stream, hash))"
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
        if self.path is None:
            return  # nothing outlives the run: the delivery keeps its events itself
        now = time.time()
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO events (stream, hash, state, body, updated) "
                "VALUES (?, ?, ?, ?, ?)",
                [(stream, h, PENDING, json.dumps(body, default=str), now) for h, body in entries],
            )

    def set_state(self, stream: str, digests: list[str], state: str) -> None:
        if self.path is None:
            return
        if self._transient and state != PENDING:
            # in memory, a settled event is never asked for again (identities are unique in a
            # run): keeping it would only hold memory
            self.forget(stream, digests)
            return
        now = time.time()
        with self._lock, self._db:
            self._db.executemany(
                "UPDATE events SET state = ?, updated = ? WHERE stream = ? AND hash = ?",
                [(state, now, stream, h) for h in digests],
            )

    def forget(self, stream: str, digests: list[str]) -> None:
        """Drop events that were certainly not applied (rejected, or never sent)."""
        if self.path is None:
            return
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
