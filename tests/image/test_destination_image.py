"""destination-personyze as its image, against a sandbox on the host: a write of users,
products, list memberships and product interactions, mapped the data-activation way and by the
config, with the default rejects and ledger paths (the container's working directory), read
back through the API."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import yaml

from connectors.api.query import Query, all_of, cond
from connectors.spec import default_specs
from personyze_sandbox.process import RunningSandbox
from target_personyze.destination_catalog import SYNC_MODES
from target_personyze.destination_spec import connection_specification
from tests.airbyte_destination import protocol as p
from tests.image.docker_run import METADATA, image_of, require_image, run_image

pytestmark = [pytest.mark.image_tests, pytest.mark.integration]

CONNECTOR = "destination-personyze"
PEOPLE = [f"image{i}@example.com" for i in range(10)]
VIPS = "Image VIPs"


@pytest.fixture(scope="module")
def image() -> str:
    return require_image(image_of(CONNECTOR))


def rows() -> dict[str, list[dict[str, Any]]]:
    return {
        "contacts": [{"email": e, "first_name": f"I{i}"} for i, e in enumerate(PEOPLE)],
        "items": [
            {"internal_id": f"IMG-{i}", "title": f"Image item {i}", "price": 5 + i}
            for i in range(5)
        ],
        "subscribers": [{"email": e, "user_list_id": 1} for e in PEOPLE[:3]],
        "vips": [{"email": e} for e in PEOPLE[4:10]],
        "buys": [
            {
                "email": e,
                "product_internal_id": f"IMG-{i % 5}",
                "status": "goal",
                "quantity": i + 1,
                "amount": 10 * i,
                "transaction_time": p.T0 + i,
            }
            for i, e in enumerate(PEOPLE)
        ],
    }


def activated(name: str, obj: str, mode: str, key: str) -> dict[str, Any]:
    """A stream mapped in Airbyte's data-activation UI: object, sync mode, matching key."""
    return p.configured_stream(
        name, object_name=obj, sync_mode=SYNC_MODES[mode].value, primary_key=[[key]]
    )


CATALOG = p.catalog(
    activated("contacts", "users", "upsert", "email"),
    activated("items", "products", "upsert", "internal_id"),
    activated("subscribers", "user_list_users", "upsert", "email"),
    p.configured_stream("vips"),  # mapped by the config's streams
    activated("buys", "products_interactions", "append", "email"),
)


def messages() -> list[p.Message]:
    out: list[p.Message] = []
    for position, (name, records) in enumerate(rows().items()):
        out += [p.record(name, r, cached=True) for r in records]
        out.append(p.state(name, position))
    return out


def test_spec_is_the_working_trees_with_the_metadatas_documentation_url(image: str) -> None:
    run = run_image(image, "spec")
    assert run.returncode == 0, run.text()
    (spec,) = run.of_type("SPEC")
    assert spec["spec"]["connectionSpecification"] == connection_specification(default_specs())
    metadata = yaml.safe_load(METADATA[CONNECTOR].read_text())["data"]
    assert spec["spec"]["documentationUrl"] == metadata["documentationUrl"]


def test_a_write_reads_back_through_the_api(image: str, fresh_sandbox: RunningSandbox) -> None:
    sb = fresh_sandbox
    config = {
        "api_key": sb.api_key,
        "base_url": sb.base_url,
        "streams": {"vips": {"object": "user_list_users", "mode": "mirror", "list_name": VIPS}},
    }
    subscribers_before = p.members(sb, 1)
    run = run_image(image, "write", config=config, catalog=CATALOG, stdin=messages())
    assert run.returncode == 0 and run.errors() == [], run.text()
    assert p.Output(run.messages).positions() == list(range(len(rows())))

    users = p.users_by_email(sb, PEOPLE)
    assert {e: u["first_name"] for e, u in users.items()} == {
        e: f"I{i}" for i, e in enumerate(PEOPLE)
    }
    products = p.products_by_id(sb, [f"IMG-{i}" for i in range(5)])
    assert {k: (v["title"], v["price"]) for k, v in products.items()} == {
        f"IMG-{i}": (f"Image item {i}", 5 + i) for i in range(5)
    }
    email_of = {u["user_id"]: e for e, u in users.items()}
    assert p.members(sb, 1) == subscribers_before | {users[e]["user_id"] for e in PEOPLE[:3]}
    (vips,) = [lst["id"] for lst in p.get(sb, Query("user_lists")) if lst["name"] == VIPS]
    assert {email_of[u] for u in p.members(sb, vips)} == set(PEOPLE[4:10])
    events = p.get(
        sb,
        Query(
            "products_interactions",
            where=all_of(cond("product_internal_id", ":", [f"IMG-{i}" for i in range(5)])),
            limit=1000,
        ),
    )
    assert Counter(
        (email_of[e["user_id"]], e["product_internal_id"], e["status"], e["quantity"], e["amount"])
        for e in events
    ) == Counter((e, f"IMG-{i % 5}", "goal", i + 1, 10 * i) for i, e in enumerate(PEOPLE))
