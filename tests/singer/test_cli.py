"""The ``tap-personyze`` command as Meltano runs it: about, discover, sync with catalog and
state, and settings errors that name the setting, without a traceback or the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from personyze_sandbox.process import RunningSandbox
from tap_personyze import TapPersonyze
from tests.singer.tapruns import SPECS, config_for, write_json

pytestmark = pytest.mark.integration

TAP = str(Path(sys.executable).with_name("tap-personyze"))
READ_SETTINGS = [s.name for s in SPECS.connection.settings if "read" in s.applies_to]
CAPABILITIES = {
    "catalog",
    "discover",
    "state",
    "about",
    "stream-maps",
    "schema-flattening",
    "batch",
}


def tap(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAP_PERSONYZE_")}
    return subprocess.run(
        [TAP, *args], capture_output=True, text=True, env={**clean, **(env or {})}, timeout=120
    )


def singer_messages(stdout: str) -> list[dict[str, Any]]:
    messages = [json.loads(line) for line in stdout.splitlines()]
    assert {m["type"] for m in messages} <= {"SCHEMA", "RECORD", "STATE", "BATCH"}
    return messages


def test_about_lists_the_read_settings_and_capabilities() -> None:
    about = json.loads(tap("--about", "--format", "json").stdout)
    assert set(about["capabilities"]) == CAPABILITIES
    properties = about["settings"]["properties"]
    assert [name for name in properties if name in READ_SETTINGS] == READ_SETTINGS
    assert properties["api_key"]["secret"] is True
    assert about["settings"]["required"] == ["api_key"]
    markdown = tap("--about", "--format", "markdown").stdout
    assert "# `tap-personyze`" in markdown and "| api_key |" in markdown


def test_discover_prints_only_the_catalog(demo_sandbox: RunningSandbox, tmp_path: Path) -> None:
    done = tap("--discover", "--config", write_json(tmp_path / "c.json", config_for(demo_sandbox)))
    assert done.returncode == 0, done.stderr
    catalog = json.loads(done.stdout)
    entries = {e["stream"]: e for e in catalog["streams"]}
    # the stream that writes to the account is offered only on opt-in (test_read_only.py)
    assert set(entries) == {o.name for o in SPECS.readable()} - {"recommendations"}
    users = entries["users"]
    assert users["key_properties"] == ["user_id"]
    assert users["replication_key"] == "data_last_modified"
    assert users["replication_method"] == "INCREMENTAL"
    assert entries["actions"]["replication_method"] == "FULL_TABLE"
    assert demo_sandbox.api_key not in done.stdout + done.stderr


def test_config_from_environment(demo_sandbox: RunningSandbox) -> None:
    env = {
        "TAP_PERSONYZE_API_KEY": demo_sandbox.api_key,
        "TAP_PERSONYZE_BASE_URL": demo_sandbox.base_url,
    }
    done = tap("--discover", "--config", "ENV", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["streams"]


def test_sync_with_catalog_and_state(demo_sandbox: RunningSandbox, tmp_path: Path) -> None:
    config = write_json(tmp_path / "config.json", config_for(demo_sandbox))
    catalog = json.loads(tap("--discover", "--config", config).stdout)
    for entry in catalog["streams"]:
        selected = entry["stream"] in {"users", "user_lists"}
        (root,) = [m for m in entry["metadata"] if m["breadcrumb"] == []]
        root["metadata"]["selected"] = selected
    catalog_path = write_json(tmp_path / "catalog.json", catalog)
    first = tap("--config", config, "--catalog", catalog_path)
    assert first.returncode == 0, first.stderr
    messages = singer_messages(first.stdout)
    assert {m["stream"] for m in messages if m["type"] == "RECORD"} == {"users", "user_lists"}
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    mark = state["bookmarks"]["users"]["replication_key_value"]
    second = tap(
        "--config",
        config,
        "--catalog",
        catalog_path,
        "--state",
        write_json(tmp_path / "state.json", state),
    )
    assert second.returncode == 0, second.stderr
    users = [
        m["record"]
        for m in singer_messages(second.stdout)
        if m["type"] == "RECORD" and m["stream"] == "users"
    ]
    # the state names the users already emitted at the bookmark: none comes again
    assert users == []
    (last,) = [m["value"] for m in singer_messages(second.stdout) if m["type"] == "STATE"][-1:]
    assert last["bookmarks"]["users"]["replication_key_value"] == mark
    for done in (first, second):
        assert demo_sandbox.api_key not in done.stdout + done.stderr


GOOD_KEY = "FD09908F25BECB09D78EBEA1DADFB618651F612D"
WRONG_SETTINGS = [
    ({"api_key": None}, "api_key"),
    ({"api_key": "short key"}, "api_key"),
    ({"base_url": "http://example.com/rest"}, "base_url"),
    ({"base_url": "https://api:secret@example.com/rest"}, "base_url"),
    ({"start_date": "yesterday"}, "start_date"),
    ({"start_date": "2024-13-45"}, "start_date"),
    ({"start_date": "1704067200000"}, "start_date"),
    ({"max_concurrency": 0}, "max_concurrency"),
    ({"max_retries": 2.5}, "max_retries"),
    ({"request_timeout": "soon"}, "request_timeout"),
    ({"lookback_window_days": -1}, "lookback_window_days"),
]


def wrong_config(change: dict[str, Any]) -> dict[str, Any]:
    config = {"api_key": GOOD_KEY, "base_url": "http://127.0.0.1:9/rest", **change}
    return {k: v for k, v in config.items() if v is not None}


@pytest.mark.parametrize(("change", "named"), WRONG_SETTINGS)
def test_a_wrong_setting_is_named(change: dict[str, Any], named: str) -> None:
    config = wrong_config(change)
    with pytest.raises(ConfigValidationError) as failed:
        TapPersonyze(config=config, parse_env_config=False)
    text = " ".join(failed.value.errors)
    assert text.startswith(named), text
    assert config.get("api_key", GOOD_KEY) not in text


@pytest.mark.parametrize("command", [[], ["--discover"]])
@pytest.mark.parametrize(("change", "named"), [WRONG_SETTINGS[1], WRONG_SETTINGS[4]])
def test_the_command_reports_a_wrong_setting_without_a_traceback(
    command: list[str], change: dict[str, Any], named: str, tmp_path: Path
) -> None:
    config = wrong_config(change)
    done = tap(*command, "--config", write_json(tmp_path / "config.json", config))
    assert done.returncode == 1
    assert done.stdout == ""
    assert named in done.stderr
    assert "Traceback" not in done.stderr
    assert config["api_key"] not in done.stderr


def test_a_wrong_key_fails_with_advice_and_no_traceback(
    demo_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    wrong = "0123456789ABCDEF0123456789ABCDEF01234567"
    config = {**config_for(demo_sandbox), "api_key": wrong}
    path = write_json(tmp_path / "config.json", config)
    for args in (["--config", path], ["--discover", "--config", path]):
        done = tap(*args)
        assert done.returncode == 1
        assert "api_key" in done.stderr and "401" in done.stderr
        assert "Traceback" not in done.stderr
        assert wrong not in done.stdout + done.stderr
