"""What the reader tests share about the one stream that writes, ``recommendations`` (every read
of it records a page view): the demo's actions whose products are logged, and the page views
the sandbox recorded."""

from __future__ import annotations

import sqlite3
from collections import Counter

from personyze_sandbox.process import RunningSandbox

PRODUCT_ACTIONS = {1, 2}  # the demo's recommendation actions that show (and log) products


def delivered(sb: RunningSandbox) -> Counter[int]:
    """The page views recorded per user (products_interactions delivered), from the sandbox's
    SQLite file opened read-only."""
    conn = sqlite3.connect(f"file:{sb.db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT user_id, COUNT(*) FROM products_interactions WHERE status = 'delivered' "
            "GROUP BY user_id"
        ).fetchall()
    finally:
        conn.close()
    return Counter(dict(rows))
