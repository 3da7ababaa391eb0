"""Write engine planning without a network: targets, record checks, do translation, sizing,
dry-run plans."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.spec.loader import default_specs
from connectors.spec.models import WriteMode, WritePlan
from connectors.write import (
    MAX_VALUE_CHARS,
    StreamTarget,
    WriteConfigError,
    WriteEngine,
    WriteOptions,
    operations,
    parse_targets,
)
from connectors.write.commands import translate
from connectors.write.plan import do_batches, failed_command, in_list_chunks
from connectors.write.records import Refused, shape
from connectors.write.targets import resolve

SPECS = default_specs()
TABLE = SPECS.commands


# ---------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("stream", "config", "expected"),
    [
        ("users", None, ("users", "upsert", "email")),
        ("products", None, ("products", "upsert", "internal_id")),
        ("articles_interactions", None, ("articles_interactions", "append", "email")),
        ("do", None, ("do", "append", "email")),
        (
            "crm",
            {"object": "users", "mode": "update", "match_key": "user_id"},
            ("users", "update", "user_id"),
        ),
        ("gone", {"object": "products", "mode": "delete"}, ("products", "delete", "internal_id")),
        (
            "vip",
            {"object": "user_list_users", "mode": "mirror", "list_name": "VIPs"},
            ("user_list_users", "mirror", "email"),
        ),
        ("lists", {"object": "user_lists"}, ("user_lists", "upsert", "name")),
    ],
)
def test_targets(stream: str, config: dict[str, Any] | None, expected: tuple[str, ...]) -> None:
    targets = parse_targets({stream: config} if config else None, [stream])
    t = targets[stream]
    assert (t.object, t.mode, t.match_key) == expected


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"object": "widgets"}, ("'orders'", "'object'")),
        ({"object": "events"}, ("'orders'", "'object'")),  # read-only object
        ({"object": "users", "mode": "append"}, ("'orders'", "'mode'", "upsert")),
        ({"object": "products", "mode": "mirror"}, ("'orders'", "'mode'")),
        ({"object": "products", "match_key": "email"}, ("'orders'", "'match_key'")),
        ({"object": "users", "mode": "insert", "match_key": "user_id"}, ("'match_key'",)),
        ({"object": "users", "list_id": 3}, ("'orders'", "'list_id'")),
        ({"object": "user_list_users", "list_id": 3, "list_name": "x"}, ("'list_id'",)),
        ({"object": "user_list_users", "list_id": "abc"}, ("'list_id'",)),
        ({"object": "users", "field_map": {"a": 1}}, ("'field_map'",)),
        ({"object": "users", "colour": "red"}, ("'colour'",)),
        ({"object": "users", "event_id_column": "id"}, ("'orders'", "'event_id_column'")),
        ({"object": "products_interactions", "event_id_column": 3}, ("'event_id_column'",)),
    ],
)
def test_bad_config_names_stream_and_setting(config: dict[str, Any], names: tuple[str]) -> None:
    with pytest.raises(WriteConfigError) as err:
        parse_targets({"orders": config}, ["orders"])
    for name in names:
        assert name in str(err.value)


def test_unconfigured_stream_not_named_like_an_object() -> None:
    with pytest.raises(WriteConfigError, match=r"'orders'.*'object'"):
        parse_targets(None, ["orders"])


def test_operations_cover_every_mode_of_the_specs() -> None:
    ops = {(o.object, o.mode): o for o in operations()}
    assert {
        ("users", "upsert"),
        ("users", "update"),
        ("users", "insert"),
        ("users", "delete"),
        ("products", "upsert"),
        ("products", "update"),
        ("products", "delete"),
        ("articles", "upsert"),
        ("user_lists", "upsert"),
        ("user_list_users", "mirror"),
        ("user_list_users", "delete"),
        ("products_interactions", "append"),
        ("articles_interactions", "append"),
        ("do", "append"),
    } <= set(ops)
    assert ops[("users", "upsert")].default and ops[("users", "upsert")].match_keys[0] == "email"
    assert "internal_id" in ops[("users", "upsert")].unreliable_match_keys
    assert ops[("products_interactions", "append")].event
    assert ops[("products_interactions", "append")].required_fields == (
        "product_internal_id",
        "status",
    )
    for obj in {o for o, _ in ops}:
        assert sum(ops[k].default for k in ops if k[0] == obj) == 1


def test_write_plan_rejects_two_defaults() -> None:
    mode = {"strategy": "post_rows", "default": True}
    with pytest.raises(ValidationError, match="exactly one default"):
        WritePlan(
            read_only=False,
            modes=(WriteMode(name="upsert", **mode), WriteMode(name="insert", **mode)),
        )


# ---------------------------------------------------------------- records


def _shape(stream: str, record: dict[str, Any], config: dict[str, Any] | None = None) -> Any:
    target = parse_targets({stream: config} if config else None, [stream])[stream]
    spec, mode = resolve(target)
    return shape(target, spec, mode, record)


def test_metadata_dropped_and_field_map_applied() -> None:
    item = _shape(
        "crm",
        {
            "mail": "a@x.io",
            "fn": "A",
            "_airbyte_ab_id": "1",
            "_sdc_batched_at": 2,
            "drop_me": "x",
            "empty": "",
        },
        {"object": "users", "field_map": {"mail": "email", "fn": "first_name", "drop_me": ""}},
    )
    assert item.fields == {"email": "a@x.io", "first_name": "A"}
    assert item.key == "a@x.io"
    assert "_airbyte_ab_id" not in item.record and "drop_me" in item.record


def test_event_id_column_is_taken_out_of_the_fields() -> None:
    config = {"object": "products_interactions", "event_id_column": "line"}
    row = {"email": "a@x.io", "product_internal_id": "S1", "status": "goal", "line": 7}
    item = _shape("orders", row, config)
    assert item.event_id == "7" and "line" not in item.fields
    with pytest.raises(Refused, match=r"event id.*'line'"):
        _shape("orders", {**row, "line": None}, config)


def test_hash_is_stable_and_content_based() -> None:
    a = _shape("users", {"email": "a@x.io", "first_name": "A"})
    b = _shape("users", {"first_name": "A", "email": "a@x.io", "_sdc_x": 1})
    c = _shape("users", {"email": "a@x.io", "first_name": "B"})
    assert a.hash == b.hash != c.hash


@pytest.mark.parametrize(
    ("stream", "record", "reason"),
    [
        ("users", {"first_name": "A"}, "missing match key 'email'"),
        ("users", {"email": "  "}, "missing match key 'email'"),
        ("users", {"email": "not-an-email"}, "not a valid email"),
        ("users", {"email": "a@x.io", "custom_i_1": "seven"}, "expects an integer"),
        ("products", {"internal_id": "S1", "price": "cheap"}, "expects a number"),
        ("products", {"internal_id": "S1", "is_in_stock": "maybe"}, "must be one of"),
        (
            "products",
            {"internal_id": "S1", "title": "x" * (MAX_VALUE_CHARS + 1)},
            "over the limit of 65,535",
        ),
        (
            "products_interactions",
            {"email": "a@x.io", "product_internal_id": "S1", "status": "goal", "colour": "red"},
            "unknown column 'colour'",
        ),
        (
            "products_interactions",
            {"email": "a@x.io", "status": "goal"},
            "missing required column 'product_internal_id'",
        ),
        (
            "products_interactions",
            {"email": "a@x.io", "product_internal_id": "S1", "status": "goal", "quantity": "two"},
            "expects a number",
        ),
        ("user_list_users", {"email": "a@x.io", "user_id": "u1"}, "expects an integer"),
    ],
)
def test_bad_records_refused(stream: str, record: dict[str, Any], reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        _shape(stream, record)


def test_users_allow_dynamic_columns() -> None:
    assert _shape("users", {"email": "a@x.io", "loyalty_tier": "gold"}).fields["loyalty_tier"]


# ---------------------------------------------------------------- do translation


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {
                "key_type": "email",
                "key": "a@x.io",
                "command": "product purchased",
                "item": "S1",
                "quantity": "2",
                "amount": 9.5,
            },
            ["email", "a@x.io", "Product purchased", "S1", "quantity", 2, "amount", 9.5],
        ),
        (
            {"key": "a@x.io", "command": "Article liked", "item": "post-1", "action_id": 7},
            ["email", "a@x.io", "Article liked", "post-1", "action_id", 7],
        ),
        (
            {"key_type": "user_id", "key": "42", "command": "Product viewed", "item": 1234},
            ["user_id", 42, "Product viewed", "1234"],
        ),
        (
            {
                "key_type": "internal_id",
                "key": "c-1",
                "command": "User profile",
                "fields": {"first_name": "A"},
                "custom_t_1": "VIP",
            },
            ["internal_id", "c-1", "User profile", "first_name", "A", "custom_t_1", "VIP"],
        ),
    ],
)
def test_translate(record: dict[str, Any], expected: list[Any]) -> None:
    assert translate(TABLE, record, "email") == expected


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"key": "a@x.io", "command": "Frobnicate"}, "unknown command 'Frobnicate'"),
        ({"key": "a@x.io", "command": "Products Purchased"}, "unknown command"),  # api §9 C3
        ({"key": "a@x.io", "command": "Navigate", "item": "x"}, "unknown command"),
        ({"key": "a@x.io", "command": "Product viewed"}, "needs column 'item'"),
        (
            {"key": "a@x.io", "command": "Product viewed", "item": "S", "quantity": "lots"},
            "quantity 'lots' is not a number",
        ),
        (
            {"key": "a@x.io", "command": "Product viewed", "item": "S", "action_id": 1.5},
            "action_id 1.5 is not an integer",
        ),
        ({"key": "a@x.io", "command": "Product viewed", "item": {"a": 1}}, "must be a text"),
        (
            {"key": "a@x.io", "command": "Product viewed", "item": "S", "colour": "red"},
            "unknown column 'colour'",
        ),
        (
            {"key_type": "phone", "key": "1", "command": "Product viewed", "item": "S"},
            "key type 'phone'",
        ),
        ({"command": "Product viewed", "item": "S"}, "missing match key"),
        ({"key": "nope", "command": "Product viewed", "item": "S"}, "not a valid email"),
        (
            {"key_type": "user_id", "key": "abc", "command": "Product viewed", "item": "S"},
            "must be an integer",
        ),
        ({"key": "a@x.io", "command": "User profile", "fields": "x"}, "must be an object"),
    ],
)
def test_translate_refuses(record: dict[str, Any], reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        translate(TABLE, record, "email")


# ---------------------------------------------------------------- sizing and attribution


def test_in_list_chunks_bound_count_and_length() -> None:
    values = [f"v{i}" for i in range(450)] + ["v1"]
    chunks = in_list_chunks(values, max_count=200)
    assert [len(c) for c in chunks] == [200, 200, 50]
    long = ["x" * 1000] * 1 + ["y" * 1000, "z" * 1000]
    assert [len(c) for c in in_list_chunks(long, max_chars=2500)] == [2, 1]
    # the budget counts the encoded length: '@' travels as %40
    emails = [f"u{i:03d}@x.io" for i in range(100)]
    chunks = in_list_chunks(emails, max_chars=150)
    assert all(sum(len(e) + 2 + 1 for e in c) <= 150 for c in chunks)  # 9 chars → 11 + comma
    assert [len(c) for c in chunks] == [12] * 8 + [4]


def test_do_batches() -> None:
    commands = [["email", f"u{i}@x.io", "Product viewed", "S"] for i in range(450)]
    assert do_batches(commands, max_count=200) == [(0, 200), (200, 400), (400, 450)]
    assert do_batches([], max_count=200) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "Command 3: products row not found by internal_id=X",
            (3, "products row not found by internal_id=X"),
        ),
        ("Command 1: Unknown command 'x'", (1, "Unknown command 'x'")),
        ("The body of do must be a JSON array", None),
        ("", None),
        (None, None),
    ],
)
def test_failed_command(body: str | None, expected: tuple[int, str] | None) -> None:
    assert failed_command(body) == expected


# ---------------------------------------------------------------- dry run


def test_dry_run_plans_calls_without_a_client(tmp_path: Path) -> None:
    out = io.StringIO()
    targets = parse_targets(
        {
            "vip": {"object": "user_list_users", "list_name": "VIPs"},
            "gone": {"object": "products", "mode": "delete"},
        },
        ["users", "products", "products_interactions"],
    )
    engine = WriteEngine(
        None,
        targets,
        WriteOptions(
            dry_run=True,
            plan_out=out,
            rejects_path=tmp_path / "r.jsonl",
            ledger_path=tmp_path / "ledger.db",
        ),
    )
    engine.add("users", {"email": "a@x.io", "first_name": "A"})
    engine.add("users", {"email": "bad"})
    engine.add("products", {"internal_id": "S1", "title": "T"})
    engine.add("gone", {"internal_id": "S/2&x"})
    engine.add("vip", {"email": "a@x.io"})
    engine.add(
        "products_interactions",
        {
            "email": "a@x.io",
            "product_internal_id": "S1",
            "status": "goal",
            "transaction_time": 1700000000,
        },
    )
    summary = engine.finish()
    plan = out.getvalue().splitlines()
    assert 'POST do [["email","a@x.io","User profile","first_name","A"]]' in plan
    assert 'POST products {"internal_id":"S1","title":"T"}' in plan
    assert "DELETE products/where/internal_id:S%2F2%26x" in plan
    assert any(p.startswith("POST user_list_users ") for p in plan)
    assert (
        'POST do [["email","a@x.io","Product purchased","S1","transaction_time",1700000000]]'
        in plan
    )
    assert summary.dry_run and summary.streams["users"].rejected == 1
    assert summary.total("calls") == len(plan)
    assert not (tmp_path / "ledger.db").exists()  # a dry run records nothing as sent
    rejected = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert rejected[0]["stream"] == "users" and "email" in rejected[0]["reason"]


def test_engine_needs_a_client_unless_dry_run() -> None:
    with pytest.raises(WriteConfigError, match="client"):
        WriteEngine(None, {}, WriteOptions())


def test_add_to_unknown_stream() -> None:
    engine = WriteEngine(None, {}, WriteOptions(dry_run=True, plan_out=io.StringIO()))
    with pytest.raises(WriteConfigError, match="'orders'"):
        engine.add("orders", {})


def test_summary_render_and_dict() -> None:
    targets = {"users": StreamTarget("users", "users", "upsert", "email")}
    engine = WriteEngine(None, targets, WriteOptions(dry_run=True, plan_out=io.StringIO()))
    engine.add("users", {"email": "a@x.io"})
    summary = engine.finish()
    assert summary.as_dict()["totals"]["read"] == 1
    text = summary.render()
    assert "dry run" in text and "users" in text.splitlines()[2]
