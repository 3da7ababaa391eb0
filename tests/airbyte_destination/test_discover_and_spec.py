"""spec is generated from the write settings; discover prints a DESTINATION_CATALOG with one
operation per (object, mode) of the write engine and its matching keys; a configured stream's
data-activation fields translate into the engine's stream settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer  # type: ignore[attr-defined]

from connectors.spec import default_specs
from connectors.write import WriteConfigError, operations
from target_personyze.destination_catalog import SYNC_MODES, stream_settings
from tests.airbyte_destination import protocol as p
from tests.airbyte_destination.conftest import GOOD_CONFIG


def test_discover_lists_every_object_and_mode_with_its_matching_keys() -> None:
    out = p.cli("discover", {"api_key": "F00DF00DF00D1234", "base_url": "http://127.0.0.1:9"})
    assert out.returncode == 0, out.text()
    (message,) = out.messages  # stdout holds the catalog and nothing else
    assert message["type"] == "DESTINATION_CATALOG"
    found = {
        (o["object_name"], o["sync_mode"]): o for o in message["destination_catalog"]["operations"]
    }
    ops = operations()
    assert len(found) == len(ops)  # every (object, sync mode) names one operation
    for op in ops:
        entry = found[(op.object, SYNC_MODES[op.mode].value)]
        schema = entry["json_schema"]
        assert schema["type"] == "object"
        assert entry["matching_keys"], (op.object, op.mode)
        for column in (*(k for (k,) in entry["matching_keys"]), *op.required_fields):
            assert column in schema["properties"], (op.object, op.mode, column)
        assert set(op.required_fields) <= set(schema["required"])
        if op.object != "do":  # do's records carry their key in `key`, its type in `key_type`
            assert entry["matching_keys"] == [[k] for k in op.match_keys]
    assert found[("users", "append_dedup")]["matching_keys"] == [
        ["email"],
        ["user_id"],
        ["internal_id"],
    ]
    assert found[("do", "append")]["matching_keys"] == [["key"]]


def test_the_catalog_and_spec_say_what_is_exactly_once_inside_airbyte_and_what_to_map() -> None:
    """What an Airbyte user sees when mapping streams (issue 9 §4): product interactions are
    exactly once across a retried attempt when transaction_time is mapped; article interactions
    cannot be (no read-back); the ledger setting says it is not needed for the former."""
    out = p.cli("discover", {"api_key": "F00DF00DF00D1234", "base_url": "http://127.0.0.1:9"})
    assert out.returncode == 0, out.text()
    (message,) = out.messages
    found = {
        (o["object_name"], o["sync_mode"]): o["json_schema"]
        for o in message["destination_catalog"]["operations"]
    }
    products = found[("products_interactions", "append")]
    assert "Exactly once, also across a retried Airbyte attempt" in products["description"]
    assert "(transaction_time)" in products["description"]
    event_time = products["properties"]["transaction_time"]["description"]
    assert event_time.startswith("The event's own time, unix seconds. Map it: ")
    assert "exactly once, also when Airbyte retries a failed attempt" in event_time
    articles = found[("articles_interactions", "append")]
    assert "Not exactly once inside Airbyte" in articles["description"]
    assert "cannot read article interactions back" in articles["description"]
    assert "transaction_time" not in articles["properties"]  # nothing to map would help
    assert "exactly once like products_interactions" in found[("do", "append")]["description"]
    properties = p.command("spec").messages[0]["spec"]["connectionSpecification"]["properties"]
    assert (
        "product interactions with an event time are still sent once, by reading them back"
        in (properties["ledger_path"]["description"])
    )


def test_discover_of_a_bad_config_is_a_config_error() -> None:
    out = p.command("discover", {"api_key": "F00DF00DF00D1234", "base_url": "ftp://example.com"})
    assert out.returncode == 1
    assert [e["failure_type"] for e in out.errors()] == ["config_error"]
    assert "base_url" in out.errors()[0]["message"]


def test_spec_offers_the_write_settings_and_hides_the_key() -> None:
    out = p.command("spec")
    (message,) = out.messages
    spec = message["spec"]
    properties = spec["connectionSpecification"]["properties"]
    settings = default_specs().connection.settings
    assert set(properties) == {s.name for s in settings if "write" in s.applies_to}
    assert properties["api_key"]["airbyte_secret"] is True
    assert not any(v.get("airbyte_secret") for k, v in properties.items() if k != "api_key")
    assert spec["connectionSpecification"]["required"] == ["api_key"]
    assert set(spec["supported_destination_sync_modes"]) == {
        SYNC_MODES[op.mode].value for op in operations()
    }


def test_check_succeeds_against_the_sandbox() -> None:
    out = p.command("check", json.loads(Path(GOOD_CONFIG).read_text()))
    assert [m["connectionStatus"]["status"] for m in out.of_type("CONNECTION_STATUS")] == [
        "SUCCEEDED"
    ]


def translate(*streams: dict[str, Any], configured: dict[str, Any] | None = None) -> Any:
    catalog = ConfiguredAirbyteCatalogSerializer.load(p.catalog(*streams))
    return stream_settings(catalog, configured or {}, default_specs())


def test_data_activation_fields_become_stream_settings() -> None:
    settings = translate(
        p.configured_stream(
            "a", object_name="users", sync_mode="append_dedup", primary_key=[["user_id"]]
        ),
        p.configured_stream("b", object_name="user_list_users", sync_mode="overwrite"),
        p.configured_stream("c", object_name="products", sync_mode="soft_delete"),
        p.configured_stream("d", sync_mode="overwrite", primary_key=[["email"]]),  # plain ELT
        p.configured_stream("e", object_name="users", sync_mode="update"),
        p.configured_stream("f", object_name="do", primary_key=[["key"]]),
        configured={"e": {"object": "users", "mode": "upsert"}},  # the config wins
    )
    assert settings == {
        "a": {"object": "users", "mode": "upsert", "match_key": "user_id"},
        "b": {"object": "user_list_users", "mode": "mirror"},
        "c": {"object": "products", "mode": "delete"},
        "e": {"object": "users", "mode": "upsert"},
        "f": {"object": "do", "mode": "append"},  # each record says what its key is
    }


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (
            p.configured_stream("x", object_name="products", sync_mode="overwrite"),
            "destination sync mode 'overwrite' has no operation on products",
        ),
        (
            p.configured_stream(
                "x",
                object_name="users",
                sync_mode="append_dedup",
                primary_key=[["profile", "email"]],
            ),
            "one top-level column",
        ),
    ],
)
def test_untranslatable_data_activation_fields_name_the_stream(
    stream: dict[str, Any], expected: str
) -> None:
    with pytest.raises(WriteConfigError, match=expected) as err:
        translate(stream)
    assert "stream 'x'" in str(err.value)
