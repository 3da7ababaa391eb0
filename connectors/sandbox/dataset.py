"""Datasets the sandbox can start with: `empty`, and `demo` — a realistic shop, deterministic
from the seed, every object populated, heavy ties on `time`, scalable with --scale.

Rows stream into SQLite in chunks, so millions of interactions never sit in memory at once.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from connectors.sandbox.store import Store
from connectors.sandbox.tracker import RULES_TABLE, create_tracker_tables

DAY = 86_400
# Rows per object at --scale 1; --rows OBJECT=N overrides one of them.
BASE_ROWS = {"users": 2_000, "products": 400, "articles": 120, "products_interactions": 16_500}
# Data is anchored at a fixed moment so a seed always gives the same rows; writes made through
# the API later use the real clock and therefore sort after all demo data.
ANCHOR = 1_767_225_600  # 2026-01-01 00:00:00 UTC
BULK_IMPORT_TIE = 1_200  # users sharing one data_last_modified: more than a page and than 1000
CHUNK = 5_000

FIRST = [
    "Alice",
    "Bob",
    "Carla",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Marco",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
]
LAST = [
    "Smith",
    "Garcia",
    "Novak",
    "Tanaka",
    "Okafor",
    "Muller",
    "Rossi",
    "Kowalski",
    "Silva",
    "Haddad",
    "Jensen",
    "Brown",
    "Ivanova",
    "Chen",
    "Dubois",
]
CITIES = [
    ("Berlin", "BE", "DE"),
    ("Austin", "TX", "US"),
    ("Lyon", "ARA", "FR"),
    ("Osaka", "27", "JP"),
    ("Leeds", "ENG", "GB"),
    ("Porto", "13", "PT"),
]
CATEGORIES = ["tools", "garden", "kitchen", "outdoor", "lighting", "storage", "paint", "decor"]
BRANDS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne"]
STATUSES = ["viewed", "viewed", "viewed", "viewed", "delivered", "extra", "favorite", "goal"]
GOAL_EVENTS = ["Newsletter signup", "Store locator used", "Demo booked"]
CLASSES = ["interest", "category", "tag", "family", "cross category", "upsale category"]


def _insert(
    store: Store, conn: sqlite3.Connection, table: str, rows: Iterable[dict[str, Any]]
) -> int:
    """Insert rows in chunks; dynamic columns are added from the first chunk's keys."""
    it = iter(rows)
    total = 0
    while chunk := list(islice(it, CHUNK)):
        names = sorted({k for row in chunk for k in row})
        if table in store.specs.objects:
            store.catalog.ensure_columns(conn, store.specs.object(table), names)
        sql = (
            f'INSERT INTO "{table}" ('
            + ", ".join(f'"{n}"' for n in names)
            + ") VALUES ("
            + ", ".join("?" for _ in names)
            + ")"
        )
        conn.executemany(sql, ([_sql(row.get(n)) for n in names] for row in chunk))
        total += len(chunk)
    return total


def _sql(value: Any) -> Any:
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else value


class Demo:
    def __init__(self, scale: int, seed: int, rows: Mapping[str, int] | None = None) -> None:
        self.scale = max(1, scale)
        self.rng = random.Random(seed)
        sizes = {**{name: n * self.scale for name, n in BASE_ROWS.items()}, **(rows or {})}
        self.n_users = sizes["users"]
        self.n_products = sizes["products"]
        self.n_articles = sizes["articles"]
        self.n_interactions = sizes["products_interactions"]

    def account(self) -> Iterator[dict[str, Any]]:
        yield {
            "id": 5919,
            "name": "Demo Hardware Shop",
            "hosts": "example.com www.example.com",
            "async": 1,
            "no_hide": 0,
        }

    def users(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        import_at = ANCHOR - 45 * DAY + 3_600  # one CRM import stamped every row with one second
        for uid in range(1, self.n_users + 1):
            first, last = r.choice(FIRST), r.choice(LAST)
            city, state, country = r.choice(CITIES)
            bulk = uid <= BULK_IMPORT_TIE
            modified = import_at if bulk else ANCHOR - r.randrange(90 * DAY)
            row: dict[str, Any] = {
                "user_id": uid,
                "internal_id": f"acct-{uid:06d}",
                "email": f"{first}.{last}.{uid}@example.com".lower(),
                "first_name": first,
                "last_name": last,
                "current_city": city,
                "current_state": state,
                "current_country": country,
                "last_session_time": 0 if uid % 11 == 0 else modified - r.randrange(DAY),
                "data_last_modified": modified,
                "session_counter": r.randrange(1, 40),
                "custom_t_1": r.choice(["VIP", "regular", "new", None]),
                "custom_i_1": r.randrange(0, 5_000),
                "customer_segment": r.choice(["loyal", "at-risk", "bargain", "new"]),
            }
            if uid % 7 == 0:
                row["fb_id"] = str(10_000_000 + uid)
            if uid % 5 == 0:
                row["loyalty_tier"] = r.choice(["bronze", "silver", "gold"])
            yield row

    def user_lists(self) -> Iterator[dict[str, Any]]:
        names = [
            "VIPs",
            "Newsletter opt-ins",
            "Cart abandoners",
            "Newsletter opt-ins",
            "Gardeners",
            "B2B accounts",
            "Churn risk",
            "Beta testers",
        ]
        for i, name in enumerate(names, start=1):
            yield {"id": i, "name": name}

    def user_list_users(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        seen: set[tuple[int, int]] = set()
        for _ in range(1_500 * self.scale):
            pair = (r.randrange(1, 9), r.randrange(1, self.n_users + 1))
            if pair not in seen:
                seen.add(pair)
                yield {"user_list_id": pair[0], "user_id": pair[1]}

    def actions(self) -> Iterator[dict[str, Any]]:
        specs = [
            ("Top picks for you", "application/json", "data", "[", "]", 101),
            ("Recently viewed", "application/json", "data", "[", "]", 101),
            ("Related articles", "application/json", "data", "[", "]", 102),
            ("Hero banner spring", "text/html", "html", '<div class="hero">', "</div>", 1),
            ("Exit popup 10% off", "text/html", "html", '<div class="popup">', "</div>", 2),
            ("Cart reminder email", "text/html", "html", "", "", 3),
            ("Push: back in stock", "application/javascript", "js", "", "", 4),
            ("Free shipping bar", "text/html", "html", '<div class="bar">', "</div>", 1),
        ]
        for i, (name, ctype, param, begin, end, type_id) in enumerate(specs, start=1):
            yield {
                "id": i,
                "version_tag": "testing" if i == 8 else "production",
                "name": name,
                "type_id": type_id,
                "placeholders": [1 + i % 4],
                "content_type": ctype,
                "content_param": param,
                "content_begin": begin,
                "content_end": end,
                "presenting_rules": {"max_per_session": 1 + i % 3, "delay_ms": 500 * i},
                "libs_app": "recommendations" if ctype == "application/json" else "",
            }

    def recommendation_rules(self) -> Iterator[dict[str, Any]]:
        """How the sandbox's tracker fills the JSON recommendation actions 1-3 (the action ids
        of ``actions``): see connectors/sandbox/tracker.py."""
        yield {"action_id": 1, "algorithm": "top_picks", "max_items": 5}
        yield {"action_id": 2, "algorithm": "recently_viewed", "max_items": 5}
        yield {"action_id": 3, "algorithm": "related_articles", "max_items": 3}

    def conditions(self) -> Iterator[dict[str, Any]]:
        for i, name in enumerate(
            [
                "All visitors",
                "Returning visitors",
                "Cart not empty",
                "Gardeners",
                "Mobile users",
                "High value",
            ],
            start=1,
        ):
            yield {"id": i, "name": name}

    def placeholders(self) -> Iterator[dict[str, Any]]:
        for i, (name, html_id, units) in enumerate(
            [
                ("Hero banner", "#hero", 1),
                ("Sidebar", "#sidebar", 3),
                ("Product grid", ".grid", 8),
                ("Footer", "#footer", 1),
                ("Fake", "#fake", 1),
            ],
            start=1,
        ):
            yield {"id": i, "name": name, "html_id": html_id, "units_count_max": units}

    def containers_grab_variable(self) -> Iterator[dict[str, Any]]:
        for i, (name, path, column) in enumerate(
            [
                ("Cart total", "window.dataLayer[0].cart.total", "cart_total"),
                ("Plan", "#plan-name", "plan"),
                ("Zip", "window.user.zip", "zip"),
                ("Currency", "window.shop.currency", "currency"),
            ],
            start=1,
        ):
            yield {
                "id": i,
                "name": name,
                "is_active": i % 4 != 0,
                "variable_path": path,
                "mask": "^([0-9.]+)$" if i == 1 else None,
                "constant_value": None,
                "watch_variable": i % 2,
                "profile_column": column,
            }

    def products(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for pid in range(1, self.n_products + 1):
            cat = CATEGORIES[pid % len(CATEGORIES)]
            price = round(r.uniform(3, 400), 2)
            yield {
                "id": pid,
                "internal_id": f"SKU-{pid:05d}",
                "title": f"{r.choice(BRANDS)} {cat} item {pid}",
                "category": cat,
                "brand": r.choice(BRANDS),
                "price": price,
                "sale_price": round(price * 0.85, 2) if pid % 6 == 0 else None,
                "is_in_stock": "no" if pid % 9 == 0 else "yes",
                "inventory": r.randrange(0, 300),
                "image_big_url": f"https://cdn.example.com/p/{pid}/big.jpg",
                "cart_url": f"https://example.com/cart/add/{pid}",
                "data_last_modified": ANCHOR - r.randrange(120 * DAY),
                "material": r.choice(["steel", "wood", "plastic", "glass"]),
            }

    def articles(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for aid in range(1, self.n_articles + 1):
            yield {
                "id": aid,
                "internal_id": f"article-{aid:04d}",
                "title": f"How to choose {CATEGORIES[aid % len(CATEGORIES)]} gear, part {aid}",
                "author": r.choice(FIRST),
                "category": CATEGORIES[aid % len(CATEGORIES)],
                "is_published": "no" if aid % 10 == 0 else "yes",
                "publish_date": f"2025-{1 + aid % 12:02d}-{1 + aid % 28:02d} 09:00:00",
                "data_last_modified": ANCHOR - r.randrange(200 * DAY),
                "tags": "guide,diy",
            }

    def products_interactions(self) -> Iterator[dict[str, Any]]:
        """Ordinary traffic plus flash-sale seconds where hundreds of rows share one `time`."""
        r = self.rng
        start = ANCHOR - 30 * DAY
        left = self.n_interactions
        while left > 0:
            busy = start + r.randrange(30 * DAY)
            burst = min(left, r.randrange(300, 800))
            for _ in range(burst):
                yield self._interaction(busy)
            spread = min(left - burst, r.randrange(150, 400))
            for _ in range(spread):
                yield self._interaction(start + r.randrange(30 * DAY))
            left -= burst + spread

    def _interaction(self, when: int) -> dict[str, Any]:
        r = self.rng
        status = r.choice(STATUSES)
        qty = r.randrange(1, 4)
        return {
            "user_id": r.randrange(1, self.n_users + 1),
            "product_internal_id": f"SKU-{r.randrange(1, self.n_products + 1):05d}",
            "quantity": qty,
            "status": status,
            "action_id": r.choice([None, None, 1, 2]),
            "transaction_time": when - r.randrange(0, 60),
            "time": when,
            "amount": round(qty * r.uniform(3, 400), 2) if status == "goal" else None,
        }

    def events(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for eid in range(1, 8_000 * self.scale + 1):
            t = ANCHOR - 30 * DAY + eid * 300 // self.scale + r.randrange(60)
            yield {
                "id": eid,
                "user_id": r.randrange(1, self.n_users + 1),
                "time": t,
                "visit_id": 5_000_000 + eid,
                "container_id": r.choice([1234, 1235, 1301]),
                "container_types": r.choice(["click event", "submit event"]),
                "value": r.choice(["add-to-cart", "newsletter", "search:drill", ""]),
                "first_visit_id": 900_000_000_000 + eid // 5,
                "session_start_time": t - 120,
            }

    def forms(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for i in range(1, 800 * self.scale + 1):
            t = ANCHOR - 30 * DAY + i * 3_000 // self.scale
            name = r.choice(FIRST)
            data: dict[str, Any] = {
                "email": f"{name.lower()}{i}@example.com",
                "name": name,
                "message": r.choice(["Call me", "Price list please", ""]),
            }
            if i % 3 == 0:
                data["company"] = r.choice(BRANDS)
            yield {
                "user_id": r.randrange(1, self.n_users + 1),
                "time": t,
                "action_id": r.choice([5, 6]),
                "session_start_time": t - 400,
                "data": data,
            }

    def sessions_archive(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for i in range(1, 4_000 * self.scale + 1):
            start = ANCHOR - 60 * DAY + i * 1_200 // self.scale
            city, region, country = r.choice(CITIES)
            yield {
                "first_visit_id": 900_000_000_000 + i,
                "user_id": r.randrange(1, self.n_users + 1),
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

    def user_interests(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for i in range(6_000 * self.scale):
            # the nightly pipeline stamps hundreds of rows with the same second
            t = ANCHOR - r.randrange(20) * DAY
            yield {
                "user_id": 1 + i % self.n_users,
                "value": r.choice(CATEGORIES + BRANDS),
                "class": r.choice(CLASSES),
                "rank": round(r.random(), 4),
                "n_times": r.randrange(1, 50),
                "time": t,
            }

    def summary_actions(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        campaigns = {
            1: ("Spring recommendations", 11),
            2: ("Spring recommendations", 11),
            3: ("Content hub", 12),
            4: ("Homepage", 13),
            5: ("Exit intent", 14),
            6: ("Cart recovery", 15),
        }
        names = {row["id"]: row["name"] for row in self.actions()}
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


def _products_stats(conn: sqlite3.Connection, table: str, days: int | None) -> None:
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


DATASETS: dict[str, Callable[[Store, Demo], None]] = {}


def load_dataset(
    store: Store, name: str, *, scale: int = 1, seed: int = 1, rows: Mapping[str, int] | None = None
) -> None:
    DATASETS[name](store, Demo(scale, seed, rows))


def _empty(store: Store, demo: Demo) -> None:
    with store.writing() as conn:
        _insert(store, conn, "_account", demo.account())


def _demo(store: Store, demo: Demo) -> None:
    with store.writing() as conn:
        _insert(store, conn, "_account", demo.account())
        for table in (
            "users",
            "user_lists",
            "user_list_users",
            "actions",
            "conditions",
            "placeholders",
            "containers_grab_variable",
            "products",
            "articles",
            "products_interactions",
            "events",
            "forms",
            "sessions_archive",
            "user_interests",
            "summary_actions",
        ):
            _insert(store, conn, table, getattr(demo, table)())
        for table, days in STATS_WINDOWS.items():
            _products_stats(conn, table, days)
        create_tracker_tables(conn)
        _insert(store, conn, RULES_TABLE, demo.recommendation_rules())


DATASETS.update({"empty": _empty, "demo": _demo})
