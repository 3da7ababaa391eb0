"""A stream that fails for good never stops the streams after it: each failed stream gets its
own error trace naming it and the cause, every other stream completes with exactly the
sandbox's rows and its state, and the run ends with the CDK's error listing the failed streams
(a non-zero exit, so the platform marks the attempt failed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.airbyte import protocol
from tests.airbyte.rows import projected, sqlite_rows
from tests.failing_proxy import TRACKER_REFUSAL, failing_proxy
from tests.recommendations import SMALL, opted_in_config

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("demo", seed=47, extra_args=SMALL) as sb:
        yield sb


BROKEN = "Internal server error"


def names(catalog: dict[str, Any]) -> list[str]:
    return [s["name"] for s in catalog["streams"]]


def assert_only_failed(output: protocol.Output, catalog: dict[str, Any], failed: str) -> None:
    assert output.raised
    errors = output.errors()
    per_stream = [e for e in errors if e.get("stream_descriptor")]
    assert [e["stream_descriptor"]["name"] for e in per_stream] == [failed]
    assert failed in errors[-1]["message"]
    for name in names(catalog):
        if name != failed:
            assert output.statuses(name)[-1] == "COMPLETE", name
            assert output.states(name), f"{name}: no STATE"


def test_a_refused_writing_stream_fails_alone(sandbox: RunningSandbox) -> None:
    with failing_proxy(sandbox.base_url, {"tracker-v1": (500, TRACKER_REFUSAL)}) as proxy:
        config = opted_in_config(sandbox, proxy)
        discovered = protocol.run("discover", config).catalog()
        discovered["streams"].sort(key=lambda s: s["name"] != "recommendations")
        catalog = protocol.configured_catalog(discovered)
        output = protocol.run("read", config, catalog=catalog)
    assert_only_failed(output, discovered, "recommendations")
    (error,) = [e for e in output.errors() if e.get("stream_descriptor")]
    assert TRACKER_REFUSAL in error["message"]
    assert projected("users", output.records("users")) == sqlite_rows(sandbox.db_path, "users")


def test_a_stream_that_keeps_failing_does_not_stop_the_streams_after_it(
    sandbox: RunningSandbox,
) -> None:
    config: dict[str, Any] = {"api_key": sandbox.api_key, "max_retries": 1}
    discovered = protocol.run("discover", {**config, "base_url": sandbox.base_url}).catalog()
    catalog = protocol.configured_catalog(discovered)
    with failing_proxy(sandbox.base_url, {"articles": (500, BROKEN)}) as proxy:
        config["base_url"] = proxy
        output = protocol.run("read", config, catalog=catalog)
    assert_only_failed(output, discovered, "articles")
    (error,) = [e for e in output.errors() if e.get("stream_descriptor")]
    assert "articles" in error["message"] and "500" in error["message"]
    for stream in ("users", "products", "user_list_users", "summary_actions"):
        got = projected(stream, output.records(stream))
        assert got == sqlite_rows(sandbox.db_path, stream), stream
