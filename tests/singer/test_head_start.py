"""``tap_personyze.head_start``: the first stream of a sync starts while singer-sdk imports, and
the stream takes that read over: every row once, no request twice; nothing is started for a
resumed stream, a stream that is not a plain table read, or a command line that is not a plain
sync."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox
from tap_personyze import TapPersonyze, head_start
from tests.head_starts import SPECS, Takes, core_alone, lines, logged_sandbox, users_in
from tests.singer.tapruns import TAP, config_for, selected_catalog

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSandbox, Path]]:
    yield from logged_sandbox(tmp_path_factory.mktemp("tap-head-start"))


def files(tmp: Path, config: dict[str, Any], streams: set[str], state: Any = None) -> list[str]:
    """The command line of a sync of ``streams``, its files written to ``tmp``."""
    catalog = selected_catalog(
        TapPersonyze(config=config, parse_env_config=False).catalog_dict, streams
    )
    (tmp / "config.json").write_text(json.dumps(config))
    (tmp / "catalog.json").write_text(json.dumps(catalog))
    args = ["--config", str(tmp / "config.json"), "--catalog", str(tmp / "catalog.json")]
    if state is not None:
        (tmp / "state.json").write_text(json.dumps(state))
        args += ["--state", str(tmp / "state.json")]
    return args


def sync_in_process(args: list[str]) -> list[dict[str, Any]]:
    """What the console script does, in this process: the head start, then singer-sdk's CLI."""
    out = io.StringIO()
    head_start.begin(args, SPECS)
    try:
        with redirect_stdout(out):
            TapPersonyze.cli(args, standalone_mode=False)
    finally:
        head_start.drop()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def sent_ahead(args: list[str], log: Path) -> int:
    """Requests a head start of ``args`` sends before it is dropped unused."""
    before = lines(log)
    head_start.begin(args, SPECS)
    head_start.drop()
    return lines(log) - before


def records(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def test_the_first_stream_takes_its_head_start_over_and_sends_no_request_twice(
    sandbox: tuple[RunningSandbox, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, log = sandbox
    config = config_for(sb, max_concurrency=8)
    args = files(tmp_path, config, {"users", "articles"})
    takes = Takes(monkeypatch, head_start)
    before = lines(log)
    messages = sync_in_process(args)
    sent = lines(log) - before
    # the first stream the tap reads was started ahead and taken over; the next reads as usual
    assert [taken for _, taken in takes.got] == [True, False]
    assert {name for name, _ in takes.got} == {"users", "articles"}
    assert sorted(r["user_id"] for r in records(messages, "users")) == users_in(sb)
    users_rows, users_requests = core_alone(config, "users", log)
    assert users_rows == len(users_in(sb))
    articles_rows, articles_requests = core_alone(config, "articles", log)
    assert len(records(messages, "articles")) == articles_rows > 0
    assert sent == users_requests + articles_requests


def test_the_console_script_reads_every_row_once_with_the_requests_of_the_core_alone(
    sandbox: tuple[RunningSandbox, Path], tmp_path: Path
) -> None:
    """The real thing: singer-sdk imports while the head start's requests are in flight."""
    sb, log = sandbox
    config = config_for(sb, max_concurrency=8)
    args = files(tmp_path, config, {"users"})
    before = lines(log)
    done = subprocess.run([TAP, *args], capture_output=True, text=True, timeout=300, check=True)
    sent = lines(log) - before
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    users = [r["user_id"] for r in records(messages, "users")]
    assert sorted(users) == users_in(sb) and len(set(users)) == len(users)
    assert sent == core_alone(config, "users", log)[1]


def test_a_resumed_stream_is_not_started_ahead(
    sandbox: tuple[RunningSandbox, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, log = sandbox
    config = config_for(sb, max_concurrency=8)
    first = sync_in_process(files(tmp_path, config, {"users"}))
    state = [m["value"] for m in first if m["type"] == "STATE"][-1]
    assert state["bookmarks"]["users"].get("replication_key_value")
    args = files(tmp_path, config, {"users"}, state)
    assert sent_ahead(args, log) == 0
    before = lines(log)
    takes = Takes(monkeypatch, head_start)
    again = sync_in_process(args)
    assert takes.got == [("users", False)]
    assert records(again, "users") == []
    assert lines(log) - before == 2  # the equality read at the bookmark and the page after it


def test_a_first_stream_that_is_no_plain_table_read_is_not_started_ahead(
    sandbox: tuple[RunningSandbox, Path], tmp_path: Path
) -> None:
    sb, log = sandbox
    config = config_for(sb, max_concurrency=8)
    # user_list_users is read per list (a child object): the tap reads it as usual
    assert sent_ahead(files(tmp_path, config, {"user_list_users"}), log) == 0


@pytest.mark.parametrize(
    ("args", "found"),
    [
        (["--config", "c", "--catalog", "k"], {"--config": "c", "--catalog": "k"}),
        (
            ["--catalog", "k", "--config", "c", "--state", "s"],
            {"--config": "c", "--catalog": "k", "--state": "s"},
        ),
        (["--config", "c"], None),
        (["--config", "c", "--discover"], None),
        (["--about"], None),
        (["--config", "ENV", "--catalog", "k"], None),
        (["--config", "c", "--config", "d", "--catalog", "k"], None),
        (["--config", "c", "--catalog", "k", "--test"], None),
    ],
)  # fmt: skip
def test_only_a_plain_sync_is_started_ahead(args: list[str], found: dict[str, str] | None) -> None:
    assert head_start._files(args) == found


def entry(root: dict[str, Any] | None) -> dict[str, Any]:
    metadata = [] if root is None else [{"breadcrumb": [], "metadata": root}]
    return {"tap_stream_id": "users", "metadata": metadata}


def test_a_stream_is_selected_as_singer_sdk_selects_it() -> None:
    selected = head_start._selected
    assert selected(entry({"selected": True}))
    assert not selected(entry({"selected": False, "selected-by-default": True}))
    assert selected(entry({"selected-by-default": True}))
    assert not selected(entry({"inclusion": "unsupported", "selected": True}))
    assert selected(entry({"inclusion": "automatic", "selected": False}))
    assert not selected(entry({}))
    assert selected(entry(None))  # no metadata at all
