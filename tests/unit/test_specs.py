"""The spec files: they load, they say what personyze-api.md says, and bad files fail loudly."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from connectors.spec import SpecError, Specs, load_specs, specs_dir

ROOT = Path(__file__).resolve().parents[2]

STATS = [f"products_stats_{w}" for w in ("1day", "2day", "4day", "week", "recent", "all")]
TABLES = [
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
    *STATS,
    "summary_actions",
]
ENDPOINTS = ["tracker_code", "do", "tracker-v1", "account"]
# a stream of recommendations read through tracker-v1, not a REST object of its own
DERIVED = ["recommendations"]
ALL_OBJECTS = set(TABLES) | set(ENDPOINTS) | set(DERIVED)

DO_COMMANDS = {
    "user profile",
    "product viewed",
    "product added to cart",
    "product liked",
    "product purchased",
    "product removed from cart",
    "product unliked",
    "article viewed",
    "article liked",
    "article commented",
    "article unliked",
    "article goal",
}
BULK_COMMANDS = {
    "products purchased",
    "products unliked",
    "products removed from cart",
    "articles unliked",
}

# api §5: the documented indexes (plus U9 for products/articles and the composite key of
# user_list_users). Anything else marked indexed would let a reader send a query the API refuses.
INDEXED = {
    "users": {
        "user_id",
        "internal_id",
        "fb_id",
        "email",
        "last_session_time",
        "data_last_modified",
    },
    "user_lists": {"id", "name"},
    "user_list_users": {"user_list_id", "user_id"},
    "actions": {"id"},
    "conditions": {"id"},
    "placeholders": {"id"},
    "containers_grab_variable": {"id"},
    "products": {"id", "internal_id", "data_last_modified"},
    "articles": {"id", "internal_id", "data_last_modified"},
    "products_interactions": {"user_id", "product_internal_id", "status", "time"},
    "events": {"id", "user_id", "container_id"},
    "forms": {"user_id", "action_id", "time"},
    "sessions_archive": {"first_visit_id", "user_id"},
    "user_interests": {"user_id", "time"},
    "summary_actions": {"day"},
    "tracker_code": {"html"},
    **{
        name: {
            "internal_id",
            "n_viewed",
            "n_delivered",
            "n_extra",
            "n_favorite",
            "n_goal",
            "last_goal_user_id_0",
            "last_goal_user_id_1",
            "last_goal_user_id_2",
        }
        for name in STATS
    },
}

PRIMARY_KEYS = {
    "users": ("user_id",),
    "user_lists": ("id",),
    "user_list_users": ("user_list_id", "user_id"),
    "actions": ("id",),
    "conditions": ("id",),
    "placeholders": ("id",),
    "containers_grab_variable": ("id",),
    "products": ("id",),
    "articles": ("id",),
    "products_interactions": (),
    "events": ("id",),
    "forms": (),
    "sessions_archive": ("first_visit_id",),
    "user_interests": (),
    "summary_actions": ("day", "action_id"),
    **{name: ("internal_id",) for name in STATS},
}

SCAN = {
    "users": "indexed_where_or_order",
    "user_lists": "open",
    "user_list_users": "indexed_where",
    "actions": "open",
    "conditions": "open",
    "placeholders": "open",
    "containers_grab_variable": "open",
    "products": "open",
    "articles": "open",
    "products_interactions": "indexed_where_or_order",
    "events": "indexed_where",
    "forms": "indexed_where",
    "sessions_archive": "indexed_where",
    "user_interests": "indexed_where",
    "summary_actions": "required_where",
    **{name: "indexed_where_or_order" for name in STATS},
}

# design.md §3: (mode, key, key_kind)
READ = {
    "users": ("incremental", "data_last_modified", "time"),
    "products": ("incremental", "data_last_modified", "time"),
    "articles": ("incremental", "data_last_modified", "time"),
    "products_interactions": ("incremental", "time", "time"),
    "forms": ("incremental", "time", "time"),
    "user_interests": ("incremental", "time", "time"),
    "summary_actions": ("incremental", "day", "day"),
    "events": ("incremental", "id", "id"),
    "sessions_archive": ("incremental", "first_visit_id", "id"),
    "user_lists": ("full_refresh", "id", None),
    "actions": ("full_refresh", "id", None),
    "conditions": ("full_refresh", "id", None),
    "placeholders": ("full_refresh", "id", None),
    "containers_grab_variable": ("full_refresh", "id", None),
    "user_list_users": ("full_refresh", "user_id", None),
    "tracker_code": ("full_refresh", "html", None),
    "do": ("none", None, None),
    "tracker-v1": ("none", None, None),
    "account": ("none", None, None),
    **{name: ("full_refresh", "internal_id", None) for name in STATS},
}

READ_ONLY = {
    "actions",
    "conditions",
    "events",
    "forms",
    "sessions_archive",
    "user_interests",
    "summary_actions",
    "tracker_code",
    "account",
    "recommendations",
    *STATS,
}


@pytest.fixture(scope="module")
def specs() -> Specs:
    return load_specs()


def _export_module() -> ModuleType:
    path = ROOT / "scripts" / "export_spec_schema.py"
    spec = importlib.util.spec_from_file_location("export_spec_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- loading


def test_every_spec_file_loads(specs: Specs) -> None:
    files = sorted(p.stem for p in (specs_dir() / "objects").glob("*.json"))
    assert files == sorted(specs.objects)
    assert specs.commands.commands
    assert specs.connection.settings


def test_exact_set_of_objects(specs: Specs) -> None:
    assert set(specs.objects) == ALL_OBJECTS
    assert len(specs.objects) == 26


def test_kinds_and_paths(specs: Specs) -> None:
    for name, obj in specs.objects.items():
        assert obj.path == ("tracker-v1" if name in DERIVED else name)
    assert {n for n, o in specs.objects.items() if o.kind == "table"} == set(TABLES)
    assert specs.object("tracker_code").kind == "html"
    assert specs.object("do").kind == "commands"
    assert specs.object("tracker-v1").kind == "tracker"
    assert specs.object("account").kind == "account"
    assert specs.object("do").methods == ("POST",)
    assert specs.object("tracker-v1").methods == ("POST",)
    assert specs.object("account").methods == ("GET",)


# ---------------------------------------------------------------- schema file


def test_schema_file_is_current() -> None:
    module = _export_module()
    committed = (ROOT / "specs" / "spec-format.schema.json").read_text(encoding="utf-8")
    assert committed == module.render(), "run python scripts/export_spec_schema.py"
    doc = json.loads(committed)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"ObjectSpec", "CommandTable", "ConnectionSpec"} <= set(doc["$defs"])
    assert doc["$defs"]["ObjectSpec"]["additionalProperties"] is False


def test_schema_check_fails_when_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _export_module()
    stale = tmp_path / "specs" / "spec-format.schema.json"
    stale.parent.mkdir()
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "SCHEMA_PATH", stale)
    assert module.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert module.main([]) == 0
    assert module.main(["--check"]) == 0


# ---------------------------------------------------------------- bad specs


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    shutil.copytree(specs_dir(), root)
    return root


def _edit(path: Path, change: dict[str, object]) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw.update(change)
    path.write_text(json.dumps(raw), encoding="utf-8")


def test_copy_of_specs_loads(spec_copy: Path) -> None:
    assert set(load_specs(spec_copy).objects) == ALL_OBJECTS


def test_unknown_key_fails(spec_copy: Path) -> None:
    path = spec_copy / "objects" / "placeholders.json"
    _edit(path, {"colour": "blue"})
    with pytest.raises(SpecError) as err:
        load_specs(spec_copy)
    assert str(path) in str(err.value)
    assert "key colour" in str(err.value)


def test_bad_value_fails(spec_copy: Path) -> None:
    path = spec_copy / "objects" / "summary_actions.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["scan"]["kind"] = "sometimes"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_specs(spec_copy)
    assert str(path) in str(err.value)
    assert "key scan.kind" in str(err.value)


def test_bad_column_type_fails(spec_copy: Path) -> None:
    path = spec_copy / "objects" / "events.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["columns"][0]["type"] = "text"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_specs(spec_copy)
    assert str(path) in str(err.value)
    assert "key columns.0.type" in str(err.value)


def test_unindexed_read_key_fails(spec_copy: Path) -> None:
    path = spec_copy / "objects" / "events.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["read"]["key"] = "time"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SpecError, match=r"read\.key 'time' must be an indexed column") as err:
        load_specs(spec_copy)
    assert str(path) in str(err.value)


def test_name_must_equal_file_name(spec_copy: Path) -> None:
    source = spec_copy / "objects" / "conditions.json"
    path = spec_copy / "objects" / "conditions_copy.json"
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_specs(spec_copy)
    assert str(path) in str(err.value)
    assert "key name" in str(err.value)


def test_bad_command_table_fails(spec_copy: Path) -> None:
    path = spec_copy / "commands.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["commands"][0]["endpoints"] = ["rest"]
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_specs(spec_copy)
    assert str(path) in str(err.value)
    assert "key commands.0.endpoints.0" in str(err.value)


def test_not_json_fails(spec_copy: Path) -> None:
    path = spec_copy / "objects" / "actions.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid JSON") as err:
        load_specs(spec_copy)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------- facts


def test_read_key_and_tie_breaker_are_indexed(specs: Specs) -> None:
    readable = specs.readable()
    assert {o.name for o in readable} == ALL_OBJECTS - {"do", "tracker-v1", "account"}
    for obj in readable:
        if obj.name in DERIVED:
            assert obj.read.key is None and obj.read.mode == "full_refresh"
            continue
        assert obj.read.key is not None
        assert obj.column(obj.read.key).indexed, obj.name
        if obj.read.tie_breaker is not None:
            assert obj.column(obj.read.tie_breaker).indexed, obj.name


def test_read_plans(specs: Specs) -> None:
    for name, (mode, key, key_kind) in READ.items():
        read = specs.object(name).read
        assert (read.mode, read.key) == (mode, key), name
        if mode == "incremental":
            assert read.key_kind == key_kind, name
    assert specs.object("summary_actions").read.lookback is True
    parent = specs.object("user_list_users").read.parent
    assert parent is not None
    assert (parent.object, parent.parent_key, parent.filter_column) == (
        "user_lists",
        "id",
        "user_list_id",
    )
    assert specs.object("user_list_users").column("user_list_id").indexed
    assert [o.name for o in specs.objects.values() if o.read.parent] == ["user_list_users"]


def test_indexed_columns_as_documented(specs: Specs) -> None:
    for name, expected in INDEXED.items():
        obj = specs.object(name)
        assert {c.name for c in obj.columns if c.indexed} == expected, name
    user_id = specs.object("events").column("user_id")
    assert user_id.indexed is True and user_id.indexed_observed is False
    assert not specs.object("products_interactions").column("transaction_time").indexed


def test_scan_rules(specs: Specs) -> None:
    for name, kind in SCAN.items():
        scan = specs.object(name).scan
        assert scan is not None and scan.kind == kind, name
    scan = specs.object("summary_actions").scan
    assert scan is not None and scan.required_columns == ("day",)


def test_primary_keys_are_columns(specs: Specs) -> None:
    for name, pk in PRIMARY_KEYS.items():
        obj = specs.object(name)
        assert obj.primary_key == pk, name
        names = {c.name for c in obj.columns}
        assert set(pk) <= names, name
    for obj in specs.objects.values():
        if obj.kind == "table" and obj.primary_key:
            assert all(obj.has_column(c) for c in obj.primary_key), obj.name


def test_every_source_is_filled(specs: Specs) -> None:
    for obj in specs.objects.values():
        assert obj.sources and all(s.strip() for s in obj.sources), obj.name
        assert obj.description.strip(), obj.name
        assert obj.write.source.strip(), obj.name
        if obj.scan is not None:
            assert obj.scan.source.strip(), obj.name
        if obj.write.serialised_inserts is not None:
            assert obj.write.serialised_inserts.source.strip(), obj.name
        for col in obj.columns:
            assert col.source.strip(), f"{obj.name}.{col.name}"
            assert col.description.strip(), f"{obj.name}.{col.name}"
    assert specs.commands.source.strip()
    for cmd in specs.commands.commands:
        assert cmd.source.strip() and cmd.description.strip(), cmd.name
    assert specs.connection.limits.source.strip()


def test_write_plans(specs: Specs) -> None:
    for name, obj in specs.objects.items():
        assert obj.write.read_only is (name in READ_ONLY), name
        if obj.write.read_only and name not in DERIVED:
            assert obj.methods == ("GET",), name
    for name in ("products", "articles"):
        write = specs.object(name).write
        assert write.upsert_on == "internal_id"
        assert write.match_keys == ("internal_id",)
        assert write.input_renames == {
            "image_1": "image_big_url",
            "image_2": "image_medium_url",
            "image_3": "image_small_url",
        }
        for target in write.input_renames.values():
            assert specs.object(name).has_column(target)
    cascade = specs.object("user_lists").write.cascade_deletes
    assert [(c.object, c.column, c.parent_column) for c in cascade] == [
        ("user_list_users", "user_list_id", "id")
    ]
    members = specs.object("user_list_users").write.user_resolution
    assert {
        (r.field, r.users_column, r.creates_stub, r.creates_stub_observed) for r in members
    } == {
        ("user_internal_id", "internal_id", True, False),
        ("user_email", "email", True, False),
    }
    interactions = specs.object("products_interactions")
    assert set(interactions.methods) == {"GET", "POST", "DELETE"}
    assert {(r.field, r.creates_stub) for r in interactions.write.user_resolution} == {
        ("user_internal_id", True),
        ("user_email", True),
    }
    assert interactions.column("quantity").default == 1
    assert interactions.column("status").enum == (
        "viewed",
        "delivered",
        "extra",
        "favorite",
        "goal",
    )


def test_column_facts(specs: Specs) -> None:
    for obj in specs.objects.values():
        for col in obj.columns:
            if col.format == "unix_seconds":
                assert col.type == "integer", f"{obj.name}.{col.name}"
    unix = {
        ("products_interactions", "transaction_time"),
        ("products_interactions", "time"),
        ("events", "time"),
        ("events", "session_start_time"),
        ("forms", "time"),
        ("forms", "session_start_time"),
        ("sessions_archive", "session_start_time"),
        ("sessions_archive", "last_session_time"),
        ("user_interests", "time"),
        ("summary_actions", "day"),
        ("products", "data_last_modified"),
        ("articles", "data_last_modified"),
        *((name, f"last_goal_user_time_{i}") for name in STATS for i in range(3)),
    }
    for name, column in unix:
        assert specs.object(name).column(column).format == "unix_seconds", (name, column)
    assert specs.object("placeholders").column("units_count_max").default == 1
    grab = specs.object("containers_grab_variable")
    for column in ("is_active", "watch_variable"):
        assert grab.column(column).type == "integer"
        assert grab.column(column).enum == (0, 1)
    assert specs.object("products").column("is_in_stock").enum == ("yes", "no")
    assert specs.object("articles").column("is_published").enum == ("yes", "no")
    assert specs.object("actions").column("placeholders").type == "array"
    assert specs.object("actions").column("presenting_rules").type == "any"
    data = specs.object("forms").column("data")
    assert (data.type, data.role) == ("object", "packed_json")
    dynamic = {n for n, o in specs.objects.items() if o.dynamic_columns}
    assert dynamic == {"users", "products", "articles", "forms", "summary_actions", *DERIVED}
    pattern = specs.object("summary_actions").dynamic_column_pattern
    assert pattern is not None
    assert re.fullmatch(pattern, "goal_event_12_value")
    assert re.fullmatch(pattern, "goal_event_1_name")
    assert not re.fullmatch(pattern, "goal_event_13_name")
    assert not re.fullmatch(pattern, "goal_event_0_n_times")
    assert len(specs.object("products_stats_week").columns) == 1 + 5 + 20 + 6


# ---------------------------------------------------------------- commands


def test_command_lookup_is_case_insensitive(specs: Specs) -> None:
    cmd = specs.commands.find("user PROFILE", "do")
    assert cmd is not None and cmd.name == "User profile"
    assert cmd.field_value_pairs and cmd.target == "user"
    assert specs.commands.find("  Product Viewed ", "tracker-v1") is not None
    assert specs.commands.find("navigate", "tracker-v1") is not None
    assert specs.commands.find("navigate", "do") is None
    assert specs.commands.find("Action status", "do") is None
    assert specs.commands.find("no such command", "do") is None
    assert specs.commands.key_types == ("user_id", "internal_id", "email")


def test_the_twelve_do_commands(specs: Specs) -> None:
    documented = [c.name.casefold() for c in specs.commands.commands if "do" in c.documented_for]
    assert sorted(documented) == sorted(DO_COMMANDS)
    for name in DO_COMMANDS:
        cmd = specs.commands.find(name, "do")
        assert cmd is not None
        assert set(cmd.endpoints) == {"do", "tracker-v1"}
        assert set(cmd.documented_for) == {"do", "tracker-v1"}


def test_bulk_commands_are_not_documented_for_do(specs: Specs) -> None:
    names = {c.name.casefold(): c for c in specs.commands.commands}
    assert set(names) >= BULK_COMMANDS
    for name in BULK_COMMANDS:
        cmd = names[name]
        assert cmd.documented_for == ("tracker-v1",), name
        assert cmd.positional == () and cmd.status_change is not None, name
    for name in ("navigate", "action status"):
        assert names[name].endpoints == ("tracker-v1",)
        assert names[name].documented_for == ("tracker-v1",)
    assert set(names) == DO_COMMANDS | BULK_COMMANDS | {"navigate", "action status"}


def test_product_and_article_commands(specs: Specs) -> None:
    statuses = {
        "product viewed": "viewed",
        "product added to cart": "extra",
        "product liked": "favorite",
        "product purchased": "goal",
        "product removed from cart": None,
        "product unliked": None,
    }
    interaction_status = specs.object("products_interactions").column("status").enum or ()
    for name, status in statuses.items():
        cmd = specs.commands.find(name, "do")
        assert cmd is not None and cmd.target == "product"
        assert cmd.interaction_status == status, name
        assert [a.name for a in cmd.positional] == ["item"]
        assert {a.name: a.type for a in cmd.keywords} == {
            "quantity": "number",
            "amount": "number",
            "action_id": "integer",
            "transaction_time": "integer",
        }
        if status is None:
            assert cmd.status_change is not None, name
        else:
            assert status in interaction_status
    for name in DO_COMMANDS:
        if name.startswith("article"):
            cmd = specs.commands.find(name, "do")
            assert cmd is not None and cmd.target == "article"
            assert [a.name for a in cmd.positional] == ["item"]
            assert [a.name for a in cmd.keywords] == ["action_id"]
    status = specs.commands.find("action status", "tracker-v1")
    assert status is not None
    assert [(a.name, a.type, a.optional) for a in status.positional] == [
        ("action_id", "string_or_number", False),
        ("status", "string", False),
        ("arg", "string", True),
    ]
    navigate = specs.commands.find("navigate", "tracker-v1")
    assert navigate is not None
    assert [(a.name, a.type) for a in navigate.positional] == [("document", "string")]
