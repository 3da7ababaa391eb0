"""The tap over real HTTP against the sandbox: exactly the sandbox's rows, state that never runs
ahead of the records, incremental runs that add only what changed, and resumption from any STATE
message the tap emitted."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

import httpx
import pytest

from connectors.settings import parse_start_date
from connectors.spec import ObjectSpec
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.singer.tapruns import (
    SPECS,
    FastRetryTap,
    TapRun,
    bookmark,
    comparable_columns,
    config_for,
    keys,
    messages_of,
    multiset,
    reference_rows,
    run_tap,
    selected_catalog,
    table_specs,
)

pytestmark = pytest.mark.integration

TABLES = table_specs()
INCREMENTAL = [s for s in TABLES if s.read.mode == "incremental"]
STATEFUL = [s for s in TABLES if s.read.mode == "incremental" or s.read.parent is not None]
DAY = 86_400


RECOMMENDED_USERS = [22, 32]


@pytest.fixture(scope="module")
def full_run(demo_sandbox: RunningSandbox) -> TapRun:
    """Every stream selected by default: recommendations is not offered (no opt-in), because
    asking the tracker for them records page views and deliveries in the shared sandbox."""
    return run_tap(config_for(demo_sandbox))


def assert_exact_rows(run: TapRun, spec: ObjectSpec, sb: RunningSandbox) -> None:
    records = run.records(spec.name)
    reference = reference_rows(spec, sb.db_path)
    assert reference, f"the demo dataset should populate {spec.name}"
    columns = comparable_columns(spec, sb.db_path)
    got, want = multiset(records, columns), multiset(reference, columns)
    assert got == want, (
        f"{spec.name}: {len(records)} records for {len(reference)} rows; "
        f"missing {sum((want - got).values())}, extra {sum((got - want).values())}"
    )
    if spec.primary_key:
        pks = keys(records, spec.primary_key)
        assert len(set(pks)) == len(pks), f"{spec.name}: duplicate primary keys"
        assert all(v is not None for pk in pks for v in pk)


def test_every_readable_object_is_a_stream(full_run: TapRun) -> None:
    schemas = {m["stream"] for m in full_run.messages if m["type"] == "SCHEMA"}
    assert schemas == {o.name for o in SPECS.readable()} - {"recommendations"}
    assert full_run.streams() == schemas
    (tracker,) = full_run.records("tracker_code")
    assert "<script" in tracker["html"]


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
def test_full_sync_returns_exactly_the_sandbox_rows(
    full_run: TapRun, demo_sandbox: RunningSandbox, spec: ObjectSpec
) -> None:
    assert_exact_rows(full_run, spec, demo_sandbox)


def test_the_data_has_ties_larger_than_a_page(demo_sandbox: RunningSandbox) -> None:
    def largest_tie(name: str) -> int:
        spec = SPECS.object(name)
        counts = Counter(r[spec.read.key] for r in reference_rows(spec, demo_sandbox.db_path))
        return max(counts.values())

    assert largest_tie("users") >= 1000  # more than one equality read: split by tie-breaker
    assert largest_tie("products_interactions") >= 500


def test_state_is_integer_and_never_ahead_of_records(
    full_run: TapRun, demo_sandbox: RunningSandbox
) -> None:
    """At every STATE message, each row below an incremental stream's bookmark was emitted."""
    emitted: dict[str, Counter[Any]] = {s.name: Counter() for s in INCREMENTAL}
    reference = {
        s.name: Counter(r[s.read.key] for r in reference_rows(s, demo_sandbox.db_path))
        for s in INCREMENTAL
    }
    checked = 0
    for message in full_run.messages:
        if message["type"] == "RECORD" and message["stream"] in emitted:
            spec = SPECS.object(message["stream"])
            emitted[spec.name][message["record"][spec.read.key]] += 1
        elif message["type"] == "STATE":
            for spec in INCREMENTAL:
                value = bookmark(message["value"], spec.name)
                if value is None:
                    continue
                assert type(value) is int, (spec.name, value)
                below = {k: n for k, n in reference[spec.name].items() if k < value}
                got = {k: n for k, n in emitted[spec.name].items() if k < value}
                assert got == below, f"{spec.name}: state {value} ahead of the records"
                checked += 1
    assert checked > len(INCREMENTAL)


def test_run_after_no_change_emits_nothing(full_run: TapRun, demo_sandbox: RunningSandbox) -> None:
    """The state names the rows already emitted at the bookmark (and, for summary_actions, in
    the lookback window re-read each sync): none is emitted again."""
    names = {s.name for s in INCREMENTAL}
    again = run_tap(config_for(demo_sandbox), state=full_run.final_state, streams=names)
    for spec in INCREMENTAL:
        mark = bookmark(full_run.final_state, spec.name)
        assert again.records(spec.name) == [], spec.name
        assert bookmark(again.final_state, spec.name) == mark


@pytest.mark.parametrize("spec", STATEFUL, ids=lambda s: s.name)
def test_resuming_from_every_state_completes_the_sync(
    demo_sandbox: RunningSandbox, spec: ObjectSpec
) -> None:
    config = config_for(demo_sandbox)
    reference = reference_rows(spec, demo_sandbox.db_path)
    columns = comparable_columns(spec, demo_sandbox.db_path)
    first = run_tap(config, streams={spec.name}, state_every=max(20, len(reference) // 8))
    prefix: list[dict[str, Any]] = []
    resumed = 0
    seen_states: list[dict[str, Any]] = []
    for message in first.messages:
        if message["type"] == "RECORD":
            prefix.append(message["record"])
            continue
        if message["type"] != "STATE" or message["value"] in seen_states:
            continue
        state = message["value"]
        seen_states.append(state)
        rest = run_tap(config, state=state, streams={spec.name}).records(spec.name)
        resumed += 1
        mark = bookmark(state, spec.name)
        if spec.primary_key:
            done = set(keys(prefix, spec.primary_key))
            again = keys(rest, spec.primary_key)
            assert len(set(again)) == len(again), f"{spec.name}: duplicates after {state}"
            assert done | set(again) == set(keys(reference, spec.primary_key)), state
        else:
            # no primary key: rows up to the bookmark come from before (its digests name those
            # at the bookmark), the rest exactly once
            key = spec.read.key
            before = [r for r in prefix if mark is None or r[key] <= mark]
            assert multiset(before, columns) + multiset(rest, columns) == multiset(
                reference, columns
            ), state
        if mark is not None and not spec.read.lookback:
            assert all(r[spec.read.key] >= mark for r in rest)
    assert resumed >= 3, f"{spec.name}: only {resumed} STATE messages to resume from"


def test_iso_start_date_reaches_integer_keys_as_unix_seconds(
    demo_sandbox: RunningSandbox,
) -> None:
    start = "2025-11-01"
    seconds = parse_start_date(start)
    assert seconds is not None
    streams = {"users", "events", "summary_actions"}
    run = run_tap(config_for(demo_sandbox, start_date=start), streams=streams)
    users = run.records("users")
    every_user = reference_rows(SPECS.object("users"), demo_sandbox.db_path)
    assert {r["user_id"] for r in users} == {
        r["user_id"] for r in every_user if r["data_last_modified"] >= seconds
    }
    # an id key has no date: start_date does not apply to it
    assert len(run.records("events")) == len(
        reference_rows(SPECS.object("events"), demo_sandbox.db_path)
    )
    assert min(r["day"] for r in run.records("summary_actions")) >= seconds - seconds % DAY
    for state in run.states:
        for stream in state.get("bookmarks", {}).values():
            for marker in ("replication_key_value", "starting_replication_value"):
                if stream.get(marker) is not None:
                    assert type(stream[marker]) is int, stream
    same = run_tap(config_for(demo_sandbox, start_date=str(seconds)), streams={"users"})
    assert keys(same.records("users"), ("user_id",)) == keys(users, ("user_id",))


@pytest.fixture
def writable_sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("demo", scale=1, seed=11) as sb:
        yield sb


@pytest.fixture
def recommendation_runs(writable_sandbox: RunningSandbox) -> tuple[TapRun, TapRun]:
    config = config_for(
        writable_sandbox,
        recommendation_user_ids=RECOMMENDED_USERS,
        record_recommendation_page_views=True,
    )
    first = run_tap(config, streams={"recommendations"})
    return first, run_tap(config, state=first.final_state, streams={"recommendations"})


def test_recommendations_for_the_configured_users_keep_their_sessions(
    recommendation_runs: tuple[TapRun, TapRun],
) -> None:
    first, second = recommendation_runs
    spec = SPECS.object("recommendations")
    for run in (first, second):
        records = run.records("recommendations")
        assert {r["user_id"] for r in records} == set(RECOMMENDED_USERS)
        pks = keys(records, spec.primary_key)
        assert len(set(pks)) == len(pks)
    sessions = first.final_state["bookmarks"]["recommendations"]["sessions"]
    assert set(sessions) == {str(u) for u in RECOMMENDED_USERS}
    assert second.final_state["bookmarks"]["recommendations"]["sessions"] == sessions


def test_recommendation_records_fit_the_discovered_schema(
    recommendation_runs: tuple[TapRun, TapRun],
) -> None:
    first, _ = recommendation_runs
    (schema,) = [
        m["schema"]
        for m in first.messages
        if m["type"] == "SCHEMA" and m["stream"] == "recommendations"
    ]
    fields = {name for r in first.records("recommendations") for name in r}
    assert fields <= set(schema["properties"])


def test_incremental_run_after_inserts_and_updates_emits_them(
    writable_sandbox: RunningSandbox,
) -> None:
    sb = writable_sandbox
    config = config_for(sb)
    streams = {"users", "products"}
    first = run_tap(config, streams=streams)
    auth = ("api", sb.api_key)
    new_emails = [f"tap-insert-{i}@example.com" for i in range(3)]
    updated_skus = ["SKU-00001", "SKU-00002"]
    with httpx.Client(base_url=sb.base_url, auth=auth, timeout=30) as http:
        for email in new_emails:
            for _ in range(20):  # inserts are serialised per account
                answer = http.post("/users", json={"email": email, "first_name": "Tap"})
                if answer.status_code != 400 or "simultaneous" not in answer.text:
                    break
                time.sleep(0.2)
            answer.raise_for_status()
        for sku in updated_skus:
            answer = http.put(f"/products/where/internal_id={sku}", json={"title": f"new {sku}"})
            answer.raise_for_status()
    second = run_tap(config, state=first.final_state, streams=streams)

    users_mark = bookmark(first.final_state, "users")
    users = second.records("users")
    at_mark = [r for r in users if r["data_last_modified"] == users_mark]
    assert sorted(r["email"] for r in users if r not in at_mark) == sorted(new_emails)
    products_mark = bookmark(first.final_state, "products")
    products = second.records("products")
    changed = [r for r in products if r["data_last_modified"] != products_mark]
    assert sorted(r["internal_id"] for r in changed) == updated_skus
    assert all(r["title"] == f"new {r['internal_id']}" for r in changed)
    for name in streams:
        assert bookmark(second.final_state, name) > bookmark(first.final_state, name)
    third = run_tap(config, state=second.final_state, streams=streams)
    assert len(third.records("users")) == len(new_emails) or all(
        r["data_last_modified"] == bookmark(second.final_state, "users")
        for r in third.records("users")
    )


def test_faults_do_not_change_the_rows(full_run: TapRun, demo_sandbox: RunningSandbox) -> None:
    with running_sandbox(
        "demo", scale=1, seed=7, fault_rate=0.2, extra_args=["--slow-ms", "50"]
    ) as faulty:
        run = run_tap(config_for(faulty, max_retries=12))
        for spec in TABLES:
            assert_exact_rows(run, spec, faulty)
            columns = comparable_columns(spec, faulty.db_path)
            assert multiset(run.records(spec.name), columns) == multiset(
                full_run.records(spec.name), columns
            ), f"{spec.name}: a run with faults differs from one without"


def test_batch_messages_hold_the_rows(demo_sandbox: RunningSandbox, tmp_path: Any) -> None:
    import gzip
    import json
    from urllib.parse import urlparse

    batch_config = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": f"file://{tmp_path}", "prefix": "users-"},
        "batch_size": 500,
    }
    run = run_tap(config_for(demo_sandbox, batch_config=batch_config), streams={"users"})
    batches = [m for m in run.messages if m["type"] == "BATCH"]
    assert batches and not run.records("users")
    rows = []
    for message in batches:
        for url in message["manifest"]:
            with gzip.open(urlparse(url).path, "rt") as f:
                rows += [json.loads(line) for line in f]
    spec = SPECS.object("users")
    reference = reference_rows(spec, demo_sandbox.db_path)
    assert sorted(r["user_id"] for r in rows) == sorted(r["user_id"] for r in reference)
    assert bookmark(run.final_state, "users") == max(r["data_last_modified"] for r in reference)


def test_a_property_deselected_in_the_catalog_is_left_out_of_every_record(
    demo_sandbox: RunningSandbox,
) -> None:
    config = config_for(demo_sandbox)
    discovered = FastRetryTap(config=config, parse_env_config=False).catalog_dict
    catalog = selected_catalog(discovered, {"users"})
    (users,) = [e for e in catalog["streams"] if e["tap_stream_id"] == "users"]
    (email,) = [m for m in users["metadata"] if m["breadcrumb"] == ["properties", "email"]]
    email["metadata"]["selected"] = False
    tap = FastRetryTap(config=config, catalog=catalog, parse_env_config=False)
    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    records = messages_of(out.getvalue()).records("users")
    spec = SPECS.object("users")
    reference = reference_rows(spec, demo_sandbox.db_path)
    assert len(records) == len(reference) > 0
    assert not any("email" in r for r in records)
    # every other column as stored (and the same rows as a sync with every property selected)
    columns = [c for c in comparable_columns(spec, demo_sandbox.db_path) if c != "email"]
    assert multiset(records, columns) == multiset(reference, columns)
    full = run_tap(config, streams={"users"}).records("users")
    assert all("email" in r for r in full)
    assert multiset(full, [*columns, "email"]) == multiset(reference, [*columns, "email"])
