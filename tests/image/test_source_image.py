"""source-personyze as its image, against the demo sandbox on the host: the spec is the working
tree's, and a first sync of every stream reads exactly the rows the sandbox holds; the next
sync, given the states through the read-only mount, starts at each bookmark."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import yaml

from connectors.spec import default_specs
from personyze_sandbox.process import RunningSandbox
from source_personyze.spec import connection_specification
from tests.airbyte import protocol
from tests.airbyte.conftest import sandbox_config
from tests.airbyte.rows import projected, sqlite_rows, sqlite_tables
from tests.image.docker_run import METADATA, Run, image_of, require_image, run_image

pytestmark = [pytest.mark.image_tests, pytest.mark.integration]

CONNECTOR = "source-personyze"


@pytest.fixture(scope="module")
def image() -> str:
    return require_image(image_of(CONNECTOR))


@pytest.fixture(scope="module")
def config(demo_sandbox: RunningSandbox) -> dict[str, Any]:
    return sandbox_config(demo_sandbox)


@pytest.fixture(scope="module")
def discovered(image: str, config: dict[str, Any]) -> dict[str, Any]:
    run = run_image(image, "discover", config=config)
    assert run.returncode == 0, run.text()
    (catalog,) = run.of_type("CATALOG")
    return dict(catalog["catalog"])


@pytest.fixture(scope="module")
def first_sync(image: str, config: dict[str, Any], discovered: dict[str, Any]) -> Run:
    """Every stream, incremental where it can be, as Airbyte's first sync of a connection."""
    run = run_image(image, "read", config=config, catalog=protocol.configured_catalog(discovered))
    assert run.returncode == 0 and run.errors() == [], run.text()
    return run


def test_spec_is_the_working_trees_with_the_metadatas_documentation_url(image: str) -> None:
    run = run_image(image, "spec")
    assert run.returncode == 0, run.text()
    (spec,) = run.of_type("SPEC")
    assert spec["spec"]["connectionSpecification"] == connection_specification(default_specs())
    metadata = yaml.safe_load(METADATA[CONNECTOR].read_text())["data"]
    assert spec["spec"]["documentationUrl"] == metadata["documentationUrl"]


def test_a_first_sync_reads_exactly_the_sandboxs_rows(
    first_sync: Run, discovered: dict[str, Any], demo_sandbox: RunningSandbox
) -> None:
    streams = {s["name"] for s in discovered["streams"]}
    tables = streams & sqlite_tables(demo_sandbox.db_path)
    assert len(tables) > 15
    for stream in sorted(tables):
        got = projected(stream, first_sync.records(stream))
        expected = sqlite_rows(demo_sandbox.db_path, stream)
        assert got == expected, f"{stream}: {got.total()} rows read, {expected.total()} stored"
    completed = {
        m["trace"]["stream_status"]["stream_descriptor"]["name"]
        for m in first_sync.of_type("TRACE")
        if m["trace"]["type"] == "STREAM_STATUS"
        and m["trace"]["stream_status"]["status"] == "COMPLETE"
    }
    assert completed == streams


def test_the_next_sync_starts_at_each_bookmark_from_the_mounted_state(
    image: str,
    config: dict[str, Any],
    discovered: dict[str, Any],
    first_sync: Run,
    demo_sandbox: RunningSandbox,
) -> None:
    """A mid-sync checkpoint mounted as the state file: the next sync emits exactly the rows
    after it (those past the bookmark, and those at the bookmark not yet emitted)."""
    streams = {"users": "data_last_modified", "products_interactions": "time"}
    states = [
        {"type": m["state"]["type"], "stream": m["state"]["stream"]}
        for m in first_sync.of_type("STATE")
        if m["state"]["stream"]["stream_descriptor"]["name"] in streams
    ]
    final = {s["stream"]["stream_descriptor"]["name"]: s for s in states}
    mid = {}
    for stream, cursor in streams.items():
        last = final[stream]["stream"]["stream_state"][cursor]
        earlier = [
            s
            for s in states
            if s["stream"]["stream_descriptor"]["name"] == stream
            and s["stream"]["stream_state"].get(cursor) is not None
            and s["stream"]["stream_state"][cursor] < last
        ]
        assert earlier, f"{stream}: the first sync emitted no checkpoint before its last"
        mid[stream] = earlier[len(earlier) // 2]
    catalog = protocol.configured_catalog(discovered, streams)
    second = run_image(image, "read", config=config, catalog=catalog, state=mid.values())
    assert second.returncode == 0 and second.errors() == [], second.text()
    with sqlite3.connect(demo_sandbox.db_path) as db:
        for stream, cursor in streams.items():
            stream_state = mid[stream]["stream"]["stream_state"]
            bookmark = stream_state[cursor]
            emitted_at_bookmark = len(stream_state.get("emitted_row_digests", []))
            (expected,) = db.execute(
                f'SELECT COUNT(*) FROM "{stream}" WHERE "{cursor}" >= ?', (bookmark,)
            ).fetchone()
            expected -= emitted_at_bookmark
            got = len(second.records(stream))
            assert 0 < got == expected < len(first_sync.records(stream)), (stream, got, expected)
