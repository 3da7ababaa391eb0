"""`personyze-recommend` end to end: a subprocess against the sandbox, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.api.client import PersonyzeClient
from connectors.api.query import Query, all_of, cond
from connectors.settings import ConnectionSettings
from personyze_sandbox.process import RunningSandbox, new_api_key, running_sandbox

pytestmark = pytest.mark.integration

USER = 3_100_001


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("demo", seed=7) as sb:
        yield sb


def run(
    sb: RunningSandbox, *args: str, tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("PERSONYZE_")
    }  # nothing leaks in
    environ = {
        **base,
        "PERSONYZE_API_KEY": sb.api_key,
        "PERSONYZE_BASE_URL": sb.base_url,
        "PERSONYZE_TRACKER_USER_ID": str(USER),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        **(env or {}),
    }
    cmd = [sys.executable, "-m", "connectors.tracker.cli", *args]
    return subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=60)


def actions_of(stdout: str) -> dict[int, list[Any]]:
    out = {}
    for line in stdout.splitlines():
        head, _, payload = line.partition(": ")
        assert head.startswith("Action "), line
        out[int(head.split()[1])] = json.loads(payload)
    return out


def test_interactions_recommendations_and_the_session_file(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    first = run(sandbox, "--viewed", "SKU-00012", "--viewed", "SKU-00013", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    shown = actions_of(first.stdout)
    assert {1, 2} <= set(shown)
    assert [i["internal_id"] for i in shown[2]] == ["SKU-00013", "SKU-00012"]
    session_file = tmp_path / "cache" / "personyze-recommend" / f"session-{USER}"
    session = session_file.read_text()
    assert int(session.split()[0]) > 0
    assert session_file.stat().st_mode & 0o077 == 0

    picked = shown[1][0]["internal_id"]
    second = run(sandbox, "--purchased", picked, "--action", "1", tmp_path=tmp_path)
    assert second.returncode == 0, second.stderr
    assert picked not in [i["internal_id"] for i in actions_of(second.stdout)[1]]
    assert session_file.read_text() == session  # reused, not replaced

    settings = ConnectionSettings.from_config(
        {"api_key": sandbox.api_key, "base_url": sandbox.base_url}
    )
    with PersonyzeClient(settings) as client:
        rows = client.get(
            Query(
                "products_interactions",
                where=all_of(cond("user_id", "=", USER), cond("status", "=", "goal")),
            )
        )
    assert [(r["product_internal_id"], r["action_id"]) for r in rows] == [(picked, 1)]


def test_json_output_and_an_explicit_session_file(sandbox: RunningSandbox, tmp_path: Path) -> None:
    path = tmp_path / "my-session"
    result = run(
        sandbox, "--cart", "SKU-00030", "--purchased-all", "--json",
        "--session-file", str(path), "--user-id", "3100002", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["session_id"] == path.read_text()
    assert {a["id"] for a in answer["actions"]} >= {1}
    assert all(isinstance(a["items"], list) and a["name"] for a in answer["actions"])


def test_the_key_comes_from_the_environment_or_a_file(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    missing = run(
        sandbox, "--viewed", "SKU-00001", tmp_path=tmp_path, env={"PERSONYZE_API_KEY": ""}
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "personyze-recommend: no API key: set PERSONYZE_API_KEY or use --api-key-file"
    )
    on_the_command_line = run(sandbox, "--api-key", sandbox.api_key, tmp_path=tmp_path)
    assert on_the_command_line.returncode == 2
    assert sandbox.api_key not in on_the_command_line.stderr
    assert "not taken from the command line" in on_the_command_line.stderr
    key_file = tmp_path / "key"
    key_file.write_text(sandbox.api_key + "\n")
    from_file = run(
        sandbox, "--api-key-file", str(key_file), tmp_path=tmp_path, env={"PERSONYZE_API_KEY": ""}
    )
    assert from_file.returncode == 0, from_file.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--viewed", "NOPE"], {}, "Command 1: products row not found by internal_id=NOPE"),
        ([], {"PERSONYZE_API_KEY": new_api_key()}, "HTTP 401"),
        ([], {"PERSONYZE_TRACKER_USER_ID": "12x"}, "is not a tracker user id"),
        ([], {"PERSONYZE_BASE_URL": "http://example.com/rest"}, "base_url"),
        (["--api-key-file", "/nonexistent/key"], {}, "cannot read the file given to --api-"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    sandbox: RunningSandbox, tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = run(sandbox, *args, tmp_path=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("personyze-recommend: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert env.get("PERSONYZE_API_KEY", sandbox.api_key) not in result.stderr


def test_a_key_given_as_the_key_file_is_never_echoed(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # the key pasted where the path of the file holding it belongs
    result = run(
        sandbox,
        "--api-key-file",
        sandbox.api_key,
        tmp_path=tmp_path,
        env={"PERSONYZE_API_KEY": ""},
    )
    assert result.returncode == 1
    assert sandbox.api_key not in result.stderr + result.stdout
    assert "cannot read the file given to --api-key-file" in result.stderr


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "personyze-recommend"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "--purchased-all" in result.stdout and "--api-key-file" in result.stdout
