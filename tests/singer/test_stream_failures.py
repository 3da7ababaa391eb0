"""A stream that fails never stops the streams after it (tap-personyze): every other selected
stream syncs and its STATE is emitted, the failed stream gets an ERROR line naming it, the cause
and what to do, and the tap exits 1 after all of them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.failing_proxy import TRACKER_REFUSAL, failing_proxy
from tests.recommendations import OPT_IN, SMALL, opted_in_config
from tests.singer.tapruns import (
    SPECS,
    TapRun,
    config_for,
    keys,
    messages_of,
    reference_rows,
    tap_cli,
    write_json,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("demo", seed=43, extra_args=SMALL) as sb:
        yield sb


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(r"\bERROR\b", line)]


def assert_complete_but(run: TapRun, sb: RunningSandbox, failed: str) -> None:
    streams = {m["stream"] for m in run.messages if m["type"] == "RECORD"}
    tables = {o.name for o in SPECS.readable() if o.kind == "table"} - {failed}
    assert tables <= streams, f"never synced: {sorted(tables - streams)}"
    for name in ("users", "user_list_users", "summary_actions", "products_interactions"):
        spec = SPECS.object(name)
        if spec.primary_key:
            got = sorted(keys(run.records(name), spec.primary_key))
            want = sorted(keys(reference_rows(spec, sb.db_path), spec.primary_key))
            assert got == want, name
        else:
            assert len(run.records(name)) == len(reference_rows(spec, sb.db_path)), name
    bookmarks = run.final_state["bookmarks"]
    assert bookmarks["users"]["replication_key_value"] > 0
    assert bookmarks["summary_actions"]["replication_key_value"] > 0


def catalog_of(sb: RunningSandbox, tmp_path: Path, **extra: Any) -> str:
    config = write_json(tmp_path / "discover.json", config_for(sb, **extra))
    done = tap_cli("--config", config, "--discover")
    assert done.returncode == 0, done.stderr
    catalog = json.loads(done.stdout)
    for entry in catalog["streams"]:
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
        root["metadata"]["selected"] = True
    return write_json(tmp_path / "catalog.json", catalog)


def test_a_bad_bookmark_fails_only_its_stream(sandbox: RunningSandbox, tmp_path: Path) -> None:
    state = {"bookmarks": {"articles": {"replication_key": "data_last_modified",
                                        "replication_key_value": "yesterday"}}}  # fmt: skip
    done = tap_cli(
        "--config",
        write_json(tmp_path / "c.json", config_for(sandbox)),
        "--state",
        write_json(tmp_path / "s.json", state),
    )
    assert done.returncode == 1
    errors = error_lines(done.stderr)
    assert any("articles" in e and "reset" in e for e in errors), errors
    assert "Traceback" not in done.stderr
    assert_complete_but(messages_of(done.stdout), sandbox, "articles")


def test_a_stream_that_keeps_failing_does_not_stop_the_others(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    catalog = catalog_of(sandbox, tmp_path)
    with failing_proxy(sandbox.base_url, {"articles": (500, "Internal server error")}) as url:
        config = {"api_key": sandbox.api_key, "base_url": url, "max_retries": 1}
        done = tap_cli("--config", write_json(tmp_path / "c.json", config), "--catalog", catalog)
    assert done.returncode == 1
    errors = error_lines(done.stderr)
    assert any("articles" in e and "HTTP 500" in e for e in errors), errors
    assert_complete_but(messages_of(done.stdout), sandbox, "articles")


def test_a_refused_writing_stream_fails_alone(sandbox: RunningSandbox, tmp_path: Path) -> None:
    catalog = catalog_of(sandbox, tmp_path, **{OPT_IN: True})
    with failing_proxy(sandbox.base_url, {"tracker-v1": (500, TRACKER_REFUSAL)}) as url:
        config = opted_in_config(sandbox, url)
        done = tap_cli("--config", write_json(tmp_path / "c.json", config), "--catalog", catalog)
    assert done.returncode == 1
    errors = error_lines(done.stderr)
    assert any("recommendations" in e and TRACKER_REFUSAL in e for e in errors), errors
    assert_complete_but(messages_of(done.stdout), sandbox, "recommendations")
