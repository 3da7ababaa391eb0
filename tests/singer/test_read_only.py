"""A read never changes the account (tap-personyze): a sync of every stream selected by default
leaves the sandbox's data byte for byte as it was, with and without state. The one stream that
writes (``recommendations``: every read is a page view) is in the catalog only with
``record_recommendation_page_views``, never selected by default, and read after every other
stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.recommendations import OPT_IN, SMALL, USERS, delivered, products_shown
from tests.sandbox_snapshot import snapshot
from tests.singer.tapruns import config_for, messages_of, tap_cli, write_json

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("demo", seed=31, extra_args=SMALL) as sb:
        yield sb


def record_order(stdout: str) -> list[str]:
    return list(dict.fromkeys(m["stream"] for m in messages_of(stdout).messages if "record" in m))


def discovered(config_path: str) -> dict[str, Any]:
    done = tap_cli("--config", config_path, "--discover")
    assert done.returncode == 0, done.stderr
    catalog: dict[str, Any] = json.loads(done.stdout)
    return catalog


def root_metadata(entry: dict[str, Any]) -> dict[str, Any]:
    (root,) = [m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == []]
    return dict(root)


def test_a_sync_of_every_default_stream_changes_nothing(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    before = snapshot(sandbox.db_path)
    for name, extra in (("plain", {}), ("opted-in", {OPT_IN: True})):
        config = write_json(
            tmp_path / f"{name}.json",
            config_for(sandbox, recommendation_user_ids=USERS, **extra),
        )
        first = tap_cli("--config", config)
        assert first.returncode == 0, first.stderr[-3000:]
        streams = record_order(first.stdout)
        assert len(streams) >= 20 and "recommendations" not in streams
        assert before.changes(snapshot(sandbox.db_path)) == []
        state = write_json(tmp_path / f"{name}-state.json", messages_of(first.stdout).final_state)
        again = tap_cli("--config", config, "--state", state)
        assert again.returncode == 0, again.stderr[-3000:]
        assert before.changes(snapshot(sandbox.db_path)) == []


def test_the_writing_stream_is_offered_only_on_opt_in_and_never_selected_by_default(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    plain = discovered(write_json(tmp_path / "c.json", config_for(sandbox)))
    assert "recommendations" not in {e["stream"] for e in plain["streams"]}
    assert all(root_metadata(e)["selected-by-default"] for e in plain["streams"])
    opted = discovered(write_json(tmp_path / "o.json", config_for(sandbox, **{OPT_IN: True})))
    entries = {e["stream"]: e for e in opted["streams"]}
    assert root_metadata(entries["recommendations"])["selected-by-default"] is False
    assert not root_metadata(entries["recommendations"]).get("selected")


def test_the_opted_in_stream_is_read_last(tmp_path: Path) -> None:
    with running_sandbox("demo", seed=37, extra_args=SMALL) as sb:
        config = write_json(
            tmp_path / "c.json", config_for(sb, recommendation_user_ids=USERS, **{OPT_IN: True})
        )
        catalog = discovered(config)
        for entry in catalog["streams"]:
            root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
            root["metadata"]["selected"] = True
        catalog["streams"].sort(key=lambda e: e["stream"] != "recommendations")
        before = delivered(sb)
        done = tap_cli("--config", config, "--catalog", write_json(tmp_path / "cat.json", catalog))
        assert done.returncode == 0, done.stderr[-3000:]
        order = record_order(done.stdout)
        assert order[-1] == "recommendations" and len(order) >= 20
        shown = products_shown(messages_of(done.stdout).records("recommendations"))
        assert set(shown) == set(USERS)
        assert delivered(sb) - before == shown
