"""Failures as the platform sees them: check statuses that name the setting to fix, traced
errors with the right failure type, and no API key in any output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox
from tests.airbyte import protocol
from tests.airbyte.conftest import BAD_KEY, closed_port, sandbox_config

pytestmark = pytest.mark.integration

PROTOCOL_TYPES = {"RECORD", "STATE", "LOG", "SPEC", "CONNECTION_STATUS", "CATALOG", "TRACE"}


def unreachable(sb: RunningSandbox, **extra: Any) -> dict[str, Any]:
    return sandbox_config(sb, base_url=f"http://127.0.0.1:{closed_port()}/rest", **extra)


def users_catalog(demo_catalog: dict[str, Any]) -> dict[str, Any]:
    return protocol.configured_catalog(demo_catalog, ["users", "actions"])


def test_check_succeeds_with_the_sandbox_key(demo_config: dict[str, Any]) -> None:
    assert protocol.run("check", demo_config).connection_status() == {"status": "SUCCEEDED"}


def test_check_with_a_bad_key_says_to_check_api_key(demo_sandbox: RunningSandbox) -> None:
    output = protocol.run("check", sandbox_config(demo_sandbox, api_key=BAD_KEY))
    status = output.connection_status()
    assert status["status"] == "FAILED"
    assert "check api_key" in status["message"].lower()
    assert "401" in status["message"]
    assert BAD_KEY not in output.text()


def test_check_against_a_closed_port_names_base_url(demo_sandbox: RunningSandbox) -> None:
    config = unreachable(demo_sandbox)
    output = protocol.run("check", config)
    status = output.connection_status()
    assert status["status"] == "FAILED"
    assert f"base_url {config['base_url']}" in status["message"]
    assert demo_sandbox.api_key not in output.text()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"api_key": None}, "api_key"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"base_url": "http://personyze.example.com/rest"}, "base_url"),
        ({"lookback_window_days": -1}, "lookback_window_days"),
        ({"request_timeout": "soon"}, "request_timeout"),
    ],
)
def test_a_wrong_setting_fails_with_a_message_naming_it(
    change: dict[str, Any], named: str, demo_config: dict[str, Any], demo_catalog: dict[str, Any]
) -> None:
    config = {k: v for k, v in {**demo_config, **change}.items() if v is not None}
    read = protocol.run("read", config, catalog=users_catalog(demo_catalog))
    (error,) = read.errors()
    assert error["failure_type"] == "config_error"
    assert named in error["message"]
    discover = protocol.run("discover", config)
    (error,) = discover.errors()
    assert error["failure_type"] == "config_error"
    assert named in error["message"]
    check = protocol.run("check", config).connection_status()
    assert check["status"] == "FAILED"
    # check validates against the spec's JSON Schema first (the CDK's rule), whose messages
    # quote the value and the rule; the core names the setting for what passes that schema.
    assert named in check["message"] or "Config validation error" in check["message"]


def test_a_read_refused_with_401_is_a_config_error(
    demo_sandbox: RunningSandbox, demo_catalog: dict[str, Any]
) -> None:
    config = sandbox_config(demo_sandbox, api_key=BAD_KEY)
    output = protocol.run("read", config, catalog=users_catalog(demo_catalog))
    assert output.raised
    errors = output.errors()
    assert [e["failure_type"] for e in errors] == ["config_error"] * 3  # 2 streams + summary
    by_stream = {e["stream_descriptor"]["name"]: e for e in errors if e.get("stream_descriptor")}
    assert set(by_stream) == {"users", "actions"}
    assert "check api_key" in by_stream["users"]["message"].lower()
    assert output.statuses("users") == ["STARTED", "INCOMPLETE"]
    assert output.records() == []
    assert BAD_KEY not in output.text()


def test_retries_exhausted_is_a_system_error(
    demo_sandbox: RunningSandbox, demo_catalog: dict[str, Any]
) -> None:
    config = unreachable(demo_sandbox, max_retries=0)
    output = protocol.run("read", config, catalog=users_catalog(demo_catalog))
    assert output.raised
    errors = output.errors()
    assert [e["failure_type"] for e in errors] == ["system_error"] * 3
    assert "gave up after 1 attempt" in errors[0]["message"]
    assert demo_sandbox.api_key not in output.text()


def test_a_state_of_the_wrong_type_is_a_config_error(
    demo_config: dict[str, Any], demo_catalog: dict[str, Any]
) -> None:
    state = {
        "type": "STREAM",
        "stream": {
            "stream_descriptor": {"name": "users"},
            "stream_state": {"data_last_modified": "2024-01-01"},
        },
    }
    output = protocol.run("read", demo_config, catalog=users_catalog(demo_catalog), state=[state])
    (users_error,) = [e for e in output.errors() if e.get("stream_descriptor") == {"name": "users"}]
    assert users_error["failure_type"] == "config_error"
    assert "reset" in users_error["message"]
    assert output.statuses("actions") == ["STARTED", "RUNNING", "COMPLETE"]


def test_the_console_script_prints_only_protocol_messages_and_never_the_key(
    demo_config: dict[str, Any], demo_catalog: dict[str, Any], tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    catalog = tmp_path / "catalog.json"
    config.write_text(json.dumps({**demo_config, "max_concurrency": 2}))
    streams = ["users", "user_list_users", "tracker_code", "summary_actions"]
    catalog.write_text(json.dumps(protocol.configured_catalog(demo_catalog, streams)))
    script = Path(sys.executable).with_name("source-personyze")
    outputs = {}
    for args in (
        ["read", "--config", str(config), "--catalog", str(catalog)],
        ["read", "--debug", "--config", str(config), "--catalog", str(catalog)],
    ):
        done = subprocess.run(
            [str(script), *args], capture_output=True, text=True, timeout=120, check=True
        )
        assert demo_config["api_key"] not in done.stdout + done.stderr
        outputs[" ".join(args[:2])] = [json.loads(line) for line in done.stdout.splitlines()]
    for run, messages in outputs.items():
        # --debug adds the CDK's own {"type": "DEBUG"} lines, which the platform ignores
        allowed = PROTOCOL_TYPES | ({"DEBUG"} if "--debug" in run else set())
        assert {m["type"] for m in messages} <= allowed
    assert any(m["type"] == "RECORD" for m in outputs["read --config"])
