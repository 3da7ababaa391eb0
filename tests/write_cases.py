"""Write input that the engine's tests (``tests/integration/write``) and target-personyze's
(``tests/singer_target``) both use: the streams that write each object in each mode, and bad
records among good ones, each wrong in one way, that must land in the rejects file while the
good ones are written."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]
T0 = 1_700_000_000

USER_MODES: dict[str, Any] = {
    "crm_update": {"object": "users", "mode": "update"},
    "crm_insert": {"object": "users", "mode": "insert"},
    "crm_delete": {"object": "users", "mode": "delete", "match_key": "user_id"},
}
PRODUCT_MODES: dict[str, Any] = {
    "price_update": {"object": "products", "mode": "update"},
    "discontinued": {"object": "products", "mode": "delete"},
}
LIST_MODES: dict[str, Any] = {
    "lists": {"object": "user_lists"},
    "vip_add": {"object": "user_list_users", "list_id": 1},
    "vip_remove": {
        "object": "user_list_users",
        "mode": "delete",
        "list_id": 1,
        "match_key": "user_id",
    },
    "newsletter": {
        "object": "user_list_users",
        "mode": "mirror",
        "list_name": "Newsletter opt-ins",
    },
}


def bad_users() -> list[Row]:
    """ok1 and ok4 are good; the others have no email, an invalid email, text in an integer
    column, a value over the 65,535 limit."""
    return [
        {"email": "ok1@example.com", "first_name": "Ok"},
        {"first_name": "no key"},
        {"email": "not-an-email"},
        {"email": "ok2@example.com", "custom_i_1": "seven"},
        {"email": "ok3@example.com", "bio": "x" * 70_000},
        {"email": "ok4@example.com", "first_name": "Ok4"},
    ]


def viewed_event() -> Row:
    """A good event: ok1 viewed SKU-00003."""
    return {
        "email": "ok1@example.com",
        "product_internal_id": "SKU-00003",
        "status": "viewed",
        "transaction_time": T0,
    }


def unknown_column_event() -> Row:
    """An event with a column products_interactions does not have."""
    return {
        "email": "ok1@example.com",
        "product_internal_id": "SKU-00004",
        "status": "goal",
        "colour": "red",
    }


def unknown_command() -> Row:
    return {"key": "ok4@example.com", "command": "Teleport", "item": "SKU-00003"}
