"""Fault matrix of the readers: every stream a sync reads by default, through
``personyze-sandbox --fault-rate 0.2`` and ``0.35`` (500s, 503s, dropped connections and slow
answers, three seeds each), read by the Airbyte source and by the Singer tap. Every run must
succeed and return exactly the sandbox's rows: none lost, none doubled. Then, on the same
sandbox, the opted-in ``recommendations`` stream: tracker-v1's server failures are retried, and
each user's page view is recorded once.

Budget: ``max_retries: 10``. A request fails for good only after 11 retryable faults in a row;
at 0.35 (three quarters of the faults are retryable) that is 0.2625**11 ≈ 4e-7 per request, so a
run of a few thousand requests fails with a chance near 1e-3; with the default 6 it would be
8.6e-5 per request, several percent per run: the retry bound doing its job, not a defect.
Backoff sleeps are cut to 20 ms; slow answers take 50 ms instead of 1.5 s.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import pytest

import source_personyze.stream as source_stream
from connectors.api.client import PersonyzeClient
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.airbyte import protocol
from tests.recommendations import delivered, products_shown
from tests.singer.tapruns import (
    SPECS,
    comparable_columns,
    keys,
    multiset,
    reference_rows,
    run_tap,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

RATES = (0.2, 0.35)
SEEDS = (3, 5, 8)
# smaller than the demo's 16,500 interactions; users keep the 1,200-row tie of the demo
SIZES = ("--rows", "products_interactions=3000", "--slow-ms", "50")
TABLES = sorted(
    (o for o in SPECS.readable() if o.kind == "table"), key=lambda o: o.name
)  # every table is a default stream; recommendations is not one


def fast_sleep(seconds: float) -> None:
    time.sleep(min(seconds, 0.02))


@pytest.fixture(
    scope="module",
    params=[(rate, seed) for rate in RATES for seed in SEEDS],
    ids=lambda p: f"rate{p[0]}-seed{p[1]}",
)
def faulty(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    rate, seed = request.param
    with running_sandbox("demo", seed=seed, fault_rate=rate, extra_args=SIZES) as sb:
        yield sb


def config(sb: RunningSandbox) -> dict[str, Any]:
    return {"api_key": sb.api_key, "base_url": sb.base_url, "max_retries": 10}


def assert_exact(records: dict[str, list[dict[str, Any]]], sb: RunningSandbox) -> None:
    problems = []
    for spec in TABLES:
        got = records.get(spec.name, [])
        reference = reference_rows(spec, sb.db_path)
        columns = comparable_columns(spec, sb.db_path)
        lost = multiset(reference, columns) - multiset(got, columns)
        extra = multiset(got, columns) - multiset(reference, columns)
        if lost or extra:
            problems.append(f"{spec.name}: {sum(lost.values())} lost, {sum(extra.values())} extra")
        if spec.primary_key:
            pks = keys(got, spec.primary_key)
            if len(pks) != len(set(pks)):
                problems.append(f"{spec.name}: {len(pks) - len(set(pks))} doubled")
    assert problems == []
    assert records.get("tracker_code"), "tracker_code was not read"


def test_the_source_reads_exactly_through_faults(
    faulty: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        source_stream, "PersonyzeClient", functools.partial(PersonyzeClient, sleep=fast_sleep)
    )
    discovered = protocol.run("discover", config(faulty))
    assert not discovered.errors(), discovered.errors()
    assert "recommendations" not in {s["name"] for s in discovered.catalog()["streams"]}
    catalog = protocol.configured_catalog(discovered.catalog(), full_refresh=True)
    output = protocol.run("read", config(faulty), catalog=catalog)
    assert not output.errors(), output.errors()
    names = {s["stream"]["name"] for s in catalog["streams"]}
    assert_exact({name: output.records(name) for name in names}, faulty)


def test_the_tap_reads_exactly_through_faults(faulty: RunningSandbox) -> None:
    run = run_tap(config(faulty))  # the streams selected by default, backoff cut short
    names = {m["stream"] for m in run.messages if m["type"] == "SCHEMA"}
    assert "recommendations" not in names
    assert_exact({name: run.records(name) for name in names}, faulty)


USERS = [5, 42, 99, 123, 256, 512, 777, 1024, 1337, 1999]


def test_the_tracker_stream_survives_faults_and_records_each_view_once(
    faulty: RunningSandbox,
) -> None:
    # runs after the exact reads above: this stream writes to the sandbox
    opted = {**config(faulty), "recommendation_user_ids": USERS}
    opted["record_recommendation_page_views"] = True
    discovered = protocol.run("discover", opted)
    assert not discovered.errors(), discovered.errors()
    catalog = protocol.configured_catalog(discovered.catalog(), ["recommendations"])
    before = delivered(faulty)
    output = protocol.run("read", opted, catalog=catalog)
    assert not output.errors(), output.errors()
    records = output.records("recommendations")
    assert {r["user_id"] for r in records} == set(USERS)
    shown = products_shown(records)
    assert delivered(faulty) - before == shown  # one page view per user, none resent twice
