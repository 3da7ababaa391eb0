"""What the reader tests share about the one stream that writes, ``recommendations`` (every read
of it records a page view): the setting that offers it, the users it is read for, the demo's
actions whose products are logged and the page views the sandbox recorded; and the small demo
data that the read-only and stream-failure tests run on."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from typing import Any

from personyze_sandbox.process import RunningSandbox

OPT_IN = "record_recommendation_page_views"
USERS = [5, 42, 137]
# The demo's recommendation actions that show products; each product shown is logged as a
# `delivered` interaction (the third action recommends articles, which are not logged).
PRODUCT_ACTIONS = {1, 2}
# the demo data with fewer users and interactions: what is tested does not depend on size
SMALL = ("--rows", "users=300", "--rows", "products_interactions=1500")


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


def products_shown(records: Iterable[dict[str, Any]]) -> Counter[int]:
    """Per user, the recommendations records of the actions that show products: what the
    sandbox must have logged as delivered page views."""
    return Counter(r["user_id"] for r in records if r["action_id"] in PRODUCT_ACTIONS)


def opted_in_config(sb: RunningSandbox, base_url: str) -> dict[str, Any]:
    """Settings that offer the recommendations stream for USERS, talking to ``base_url``."""
    return {
        "api_key": sb.api_key,
        "base_url": base_url,
        "recommendation_user_ids": USERS,
        OPT_IN: True,
    }
