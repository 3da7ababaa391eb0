"""Bad input to tap-personyze, table-driven: configs, states and catalogs that a user can get wrong
(the cases of ``input_cases.py``, which the source gets too, and the tap's own). Each case asserts
the exit code and the ERROR text (naming the file or setting or stream, what is wrong and what to
do), that no traceback and no key is shown, and, for a problem of one stream, that the other
selected stream still synced. The command runs in-process through its click entry point (the
executable's start-up takes seconds on a loaded machine); a few cases also run the installed
executable."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from personyze_sandbox.process import RunningSandbox
from tap_personyze import TapPersonyze
from tests.corpus.input_cases import MISSING, MS, SHARED, Bookmark, Case, Config, Raw, Selecting
from tests.singer.tapruns import config_for, messages_of, selected_catalog, tap_cli

pytestmark = pytest.mark.integration

STREAMS = {"users", "actions"}  # the good catalog's selection: one stream to break, one to sync


def bookmark(stream: str, key: str, value: Any) -> dict[str, Any]:
    return {"bookmarks": {stream: {"replication_key": key, "replication_key_value": value}}}


def with_entry(catalog: dict[str, Any], **entry: Any) -> dict[str, Any]:
    return {"streams": [*catalog["streams"], entry]}


def select(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(catalog: dict[str, Any]) -> dict[str, Any]:
        entries = [e for e in catalog["streams"] if e["tap_stream_id"] != name]
        entry = {
            "tap_stream_id": name,
            "stream": name,
            "schema": {"type": "object", "properties": {}},
            "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
        }
        return {"streams": [*entries, entry]}

    return change


OWN = [  # the cases of the tap alone (SHARED: of the source and the tap)
    # --config
    Case("config-not-json", "is not valid JSON (Expecting value", config=lambda c: Raw("api_key")),
    Case("config-empty", "is empty; give a JSON object of settings", config=lambda c: Raw(" \n")),
    Case("config-no-key", "api_key: is required", config=lambda c: {**c, "api_key": None}),
    Case("config-write-setting", "dry_run: is a setting of the writers",
         config=lambda c: {**c, "dry_run": True}),
    Case("config-start-date-ms", "start_date: 1704067200000 is too large for unix seconds",
         config=lambda c: {**c, "start_date": MS}),
    Case("config-retries", "max_retries: 99 is out of range; use a value from 0 to 20",
         config=lambda c: {**c, "max_retries": 99}),
    Case("config-user-ids", "recommendation_user_ids: 'abc' is not a tracker user id",
         config=lambda c: {**c, "recommendation_user_ids": "12,abc"}),
    Case("config-sdk-setting", "stream_maps: 5 is not of type 'object'",
         config=lambda c: {**c, "stream_maps": 5}),
    # --state
    Case("state-not-json", "state file", state=Raw("{bookmarks")),
    Case("state-empty", "is empty; give the last STATE message's value", state=Raw("")),
    Case("state-array", "holds a JSON array, not an object", state=[1, 2]),
    Case("state-bookmarks-array", "bookmarks holds a JSON array, not an object of streams",
         state={"bookmarks": []}),
    Case("state-stream-not-object", "the bookmark of stream users is a JSON string",
         state={"bookmarks": {"users": "1704067200"}}),
    # --catalog
    Case("catalog-not-json", "catalog file", catalog=lambda c: Raw("streams:")),
    Case("catalog-array", "is not a Singer catalog (an object whose streams is an array)",
         catalog=lambda c: c["streams"]),
    Case("catalog-no-streams", "is not a Singer catalog", catalog=lambda c: {"entries": []}),
    Case("catalog-no-id", "stream entry 3 has no tap_stream_id",
         catalog=lambda c: with_entry(c, stream="users", schema={}, metadata=[])),
    Case("catalog-metadata-object", "stream forms needs metadata as an array",
         catalog=lambda c: with_entry(c, tap_stream_id="forms", schema={}, metadata={})),
    Case("catalog-unknown-stream",
         "catalog: stream 'user' is not a Personyze stream (did you mean 'users'?). Fix the "
         "catalog or discover it again; the streams are: actions, articles,",
         catalog=select("user")),
    Case("catalog-replication-key-override",
         "the catalog sets replication key 'user_id', but this stream can only be read "
         "incrementally by 'data_last_modified'",
         catalog=lambda c: {"streams": [
             {**e, "replication_key": "user_id"} if e["tap_stream_id"] == "users" else e
             for e in c["streams"]]},
         per_stream=True),
]  # fmt: skip

CASES = [*SHARED, *OWN]


@pytest.fixture(scope="module")
def good(demo_sandbox: RunningSandbox) -> tuple[Config, dict[str, Any]]:
    config = config_for(demo_sandbox, max_retries=1)
    discovered = TapPersonyze(config=config, parse_env_config=False).catalog_dict
    catalog = selected_catalog(discovered, STREAMS)
    catalog["streams"] = [e for e in catalog["streams"] if e["tap_stream_id"] in STREAMS]
    return config, catalog


def write(path: Path, content: Any) -> str:
    if content is MISSING:
        return "nonexistent-" + path.name
    path.write_text(content if isinstance(content, Raw) else json.dumps(content))
    return str(path)


def arguments(case: Case, good: tuple[Config, dict[str, Any]], tmp: Path) -> list[str]:
    config, catalog = good
    args = ["--config", write(tmp / "config.json", case.config(dict(config)))]
    state = case.state
    if isinstance(state, Bookmark):
        state = bookmark(state.stream, state.key, state.value)
    if state is not None:
        args += ["--state", write(tmp / "state.json", state)]
    if isinstance(case.catalog, Selecting):
        chosen = select(case.catalog.name)(catalog)
    else:
        chosen = case.catalog(catalog) if case.catalog is not None else catalog
    return [*args, "--catalog", write(tmp / "catalog.json", chosen)]


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {self.format(record)}")


@pytest.fixture
def logs() -> Iterator[Collected]:
    handler = Collected()
    logger = logging.getLogger(TapPersonyze.name)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_named_with_what_to_do(
    case: Case,
    good: tuple[Config, dict[str, Any]],
    tmp_path: Path,
    logs: Collected,
    demo_sandbox: RunningSandbox,
) -> None:
    result = CliRunner().invoke(TapPersonyze.cli, arguments(case, good, tmp_path))
    assert result.exit_code == case.exit_code, (result.exit_code, logs.lines[-5:], result.output)
    errors = [line for line in logs.lines if line.startswith("ERROR ")] + [result.stderr]
    assert any(case.expected_of("tap") in line for line in errors), errors
    text = "\n".join(logs.lines) + result.output
    assert "Traceback" not in text
    assert demo_sandbox.api_key not in text
    synced = messages_of(result.stdout)
    if case.per_stream:
        assert synced.records("actions"), "the other selected stream did not sync"
        assert any("1 of 2 selected streams failed: users" in e for e in errors), errors
    else:
        assert synced.messages == []


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.id in {"config-array", "state-array", "catalog-unknown-stream",
                                 "state-milliseconds"}],
    ids=lambda c: c.id,
)  # fmt: skip
def test_the_executable_reports_it_without_a_traceback(
    case: Case, good: tuple[Config, dict[str, Any]], tmp_path: Path, demo_sandbox: RunningSandbox
) -> None:
    done = tap_cli(*arguments(case, good, tmp_path))
    assert done.returncode == 1
    assert case.expected_of("tap") in done.stderr
    assert "Traceback" not in done.stderr
    assert demo_sandbox.api_key not in done.stderr + done.stdout
