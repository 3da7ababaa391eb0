"""A dry run reads (lookups, existence, memberships, list names, current members) and never
writes; its summary equals the real run's on the same input and account, removals included;
it prints the calls it plans, never the key."""

from __future__ import annotations

import hashlib
import io
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.write import RunSummary, WriteEngine, WriteOptions, parse_targets
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.integration.write.runs import CONFIG, T0, Records, all_modes_input, write
from tests.readback import make_client

pytestmark = pytest.mark.integration


def dry_run(
    sb: RunningSandbox, config: dict[str, Any], records: Records, tmp: Path, **options: Any
) -> tuple[RunSummary, str]:
    out = io.StringIO()
    summary = write(sb, config, records, tmp, dry_run=True, plan_out=out, **options)
    return summary, out.getvalue()


def counts(summary: RunSummary) -> dict[str, Any]:
    """Every count of every stream; notes with the ids a dry run can only name by placeholder
    (``<new user_lists row 2>``) made comparable."""
    out = {}
    for name, c in summary.streams.items():
        row = asdict(c)
        row["notes"] = [re.sub(r"\(id [^)]*\)", "(id)", n) for n in row["notes"]]
        out[name] = row
    return out


def data(sb: RunningSandbox) -> str:
    """The sandbox's data, every table, byte for byte, and a digest of its files."""
    with sqlite3.connect(sb.db_path) as conn:
        dump = "\n".join(conn.iterdump())
    files = [sb.db_path, sb.db_path.with_name(sb.db_path.name + "-wal")]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files if f.exists())).hexdigest()
    return digest + "\n" + dump


@contextmanager
def request_log(tmp: Path, seed: int = 11) -> Iterator[tuple[RunningSandbox, Path]]:
    log = tmp / "requests.log"
    with running_sandbox("demo", seed=seed, extra_args=["--request-log", str(log)]) as sb:
        yield sb, log


def test_the_issues_example_dry_run_says_what_the_real_run_does(tmp_path: Path) -> None:
    """users insert (one new, one existing with other values), a new list, a mirror that adds
    one member, keeps one and removes one."""
    config = {
        "crm": {"object": "users", "mode": "insert"},
        "lists": {"object": "user_lists"},
        "vip": {"object": "user_list_users", "mode": "mirror", "list_name": "Mirror me"},
        "seed_vip": {"object": "user_list_users", "list_name": "Mirror me"},
    }
    setup: Records = {
        "seed_vip": [{"email": "omar.chen.1@example.com"}, {"email": "tara.ivanova.2@example.com"}]
    }
    records: Records = {
        "crm": [
            {"email": "brand.new@example.com", "first_name": "New"},
            {"email": "rosa.ivanova.3@example.com", "first_name": "Rosalind"},
        ],
        "lists": [{"name": "Never seen before"}],
        "vip": [{"email": "omar.chen.1@example.com"}, {"email": "brand.new@example.com"}],
    }
    with request_log(tmp_path) as (sb, log):
        write(sb, config, setup, tmp_path / "setup", ledger_path=None)
        before, logged = data(sb), len(log.read_text().splitlines())
        dry, plan = dry_run(sb, config, records, tmp_path / "dry")
        assert data(sb) == before
        assert {line.split()[0] for line in log.read_text().splitlines()[logged:]} == {"GET"}
        real = write(sb, config, records, tmp_path / "real", ledger_path=None)
    s = real.streams
    assert (s["crm"].created, s["crm"].rejected, s["crm"].updated) == (1, 1, 0)
    assert s["lists"].created == 1
    assert (s["vip"].created, s["vip"].deleted, s["vip"].unchanged) == (1, 1, 1)
    assert counts(dry) == counts(real)
    assert "POST do " in plan and "DELETE user_list_users/where/" in plan


def test_dry_run_reads_only_and_prints_calls_without_the_key(tmp_path: Path) -> None:
    out = io.StringIO()
    records = all_modes_input()
    with request_log(tmp_path) as (sb, log):
        before = data(sb)
        with make_client(sb) as client:
            engine = WriteEngine(
                client,
                parse_targets(CONFIG, records),
                WriteOptions(dry_run=True, plan_out=out, ledger_path=tmp_path / "ledger.db"),
            )
            for stream, rows in records.items():
                for row in rows:
                    engine.add(stream, row)
            summary = engine.finish()
        assert data(sb) == before
        assert {line.split()[0] for line in log.read_text().splitlines()} == {"GET"}
    plan = out.getvalue()
    assert sb.api_key not in plan and "Authorization" not in plan
    assert "POST do " in plan and "POST products " in plan and "DELETE products/where/" in plan
    assert len(plan.splitlines()) == summary.total("calls") > 10
    assert not (tmp_path / "ledger.db").exists()


# ---------------------------------------------------------------- the property

EXISTING = ["omar.chen.1@example.com", "tara.ivanova.2@example.com", "rosa.ivanova.3@example.com"]
PEOPLE = [*EXISTING, "p1@example.com", "p2@example.com", "p3@example.com"]
SKUS = ["SKU-00001", "SKU-00002", "NEW-1", "NEW-2", "GONE-1"]
LISTS = ["Newsletter opt-ins", "Prop A", "Prop B"]
PROPERTY_CONFIG: dict[str, Any] = {
    "users": {"object": "users"},
    "crm_insert": {"object": "users", "mode": "insert"},
    "crm_update": {"object": "users", "mode": "update"},
    "crm_delete": {"object": "users", "mode": "delete"},
    "products": {"object": "products"},
    "price_update": {"object": "products", "mode": "update"},
    "discontinued": {"object": "products", "mode": "delete"},
    "lists": {"object": "user_lists"},
    "members": {"object": "user_list_users"},
    "mirror": {"object": "user_list_users", "mode": "mirror", "list_name": "Prop A"},
    "leavers": {"object": "user_list_users", "mode": "delete"},
    "products_interactions": {"object": "products_interactions"},
    "articles_interactions": {"object": "articles_interactions"},
    "do": {"object": "do"},
}
person = st.sampled_from(PEOPLE)
name = st.sampled_from(["Ann", "Bob", "Omar"])
sku = st.sampled_from(SKUS)
STREAM_ROWS: dict[str, Any] = {
    "users": st.fixed_dictionaries({"email": person, "first_name": name}),
    "crm_insert": st.fixed_dictionaries({"email": person, "first_name": name}),
    "crm_update": st.fixed_dictionaries({"email": person, "custom_i_1": st.integers(0, 2)}),
    "crm_delete": st.fixed_dictionaries({"email": st.sampled_from(PEOPLE[2:])}),
    "products": st.fixed_dictionaries(
        {"internal_id": sku, "title": name, "price": st.sampled_from([1, 2.5])}
    ),
    "price_update": st.fixed_dictionaries({"internal_id": sku, "price": st.sampled_from([1, 3])}),
    "discontinued": st.fixed_dictionaries({"internal_id": st.sampled_from(SKUS[1:])}),
    "lists": st.fixed_dictionaries({"name": st.sampled_from(LISTS)}),
    "members": st.fixed_dictionaries({"email": person, "user_list_name": st.sampled_from(LISTS)}),
    "mirror": st.fixed_dictionaries({"email": person}),
    "leavers": st.fixed_dictionaries({"email": person, "user_list_name": st.sampled_from(LISTS)}),
    "products_interactions": st.fixed_dictionaries(
        {
            "email": person,
            "product_internal_id": sku,
            "status": st.sampled_from(["viewed", "goal", "delivered"]),
            "transaction_time": st.sampled_from([T0, T0 + 1]),
        }
    ),
    "articles_interactions": st.fixed_dictionaries(
        {
            "email": person,
            "article_internal_id": st.sampled_from(["article-0001", "article-0002", "no-such"]),
            "status": st.just("liked"),
        }
    ),
    "do": st.one_of(
        st.fixed_dictionaries(
            {
                "key": person,
                "command": st.just("User profile"),
                "fields": st.fixed_dictionaries({"custom_t_2": name}),
            }
        ),
        st.fixed_dictionaries(
            {
                "key": person,
                "command": st.sampled_from(["Product viewed", "Product removed from cart"]),
                "item": sku,
                "transaction_time": st.sampled_from([T0, T0 + 1]),
            }
        ),
        st.fixed_dictionaries(
            {"key": person, "command": st.just("Article liked"), "item": st.just("article-0003")}
        ),
    ),
}
mixed_inputs = st.lists(
    st.sampled_from(sorted(STREAM_ROWS)), min_size=2, max_size=6, unique=True
).flatmap(
    lambda names: st.fixed_dictionaries(
        {n: st.lists(STREAM_ROWS[n], min_size=1, max_size=6) for n in names}
    )
)


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One demo sandbox for every example: each runs on what the ones before it left, which is
    as good an account as any for comparing a dry run with the real run that follows it."""
    folder = tmp_path_factory.mktemp("account")
    with running_sandbox("demo", seed=11) as sb:
        # "Prop A" holds two members the property's mirror may remove
        config = {"m": {"object": "user_list_users", "list_name": "Prop A"}}
        write(sb, config, {"m": [{"email": e} for e in EXISTING[:2]]}, folder, ledger_path=None)
        yield sb


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=mixed_inputs, batch_size=st.sampled_from([2, 500]))
def test_dry_run_summary_equals_the_real_runs_and_changes_nothing(
    account: RunningSandbox,
    tmp_path_factory: pytest.TempPathFactory,
    records: Records,
    batch_size: int,
) -> None:
    tmp = tmp_path_factory.mktemp("example")
    before = data(account)
    dry, _ = dry_run(account, PROPERTY_CONFIG, records, tmp / "dry", batch_size=batch_size)
    assert data(account) == before
    real = write(account, PROPERTY_CONFIG, records, tmp / "real", batch_size=batch_size)
    assert counts(dry) == counts(real), records


def test_a_dry_run_sees_the_ledger_of_earlier_runs_and_leaves_it_alone(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    records: Records = {
        "articles_interactions": [
            {"email": EXISTING[0], "article_internal_id": "article-0004", "status": "liked"}
        ]
    }
    with request_log(tmp_path) as (sb, _):
        write(sb, {}, records, tmp_path / "first", ledger_path=ledger)
        before = hashlib.sha256(ledger.read_bytes()).hexdigest()
        dry, _ = dry_run(sb, {}, records, tmp_path / "dry", ledger_path=ledger)
        assert hashlib.sha256(ledger.read_bytes()).hexdigest() == before
        real = write(sb, {}, records, tmp_path / "real", ledger_path=ledger)
    assert dry.streams["articles_interactions"].skipped == 1
    assert counts(dry) == counts(real)
