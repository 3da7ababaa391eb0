"""The demo dataset's configuration and catalog rows (account, users, lists, actions, conditions,
placeholders, containers, products, articles), deterministic from the seed and scalable.
Data is anchored at a fixed moment so a seed always gives the same rows."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Any

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
