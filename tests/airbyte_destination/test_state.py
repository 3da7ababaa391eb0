"""State is echoed only after every record before it was accepted, checked by reading the
sandbox back at the moment each STATE comes out; a run killed or failing mid-batch echoes no
state for the records it had not written; failures are trace messages of the right type."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.airbyte_destination import protocol as p
from tests.airbyte_destination.conftest import BAD_KEY, sandbox_config

pytestmark = pytest.mark.integration

# Nothing is written before a STATE asks for it: batches never fill and never age out.
HOLD = {"batch_size_rows": 10_000, "max_batch_age_seconds": 3600}


def emails(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}@example.com" for i in range(n)]


def interleaved() -> tuple[list[p.Message], list[list[str]]]:
    """Users and catalog rows in three chunks, each followed by a STATE; the emails and SKUs
    each state covers."""
    messages: list[p.Message] = []
    covered: list[list[str]] = []
    seen: list[str] = []
    for chunk in range(3):
        for i, email in enumerate(emails(f"chunk{chunk}-", 4)):
            messages.append(
                p.record("users", {"email": email, "first_name": f"C{chunk}"}, cached=True)
            )
            sku = f"ST-{chunk}-{i}"
            messages.append(p.record("products", {"internal_id": sku, "title": email}))
            seen += [email, sku]
        messages.append(p.state("users", chunk))
        covered.append(list(seen))
    return messages, covered


def present(sb: RunningSandbox, keys: list[str]) -> set[str]:
    users = p.users_by_email(sb, [k for k in keys if "@" in k])
    products = p.products_by_id(sb, [k for k in keys if "@" not in k])
    return set(users) | set(products)


def test_each_state_comes_out_after_the_records_before_it_are_in_personyze(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sb = writable_sandbox
    messages, covered = interleaved()
    config = sandbox_config(sb, tmp_path, **HOLD)
    everything = covered[-1]
    states = 0
    for out in p.write_steps(config, p.plain_catalog("users", "products"), messages):
        if out["type"] != "STATE":
            continue
        position = out["state"]["stream"]["stream_state"]["position"]
        assert position == states
        before = covered[position]
        in_personyze = present(sb, everything)
        assert set(before) <= in_personyze  # every record before the state is in
        assert not (set(everything) - set(before)) & in_personyze  # none after it yet
        # the state counts the records of its stream since the previous state
        assert out["state"]["destinationStats"]["recordCount"] == 4
        states += 1
    assert states == 3
    users = p.users_by_email(sb, [e for e in everything if "@" in e])
    assert not any(k.startswith("_airbyte") for u in users.values() for k in u)


def test_states_reach_stdout_at_once_and_a_kill_echoes_none_for_pending_records(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sb = writable_sandbox
    config, catalog = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_text(json.dumps(sandbox_config(sb, tmp_path, **HOLD)))
    catalog.write_text(json.dumps(p.plain_catalog("users")))
    first, pending = emails("flushed", 5), emails("pending", 5)
    proc = subprocess.Popen(
        [str(p.EXECUTABLE), "write", "--config", str(config), "--catalog", str(catalog)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        send(proc, [p.record("users", {"email": e}) for e in first] + [p.state("users", 1)])
        lines = read_until_state(proc, timeout=60)
        assert [m["state"]["stream"]["stream_state"] for m in lines if m["type"] == "STATE"] == [
            {"position": 1}
        ]
        assert set(p.users_by_email(sb, first)) == set(first)  # in before the state came out
        # records with no state after them: buffered, then the process dies
        send(proc, [p.record("users", {"email": e}) for e in pending])
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    after = [json.loads(line) for line in rest.decode().splitlines()]
    assert not [m for m in after if m["type"] == "STATE"]
    assert p.users_by_email(sb, pending) == {}


def send(proc: subprocess.Popen[bytes], messages: list[p.Message]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages).encode())
    proc.stdin.flush()


def read_until_state(proc: subprocess.Popen[bytes], timeout: float) -> list[p.Message]:
    """stdout lines up to and including the first STATE (stdin stays open: no end of input)."""
    assert proc.stdout is not None
    lines: list[p.Message] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            continue
        line = proc.stdout.readline()
        assert line, "stdout closed before a STATE"
        lines.append(json.loads(line))
        if lines[-1]["type"] == "STATE":
            return lines
    raise AssertionError(f"no STATE within {timeout} s: {lines}")


def test_an_engine_failure_mid_run_echoes_no_state_for_unwritten_records(
    tmp_path: Path,
) -> None:
    with running_sandbox("demo", scale=1, seed=11) as sb:
        config = sandbox_config(sb, tmp_path, max_retries=0, **HOLD)
        messages = [p.record("users", {"email": e}) for e in emails("before", 3)]
        messages += [p.state("users", 1)]
        messages += [p.record("users", {"email": e}) for e in emails("after", 3)]
        messages += [p.state("users", 2)]
        steps = p.write_steps(config, p.plain_catalog("users"), messages)
        out = [next(steps)]
        while out[-1]["type"] != "STATE":
            out.append(next(steps))
        os.kill(sb.pid, signal.SIGTERM)  # Personyze goes away before the second batch
        time.sleep(0.5)
        with pytest.raises(Exception) as failure:
            out.extend(steps)
    states = [m for m in out if m["type"] == "STATE"]
    assert [s["state"]["stream"]["stream_state"]["position"] for s in states] == [1]
    assert failure.value.failure_type.value == "system_error"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("config_extra", "configured", "expected"),
    [
        ({"api_key": BAD_KEY}, p.plain_catalog("users"), "api_key"),
        ({"streams": {"users": {"mode": "mirror"}}}, p.plain_catalog("users"), "'mode'"),
        (
            {},
            p.catalog(p.configured_stream("c", object_name="users", sync_mode="overwrite")),
            "destination sync mode 'overwrite'",
        ),
        ({}, p.catalog(p.configured_stream("c", object_name="nothing")), "'nothing'"),
        (
            {},
            p.catalog(
                p.configured_stream(
                    "c",
                    object_name="users",
                    sync_mode="append_dedup",
                    primary_key=[["email"], ["user_id"]],
                )
            ),
            "must be one top-level column",
        ),
        (
            {},
            p.catalog(
                p.configured_stream(
                    "c", object_name="users", sync_mode="append_dedup", primary_key=[["phone"]]
                )
            ),
            "'match_key' 'phone'",
        ),
    ],
    ids=[
        "bad-key",
        "bad-mode-in-config",
        "bad-sync-mode",
        "bad-object",
        "composite-key",
        "bad-matching-key",
    ],
)
def test_user_errors_are_config_errors_and_echo_no_state(
    writable_sandbox: RunningSandbox,
    tmp_path: Path,
    config_extra: dict[str, Any],
    configured: dict[str, Any],
    expected: str,
) -> None:
    config = sandbox_config(writable_sandbox, tmp_path, **config_extra)
    stream = configured["streams"][0]["stream"]["name"]
    messages = [p.record(stream, {"email": "someone@example.com"}), p.state(stream, 1)]
    out = p.write(config, configured, messages)
    (error,) = out.errors()
    assert error["failure_type"] == "config_error", error
    assert expected in error["message"], error["message"]
    assert out.states() == []
    assert writable_sandbox.api_key not in out.text() and BAD_KEY not in out.text()


def test_the_console_script_prints_only_protocol_messages_and_never_the_key(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sb = writable_sandbox
    config = sandbox_config(sb, tmp_path)
    messages = [
        p.record("users", {"email": "cli@example.com", "first_name": "Cli"}, cached=True),
        p.record("users", {"email": "not-an-email"}),
        p.state("users", 7),
    ]
    out = p.cli("write", config, configured=p.plain_catalog("users"), messages=messages)
    assert out.returncode == 0, out.text()
    assert [m["type"] for m in out.messages if m["type"] != "LOG"] == ["STATE"]
    assert any("Personyze write summary" in log for log in out.logs())
    # a plain (not data-activation) stream: its sync mode is not used, and the log says so
    assert any("'append' applies only with a destination object" in x for x in out.logs())
    assert sb.api_key not in out.text()
    assert p.users_by_email(sb, ["cli@example.com"])["cli@example.com"]["first_name"] == "Cli"
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [r["key"] for r in rejects] == ["not-an-email"]

    # a bad key: a config_error trace on stdout, exit code 1, no state, no key
    out = p.cli(
        "write",
        {**config, "api_key": BAD_KEY},
        configured=p.plain_catalog("users"),
        messages=messages,
    )
    assert out.returncode == 1
    assert [e["failure_type"] for e in out.errors()] == ["config_error"]
    assert out.states() == [] and BAD_KEY not in out.text()


def test_a_dry_run_prints_the_plan_to_stderr_and_sends_nothing(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sb = writable_sandbox
    config = sandbox_config(sb, tmp_path, dry_run=True)
    messages = [p.record("users", {"email": "dry@example.com"}), p.state("users", 1)]
    out = p.cli("write", config, configured=p.plain_catalog("users"), messages=messages)
    assert out.returncode == 0, out.text()
    assert "POST do" in out.stderr and sb.api_key not in out.stderr
    assert out.states() and p.users_by_email(sb, ["dry@example.com"]) == {}
