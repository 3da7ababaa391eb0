"""A head start reads ahead while the framework imports when the API is far (its quickest
answer took ``connectors.read.pace.FAR_SECONDS`` or more): the whole read of a small stream is
done before the stream takes it over, and the take-over sends no request."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.api.client import PersonyzeClient
from connectors.read.head_start import AHEAD, HeadStart
from connectors.read.streams import discover
from connectors.read.sync import ReadOptions, StateUpdate, read_stream
from connectors.settings import ConnectionSettings
from personyze_sandbox.process import running_sandbox
from tests.head_starts import SPECS, core_alone, lines, users_in

pytestmark = pytest.mark.integration


def test_a_far_api_is_read_ahead_of_the_take_over(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    args = ("--request-log", str(log), "--rows", "users=3000")
    with running_sandbox("demo", seed=31, latency_ms=30, extra_args=args) as sb:
        config = {"api_key": sb.api_key, "base_url": sb.base_url, "max_concurrency": 8}
        rows, requests = core_alone(config, "users", log)
        assert rows == len(users_in(sb)) < AHEAD
        settings = ConnectionSettings.from_config(config, side="read")
        (stream,) = [d for d in discover(None, SPECS) if d.name == "users"]
        before = lines(log)
        client = PersonyzeClient(settings)
        items = read_stream(client, SPECS, stream, {}, ReadOptions.from_settings(settings))
        started = HeadStart("users", {}, settings, client, items)
        deadline = time.monotonic() + 30
        while lines(log) - before < requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        ahead = lines(log) - before
        got = [i["user_id"] for i in started.take() if not isinstance(i, StateUpdate)]
        client.close()
        assert ahead == requests == lines(log) - before
        assert sorted(got) == users_in(sb)
