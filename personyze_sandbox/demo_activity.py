"""The demo dataset's activity: product interactions (with flash-sale seconds where hundreds of
rows share one `time`), events, forms, archived sessions, interests, daily action summaries, and
the products_stats_* windows computed from the interactions as the offline pipeline would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from personyze_sandbox.demo_rows import (
    ANCHOR,
    BRANDS,
    CATEGORIES,
    CITIES,
    CLASSES,
    DAY,
    FIRST,
    GOAL_EVENTS,
    STATUSES,
    Demo,
)


def products_interactions(demo: Demo) -> Iterator[dict[str, Any]]:
    """Ordinary traffic plus flash-sale seconds where hundreds of rows share one `time`."""
    r = demo.rng
    start = ANCHOR - 30 * DAY
    left = demo.n_interactions
    while left > 0:
        busy = start + r.randrange(30 * DAY)
        burst = min(left, r.randrange(300, 800))
        for _ in range(burst):
            yield _interaction(demo, busy)
        spread = min(left - burst, r.randrange(150, 400))
        for _ in range(spread):
            yield _interaction(demo, start + r.randrange(30 * DAY))
        left -= burst + spread


def _interaction(demo: Demo, when: int) -> dict[str, Any]:
    r = demo.rng
    status = r.choice(STATUSES)
    qty = r.randrange(1, 4)
    return {
        "user_id": r.randrange(1, demo.n_users + 1),
        "product_internal_id": f"SKU-{r.randrange(1, demo.n_products + 1):05d}",
        "quantity": qty,
        "status": status,
        "action_id": r.choice([None, None, 1, 2]),
        "transaction_time": when - r.randrange(0, 60),
        "time": when,
        "amount": round(qty * r.uniform(3, 400), 2) if status == "goal" else None,
    }


def events(demo: Demo) -> Iterator[dict[str, Any]]:
    r = demo.rng
    for eid in range(1, 8_000 * demo.scale + 1):
        t = ANCHOR - 30 * DAY + eid * 300 // demo.scale + r.randrange(60)
        yield {
            "id": eid,
            "user_id": r.randrange(1, demo.n_users + 1),
            "time": t,
            "visit_id": 5_000_000 + eid,
            "container_id": r.choice([1234, 1235, 1301]),
            "container_types": r.choice(["click event", "submit event"]),
            "value": r.choice(["add-to-cart", "newsletter", "search:drill", ""]),
            "first_visit_id": 900_000_000_000 + eid // 5,
            "session_start_time": t - 120,
        }


def forms(demo: Demo) -> Iterator[dict[str, Any]]:
    r = demo.rng
    for i in range(1, 800 * demo.scale + 1):
        t = ANCHOR - 30 * DAY + i * 3_000 // demo.scale
        name = r.choice(FIRST)
        data: dict[str, Any] = {
            "email": f"{name.lower()}{i}@example.com",
            "name": name,
            "message": r.choice(["Call me", "Price list please", ""]),
        }
        if i % 3 == 0:
            data["company"] = r.choice(BRANDS)
        yield {
            "user_id": r.randrange(1, demo.n_users + 1),
            "time": t,
            "action_id": r.choice([5, 6]),
            "session_start_time": t - 400,
            "data": data,
        }


def sessions_archive(demo: Demo) -> Iterator[dict[str, Any]]:
    r = demo.rng
    for i in range(1, 4_000 * demo.scale + 1):
        start = ANCHOR - 60 * DAY + i * 1_200 // demo.scale
        city, region, country = r.choice(CITIES)
        yield {
            "first_visit_id": 900_000_000_000 + i,
            "user_id": r.randrange(1, demo.n_users + 1),
            "session_start_time": start,
            "last_session_time": start + r.randrange(60, 3_600),
            "session_counter": r.randrange(1, 30),
            "total_visits": r.randrange(1, 25),
            "time_in_focus": r.randrange(5, 1_800),
            "time_total": r.randrange(5, 3_600),
            "time_zone": r.choice([-5, 0, 1, 2, 9]),
            "country_code": country,
            "region_code": region,
            "city": city if i % 13 else None,
            "lang_0": "en",
            "lang_1": r.choice(["de", "fr", None]),
            "lang_2": None,
            "screen_width": 1920,
            "screen_height": 1080,
            "screen_depth": 24,
            "total_goal_value": round(r.uniform(0, 300), 2) if i % 4 == 0 else 0,
            "total_n_goals": 1 if i % 4 == 0 else 0,
            "page_click": r.randrange(0, 40),
            "page_right_mouse": 0,
            "page_key_up": r.randrange(0, 30),
            "page_scroll": r.randrange(0, 90),
            "url_prefix": 2,
            "url_host_port": "www.example.com",
            "url_path": r.choice(["/", "/garden"]),
            "url_query": "",
            "url_fragment": "",
            "referrer_prefix": 2,
            "referrer_host_port": r.choice(["www.google.com", "t.co", ""]),
            "referrer_path": "/",
            "referrer_query": "",
            "referrer_fragment": "",
            "referrer_type": r.randrange(0, 4),
            "search_word": r.choice(["drill", "", "rake"]),
            "ad_campaign": r.choice(["spring", "", "bf2025"]),
            "ad_source": "",
            "ad_medium": "",
            "ad_term": "",
            "ad_content": "",
        }


def user_interests(demo: Demo) -> Iterator[dict[str, Any]]:
    r = demo.rng
    for i in range(6_000 * demo.scale):
        # the nightly pipeline stamps hundreds of rows with the same second
        t = ANCHOR - r.randrange(20) * DAY
        yield {
            "user_id": 1 + i % demo.n_users,
            "value": r.choice(CATEGORIES + BRANDS),
            "class": r.choice(CLASSES),
            "rank": round(r.random(), 4),
            "n_times": r.randrange(1, 50),
            "time": t,
        }


def summary_actions(demo: Demo) -> Iterator[dict[str, Any]]:
    r = demo.rng
    campaigns = {
        1: ("Spring recommendations", 11),
        2: ("Spring recommendations", 11),
        3: ("Content hub", 12),
        4: ("Homepage", 13),
        5: ("Exit intent", 14),
        6: ("Cart recovery", 15),
    }
    names = {row["id"]: row["name"] for row in demo.actions()}
    for day_index in range(90):
        day = ANCHOR - (90 - day_index) * DAY
        for action_id, (campaign, campaign_id) in campaigns.items():
            executed = r.randrange(50, 2_000)
            row: dict[str, Any] = {
                "day": day,
                "action_id": action_id,
                "action_name": names[action_id],
                "campaign_name": campaign,
                "campaign_id": campaign_id,
                "n_executed": executed,
                "n_delivered": int(executed * 0.9),
                "n_extra": int(executed * 0.05),
                "n_failed": 0,
                "n_closed": int(executed * 0.02),
                "n_sessions_executed": int(executed * 0.7),
                "n_sessions_delivered": int(executed * 0.65),
                "n_sessions_extra": int(executed * 0.04),
                "n_sessions_failed": 0,
                "n_sessions_closed": int(executed * 0.02),
                "products_goal_n_times": r.randrange(0, 40),
                "products_goal_n_sessions": r.randrange(0, 30),
                "products_goal_value": round(r.uniform(0, 5_000), 2),
            }
            for n, goal in enumerate(GOAL_EVENTS, start=1):
                row[f"goal_event_{n}_name"] = goal
                row[f"goal_event_{n}_n_times"] = r.randrange(0, 20)
                row[f"goal_event_{n}_n_sessions"] = r.randrange(0, 15)
                row[f"goal_event_{n}_value"] = 0 if n != 3 else round(r.uniform(0, 900), 2)
            yield row


STATS_WINDOWS = {
    "products_stats_1day": 1,
    "products_stats_2day": 2,
    "products_stats_4day": 4,
    "products_stats_week": 7,
    "products_stats_recent": 14,
    "products_stats_all": None,
}
METRICS = {
    "viewed": "viewed",
    "delivered": "delivered",
    "extra": "extra",
    "favorite": "favorite",
    "goal": "goal",
}


def products_stats(conn: sqlite3.Connection, table: str, days: int | None) -> None:
    """Counters per product over a window ending at the newest interaction, as the offline
    pipeline would compute them."""
    newest = conn.execute("SELECT MAX(time) FROM products_interactions").fetchone()[0] or ANCHOR
    since = newest - days * DAY if days else 0
    counts = ", ".join(f"SUM(status = '{m}') AS n_{m}" for m in METRICS)
    conn.execute(
        f'INSERT INTO "{table}" (internal_id, {", ".join("n_" + m for m in METRICS)}) '
        f"SELECT product_internal_id, {counts} FROM products_interactions "
        "WHERE time >= ? GROUP BY product_internal_id",
        (since,),
    )
    for m in METRICS:
        total, n, nonzero = conn.execute(
            f'SELECT SUM(n_{m}), COUNT(*), SUM(n_{m} > 0) FROM "{table}"'
        ).fetchone()
        total, n, nonzero = total or 0, n or 0, nonzero or 0
        conn.execute(
            f'UPDATE "{table}" SET overall_n_{m} = ?, overall_avg_{m} = ?, '
            f"overall_avg_nonzero_{m} = ?",
            (total, round(total / n, 4) if n else 0, round(total / nonzero, 4) if nonzero else 0),
        )
        conn.execute(
            f'UPDATE "{table}" SET percentile_{m} = ranked.pct FROM (SELECT internal_id, '
            f"ROUND(100.0 * PERCENT_RANK() OVER (ORDER BY n_{m}), 2) AS pct "
            f'FROM "{table}") AS ranked WHERE ranked.internal_id = "{table}".internal_id'
        )
    buyers = conn.execute(
        "SELECT product_internal_id, user_id, time FROM products_interactions "
        "WHERE status = 'goal' AND time >= ? ORDER BY product_internal_id, time DESC",
        (since,),
    )
    current, rank = None, 0
    for sku, user_id, when in buyers:
        rank = rank + 1 if sku == current else 0
        current = sku
        if rank < 3:
            conn.execute(
                f'UPDATE "{table}" SET last_goal_user_id_{rank} = ?, '
                f"last_goal_user_time_{rank} = ? WHERE internal_id = ?",
                (user_id, when, sku),
            )
