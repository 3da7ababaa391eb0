"""``source_personyze.head_start`` (over ``connectors.read.head_start``): the first stream of a
read starts while the CDK imports, and the stream takes that read over: every row once, no
request twice, and nothing started for a run the CDK refuses or a stream that is not a plain
table read."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.read import head_start as core_head_start
from personyze_sandbox.process import RunningSandbox
from source_personyze import head_start
from tests.airbyte import protocol
from tests.airbyte.conftest import sandbox_config
from tests.head_starts import Takes, core_alone, lines, logged_sandbox, users_in

pytestmark = pytest.mark.integration

SOURCE = str(Path(sys.executable).with_name("source-personyze"))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSandbox, Path]]:
    yield from logged_sandbox(tmp_path_factory.mktemp("head-start"))


def catalog_of(config: dict[str, Any], *names: str) -> dict[str, Any]:
    """The configured catalog of ``names``, in that order."""
    catalog = protocol.configured_catalog(protocol.run("discover", config).catalog(), names)
    catalog["streams"].sort(key=lambda s: names.index(s["stream"]["name"]))
    return catalog


def test_the_first_stream_takes_its_head_start_over_and_sends_no_request_twice(
    sandbox: tuple[RunningSandbox, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, log = sandbox
    config = sandbox_config(sb, max_concurrency=8)
    catalog = catalog_of(config, "users", "articles")
    takes = Takes(monkeypatch, head_start)
    before = lines(log)
    out = protocol.run("read", config, catalog=catalog)
    sent = lines(log) - before
    assert not out.errors(), out.errors()
    # the first stream read was started ahead and taken over; the next one reads as usual
    assert takes.got == [("users", True), ("articles", False)]
    assert sorted(r["user_id"] for r in out.records("users")) == users_in(sb)
    users_rows, users_requests = core_alone(config, "users", log)
    articles_rows, articles_requests = core_alone(config, "articles", log)
    assert len(out.records("articles")) == articles_rows > 0 and users_rows == len(users_in(sb))
    assert sent == users_requests + articles_requests


def test_a_resumed_sync_takes_the_head_start_over_with_its_state(
    sandbox: tuple[RunningSandbox, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, log = sandbox
    config = sandbox_config(sb, max_concurrency=8)
    catalog = catalog_of(config, "users")
    first = protocol.run("read", config, catalog=catalog)
    takes = Takes(monkeypatch, head_start)
    before = lines(log)
    again = protocol.run("read", config, catalog=catalog, state=protocol.final_states(first))
    assert takes.got == [("users", True)]
    assert again.records("users") == []
    assert lines(log) - before == 2  # the equality read at the bookmark and the page after it


def test_the_console_script_reads_every_row_once_with_the_requests_of_the_core_alone(
    sandbox: tuple[RunningSandbox, Path], tmp_path: Path
) -> None:
    """The real thing: the CDK imports while the head start's requests are in flight."""
    sb, log = sandbox
    config = sandbox_config(sb, max_concurrency=8)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog_of(config, "users")))
    before = lines(log)
    done = subprocess.run(
        [SOURCE, "read", "--config", str(tmp_path / "config.json"), "--catalog",
         str(tmp_path / "catalog.json")],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    sent = lines(log) - before
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    users = [m["record"]["data"]["user_id"] for m in messages if m["type"] == "RECORD"]
    assert sorted(users) == users_in(sb) and len(set(users)) == len(users)
    assert sent == core_alone(config, "users", log)[1]


def test_a_selection_the_source_refuses_sends_no_request(
    sandbox: tuple[RunningSandbox, Path],
) -> None:
    sb, log = sandbox
    config = sandbox_config(sb, max_concurrency=8)
    catalog = catalog_of(config, "users")
    refused = json.loads(json.dumps(catalog["streams"][0]))
    refused["stream"]["name"] = "recommendations"  # writes to the account: not opted in
    catalog["streams"].append(refused)
    before = lines(log)
    out = protocol.run("read", config, catalog=catalog)
    assert out.errors() and "recommendations" in out.errors()[0]["message"]
    assert lines(log) == before


def test_a_catalog_the_cdk_refuses_after_the_head_start_began_stops_it(
    sandbox: tuple[RunningSandbox, Path],
) -> None:
    """The head start reads stream names only; the CDK finds the rest of the catalog wrong.
    The run ends with the CDK's error and leaves no read behind."""
    sb, _ = sandbox
    config = sandbox_config(sb, max_concurrency=8)
    out = protocol.run("read", config, catalog={"streams": [{"stream": {"name": "users"}}]})
    assert out.raised and "catalog" in out.errors()[0]["message"]
    assert not out.records()
    running = [t.name for t in threading.enumerate() if t.name.startswith("personyze-")]
    assert running == []


@pytest.mark.parametrize(
    ("args", "files"),
    [
        (["read", "--config", "c", "--catalog", "k"], {"--config": "c", "--catalog": "k"}),
        (
            ["read", "--catalog", "k", "--config", "c", "--state", "s"],
            {"--config": "c", "--catalog": "k", "--state": "s"},
        ),
        (["read", "--config", "c"], None),
        (["read", "--config", "c", "--catalog", "k", "--debug"], None),
        (["read", "--config", "c", "--catalog", "k", "--limit", "3"], None),
        (["discover", "--config", "c"], None),
        (["read", "--config", "c", "--config", "d", "--catalog", "k"], None),
    ],
)  # fmt: skip
def test_only_a_plain_read_is_started_ahead(args: list[str], files: dict[str, str] | None) -> None:
    assert head_start._files(args) == files


def stream_message(name: str, value: Any, **descriptor: Any) -> dict[str, Any]:
    return {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": name, **descriptor}, "stream_state": value},
    }


def test_the_state_is_read_as_the_cdk_hands_it_to_the_stream() -> None:
    read = head_start._stream_state
    assert read([], "users") == {}
    assert read([stream_message("users", {"data_last_modified": 5})], "users") == {
        "data_last_modified": 5
    }
    assert read([stream_message("events", {"time": 5})], "users") == {}
    assert read([stream_message("users", {"__ab_no_cursor_state_message": True})], "users") == {}
    assert read([stream_message("users", {"x": 1}, namespace="other")], "users") == {}
    # kinds it does not read: no head start, the CDK reads them
    assert read([{"type": "GLOBAL", "global": {}}], "users") is None
    assert read([{"type": "LEGACY", "data": {}}], "users") is None
    assert read([stream_message("users", [1])], "users") is None


def test_a_dropped_head_start_waiting_for_an_answer_closes_its_read_when_it_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The end of a run does not wait out a request in flight (a stalled network, retries):
    the thread that waits for it closes the read and the client once it is answered."""
    monkeypatch.setattr(core_head_start, "DROP_WAIT", 0.1)
    answered = threading.Event()
    closed: list[str] = []

    def items() -> Iterator[dict[str, Any]]:
        try:
            answered.wait(30)  # its first request
            yield {"n": 1}
        finally:
            closed.append("read")

    class Client:
        def close(self) -> None:
            closed.append("client")

    started = head_start.HeadStart("users", {}, None, Client(), items())  # type: ignore[arg-type]
    started.drop()
    assert closed == []  # still waiting for its answer
    answered.set()
    started._thread.join(10)
    assert closed == ["read", "client"]
