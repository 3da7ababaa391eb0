"""The whole SQLite database of a sandbox as a snapshot: every table's schema and rows, exactly as
``sqlite3``'s ``iterdump`` writes them, so that two snapshots are equal only when not a byte of
data changed. Tests of readers use it to prove a read changed nothing in the account."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_TABLE = re.compile(r'^(?:INSERT INTO|CREATE TABLE(?: IF NOT EXISTS)?) "?([^"\s(]+)"?')


@dataclass(frozen=True)
class Snapshot:
    digests: dict[str, str]
    rows: Counter[str]

    def changes(self, after: Snapshot) -> list[str]:
        """What differs from ``after``, one line per table (empty when nothing changed)."""
        tables = sorted(set(self.digests) | set(after.digests))
        return [
            f"{t}: {self.rows[t]} -> {after.rows[t]} rows"
            + ("" if self.rows[t] != after.rows[t] else " (same count, other values)")
            for t in tables
            if self.digests.get(t) != after.digests.get(t)
        ]


def snapshot(db: Path) -> Snapshot:
    """Every statement of the database's dump, grouped by table and hashed."""
    hashes: dict[str, hashlib._Hash] = {}
    rows: Counter[str] = Counter()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for line in conn.iterdump():
            match = _TABLE.match(line)
            table = match.group(1) if match else "(schema)"
            hashes.setdefault(table, hashlib.sha256()).update(line.encode("utf-8") + b"\n")
            if line.startswith("INSERT INTO"):
                rows[table] += 1
    finally:
        conn.close()
    return Snapshot({t: h.hexdigest() for t, h in hashes.items()}, rows)
