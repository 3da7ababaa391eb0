"""Bad input to source-personyze, table-driven: configs, states and catalogs that a user can get
wrong (the cases of ``input_cases.py``, which the tap gets too, and the source's own). Each case
asserts the error TRACE (its message names the file or setting or stream, what is wrong and what to
do; a config error, so the platform does not retry it), that no traceback and no key is shown, and,
for a problem of one stream, that the other stream of the catalog still synced. Runs go through the
entry point in-process, as ``source-personyze`` does (its start-up takes seconds on a loaded
machine); a few cases also run the installed executable."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from personyze_sandbox.process import RunningSandbox
from source_personyze import SourcePersonyze
from source_personyze.messages import user_error_lines
from tests.airbyte import protocol
from tests.airbyte.conftest import sandbox_config
from tests.corpus.input_cases import (
    MISSING,
    MS,
    SHARED,
    Bookmark,
    Case,
    Config,
    Raw,
    Selecting,
)

pytestmark = pytest.mark.integration

SOURCE = str(Path(sys.executable).with_name("source-personyze"))
STREAMS = ["users", "actions"]  # the good catalog: one stream to break, one to sync


def stream_state(stream: str, value: Any, kind: str = "STREAM") -> dict[str, Any]:
    return {
        "type": kind,
        "stream": {"stream_descriptor": {"name": stream}, "stream_state": value},
    }


def add_stream(name: str, **changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(catalog: dict[str, Any]) -> dict[str, Any]:
        entry = {
            "stream": {
                "name": name,
                "json_schema": {"type": "object"},
                "supported_sync_modes": ["full_refresh"],
            },
            "sync_mode": "full_refresh",
            "destination_sync_mode": "append",
            **changes,
        }
        return {"streams": [*catalog["streams"], entry]}

    return change


OWN = [  # the cases of the source alone (SHARED: of the source and the tap)
    # --config
    Case("config-not-json", "is not valid JSON (Expecting value", config=lambda c: Raw("key=1")),
    Case("config-empty", "is empty; give a JSON object of settings", config=lambda c: Raw("")),
    Case("config-no-key", "api_key: is required", config=lambda c: {**c, "api_key": ""}),
    Case("config-write-setting", "rejects_path: is a setting of the writers",
         config=lambda c: {**c, "rejects_path": "r.jsonl"}),
    Case("config-start-date-ms", "start_date: 1704067200000 is too large for unix seconds",
         config=lambda c: {**c, "start_date": str(MS)}),
    Case("config-credentials-in-url", "base_url: must not contain credentials",
         config=lambda c: {**c, "base_url": "https://api:KEY@app.personyze.com/rest"}),
    Case("config-concurrency", "max_concurrency: 0 is out of range; use a value from 1 to 32",
         config=lambda c: {**c, "max_concurrency": 0}),
    Case("config-timeout-text", "request_timeout: 'soon' is not a number",
         config=lambda c: {**c, "request_timeout": "soon"}),
    Case("config-user-ids", "recommendation_user_ids: 4294967296 is not a tracker user id",
         config=lambda c: {**c, "recommendation_user_ids": [4294967296]}),
    # --catalog
    Case("catalog-not-json", "is not valid JSON", catalog=lambda c: Raw("{streams")),
    Case("catalog-no-streams", "is not a configured Airbyte catalog (\"streams\" is a required",
         catalog=lambda c: {"stream": c["streams"]}),
    Case("catalog-bad-sync-mode", "\"sometimes\" is not one of [\"full_refresh\", \"incremental\"]",
         catalog=add_stream("actions", sync_mode="sometimes")),
    Case("catalog-unknown-stream",
         "catalog: stream 'user_list' is not a Personyze stream (did you mean 'user_lists'?). "
         "Fix the catalog or discover it again; the streams are: actions, articles,",
         catalog=add_stream("user_list")),
    # --state
    Case("state-not-json", "is not valid JSON", state=Raw("[{")),
    Case("state-legacy-object", "holds a JSON object, not an array",
         state={"users": {"data_last_modified": 1}}),
    Case("state-not-a-message", "message 1 is not an Airbyte state message", state=["users"]),
    Case("state-empty-message", "message 1 holds no stream state", state=[{"type": "STREAM"}]),
    Case("state-global-shared", "message 1 is a GLOBAL state with a shared_state",
         state=[{"type": "GLOBAL", "global": {"shared_state": {"a": 1}, "stream_states": []}}]),
]  # fmt: skip

CASES = [*SHARED, *OWN]


@pytest.fixture(scope="module")
def good(demo_sandbox: RunningSandbox) -> tuple[Config, dict[str, Any]]:
    config = sandbox_config(demo_sandbox, max_retries=1)
    discovered = protocol.run("discover", config).catalog()
    return config, protocol.configured_catalog(discovered, STREAMS)


def write(path: Path, content: Any) -> str:
    if content is MISSING:
        return str(path.with_name("nonexistent-" + path.name))
    path.write_text(content if isinstance(content, Raw) else json.dumps(content))
    return str(path)


def arguments(case: Case, good: tuple[Config, dict[str, Any]], tmp: Path) -> list[str]:
    config, catalog = good
    if isinstance(case.catalog, Selecting):
        chosen = add_stream(case.catalog.name)(catalog)
    else:
        chosen = case.catalog(catalog) if case.catalog is not None else catalog
    state = case.state
    if isinstance(state, Bookmark):
        state = [stream_state(state.stream, {state.key: state.value})]
    args = ["read", "--config", write(tmp / "config.json", case.config(dict(config)))]
    args += ["--catalog", write(tmp / "catalog.json", chosen)]
    if state is not None:
        args += ["--state", write(tmp / "state.json", state)]
    return args


def run_in_process(args: list[str]) -> tuple[list[dict[str, Any]], bool]:
    """The messages ``source-personyze`` prints, and whether it failed (exit 1)."""
    entrypoint = AirbyteEntrypoint(SourcePersonyze())
    lines: list[str] = []
    try:
        lines.extend(entrypoint.run(entrypoint.parse_args(args)))
    except AirbyteTracedException as exc:  # what source_personyze.run does with it
        assert exc.failure_type == FailureType.config_error, exc
        lines.extend(user_error_lines(exc))
        return [json.loads(line) for line in lines], True
    return [json.loads(line) for line in lines], False


def errors_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    traces = [m["trace"] for m in messages if m["type"] == "TRACE"]
    return [t["error"] for t in traces if t["type"] == "ERROR"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_named_with_what_to_do(
    case: Case, good: tuple[Config, dict[str, Any]], tmp_path: Path, demo_sandbox: RunningSandbox
) -> None:
    messages, failed = run_in_process(arguments(case, good, tmp_path))
    assert failed
    errors = errors_of(messages)
    expected = case.expected_of("source")
    assert any(expected in e["message"] for e in errors), [e["message"] for e in errors]
    assert all(e["failure_type"] == "config_error" for e in errors), errors
    assert all("Traceback" not in e["message"] for e in errors)
    assert demo_sandbox.api_key not in json.dumps(messages)
    records = {m["record"]["stream"] for m in messages if m["type"] == "RECORD"}
    if case.per_stream:
        assert records == {"actions"}, "the other stream of the catalog did not sync"
        (failed_stream,) = [e for e in errors if e.get("stream_descriptor")]
        assert failed_stream["stream_descriptor"]["name"] == "users"
    else:
        assert records == set()


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.id in {"config-timeout-text", "catalog-unknown-stream",
                                 "state-legacy-object", "state-milliseconds"}],
    ids=lambda c: c.id,
)  # fmt: skip
def test_the_executable_reports_it_without_a_traceback(
    case: Case, good: tuple[Config, dict[str, Any]], tmp_path: Path, demo_sandbox: RunningSandbox
) -> None:
    done = subprocess.run(
        [SOURCE, *arguments(case, good, tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    assert any(case.expected_of("source") in e["message"] for e in errors_of(messages))
    logs = [m["log"]["message"] for m in messages if m["type"] == "LOG"]
    assert not [line for line in logs if "Traceback" in line]
    assert "Traceback" not in done.stderr
    assert demo_sandbox.api_key not in done.stdout + done.stderr
