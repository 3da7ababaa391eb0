"""target-personyze over real HTTP against the sandbox, checked by reading Personyze back.

Every object and mode goes through ``target-personyze --config`` as Singer messages on stdin;
the same input twice changes nothing; bad records are rejected with reasons and nothing else is
lost; injected faults give the same end state; a dry run sends nothing. Each subprocess run also
checks that stdout carries STATE lines only and that the key shows nowhere (targetruns.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connectors.api.query import Query, all_of, cond
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.readback import (
    article_interactions,
    first_member,
    get,
    interactions,
    lists_named,
    members,
    products_by_id,
    rejects,
    table_counts,
    users_by_email,
)
from tests.singer_target.targetruns import (
    Records,
    base_config,
    messages_for,
    run_in_process,
    run_target,
)
from tests.write_cases import (
    LIST_MODES,
    PRODUCT_MODES,
    T0,
    USER_MODES,
    bad_users,
    unknown_column_event,
    unknown_command,
    viewed_event,
)

pytestmark = pytest.mark.integration
NEW = [f"singer{i}@example.com" for i in range(10)]

STREAMS: dict[str, Any] = {
    "customers": {"object": "users", "field_map": {"given_name": "first_name"}},
    **USER_MODES,
    "catalog": {"object": "products", "field_map": {"sku": "internal_id"}},
    **PRODUCT_MODES,
    "posts": {"object": "articles"},
    **LIST_MODES,
    "orders": {"object": "products_interactions"},
    "reads": {"object": "articles_interactions"},
    "commands": {"object": "do"},
}


def every_mode_input(vip_member: int) -> Records:
    return {
        "customers": [
            {
                "email": e,
                "given_name": f"S{i}",
                "custom_t_1": "vip",
                "_sdc_extracted_at": "2024-01-01T00:00:00Z",
            }
            for i, e in enumerate(NEW)
        ]
        + [{"email": "omar.chen.1@example.com", "last_name": "Chen-Singer"}],
        "crm_update": [
            {"email": "tara.ivanova.2@example.com", "custom_i_1": 9},
            {"email": "nobody@example.com", "custom_i_1": 1},
        ],
        "crm_insert": [{"email": "singer-fresh@example.com", "first_name": "F"}],
        "crm_delete": [{"user_id": 10}],
        "catalog": [
            {
                "sku": f"S-{i}",
                "title": f"Singer {i}",
                "price": 10 + i,
                "image_1": f"https://cdn.example.com/s{i}.jpg",
            }
            for i in range(6)
        ],
        "price_update": [{"internal_id": "SKU-00001", "price": 3.5}],
        "discontinued": [{"internal_id": "SKU-00002"}],
        "posts": [{"internal_id": f"SA-{i}", "title": f"Post {i}"} for i in range(3)],
        "lists": [{"name": "Singer list"}],
        "vip_add": [{"email": NEW[0]}, {"email": NEW[1]}],
        "vip_remove": [{"user_id": vip_member}],
        "newsletter": [{"email": e} for e in NEW[:4]],
        "orders": [
            {
                "email": NEW[i],
                "product_internal_id": f"S-{i}",
                "status": "goal",
                "quantity": 2,
                "amount": 20 + i,
                "transaction_time": T0 + i,
            }
            for i in range(6)
        ],
        "reads": [
            {"email": NEW[i], "article_internal_id": f"SA-{i}", "status": "liked"} for i in range(3)
        ],
        "commands": [
            {"key": NEW[8], "command": "Product added to cart", "item": "S-5", "quantity": 3}
        ],
    }


@pytest.fixture
def sandbox() -> Any:
    with running_sandbox("demo", scale=1, seed=11) as sb:
        yield sb


def test_every_object_and_mode_read_back_and_twice_changes_nothing(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    vip_member = first_member(sandbox, 1)
    records = every_mode_input(vip_member)
    config = base_config(sandbox, tmp_path, streams=STREAMS)
    first = run_target(config, messages_for(records, states_every=7), tmp_path)
    assert first.states[-1] == {"records": sum(map(len, records.values())), "done": True}
    assert "Personyze write summary" in first.stderr

    users = users_by_email(
        sandbox,
        [
            *NEW,
            "omar.chen.1@example.com",
            "tara.ivanova.2@example.com",
            "singer-fresh@example.com",
            "nobody@example.com",
        ],
    )
    assert [users[e]["first_name"] for e in NEW] == [f"S{i}" for i in range(10)]
    assert all(users[e]["custom_t_1"] == "vip" for e in NEW)
    assert "_sdc_extracted_at" not in users[NEW[0]]
    assert users["omar.chen.1@example.com"]["last_name"] == "Chen-Singer"
    assert users["tara.ivanova.2@example.com"]["custom_i_1"] == 9
    assert "nobody@example.com" not in users
    assert users["singer-fresh@example.com"]["first_name"] == "F"
    assert get(sandbox, Query("users", where=all_of(cond("user_id", "=", 10)))) == []
    assert [r["reason"] for r in rejects(tmp_path) if r["stream"] == "crm_update"] == [
        r["reason"] for r in rejects(tmp_path)
    ]  # the one expected reject

    products = products_by_id(sandbox, [*(f"S-{i}" for i in range(6)), "SKU-00001", "SKU-00002"])
    assert [products[f"S-{i}"]["title"] for i in range(6)] == [f"Singer {i}" for i in range(6)]
    assert products["S-2"]["image_big_url"] == "https://cdn.example.com/s2.jpg"
    assert products["SKU-00001"]["price"] == 3.5 and "SKU-00002" not in products
    posts = get(
        sandbox, Query("articles", where=all_of(cond("internal_id", ":", ["SA-0", "SA-1", "SA-2"])))
    )
    assert sorted(p["title"] for p in posts) == ["Post 0", "Post 1", "Post 2"]

    assert len(lists_named(sandbox, "Singer list")) == 1
    vip = members(sandbox, 1)
    assert {users[NEW[0]]["user_id"], users[NEW[1]]["user_id"]} <= vip
    assert vip_member not in vip
    newsletter = lists_named(sandbox, "Newsletter opt-ins")[0]["id"]
    assert members(sandbox, newsletter) == {users[e]["user_id"] for e in NEW[:4]}

    events = interactions(sandbox, [f"S-{i}" for i in range(6)])
    expected = Counter(
        {(users[NEW[i]]["user_id"], f"S-{i}", "goal", 2, 20 + i): 1 for i in range(6)}
    )
    expected[(users[NEW[8]]["user_id"], "S-5", "extra", 3, None)] = 1
    assert events == expected
    reads = article_interactions(sandbox)
    assert reads == Counter({(users[NEW[i]]["user_id"], f"SA-{i}", "liked"): 1 for i in range(3)})

    # The same input again: nothing changes, nothing is duplicated.
    before = table_counts(sandbox)
    second = run_target(config, messages_for(records, states_every=7), tmp_path)
    assert second.states[-1] == first.states[-1]
    assert table_counts(sandbox) == before
    assert interactions(sandbox, [f"S-{i}" for i in range(6)]) == events
    assert article_interactions(sandbox) == reads
    assert members(sandbox, newsletter) == {users[e]["user_id"] for e in NEW[:4]}
    assert users_by_email(sandbox, NEW) == {e: users[e] for e in NEW}


def test_bad_input_is_rejected_with_reasons_and_nothing_else_is_lost(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    records: Records = {
        "users": bad_users(),
        "products_interactions": [viewed_event(), unknown_column_event()],
        "do": [unknown_command()],
        "members": [{"email": "ok1@example.com"}],
        "typed": [
            {"email": "ok5@example.com", "age": 30},
            {"email": "ok6@example.com", "age": "thirty"},
        ],
    }
    messages = messages_for(records)
    typed = next(m for m in messages if m["type"] == "SCHEMA" and m["stream"] == "typed")
    typed["schema"] = {
        "type": "object",
        "properties": {"email": {"type": "string"}, "age": {"type": "integer"}},
    }
    config = base_config(
        sandbox,
        tmp_path,
        max_error_rate=1.0,
        streams={
            "members": {"object": "user_list_users", "list_id": 777},
            "typed": {"object": "users", "field_map": {"age": "custom_i_2"}},
        },
    )
    run = run_target(config, messages, tmp_path)
    assert run.states[-1]["done"] is True

    found = rejects(tmp_path)
    reasons = {(r["stream"], r["key"]): r["reason"] for r in found}
    assert "missing match key 'email'" in reasons[("users", None)]
    assert "not a valid email" in reasons[("users", "not-an-email")]
    assert "expects an integer" in reasons[("users", "ok2@example.com")]
    assert "over the limit of 65,535" in reasons[("users", "ok3@example.com")]
    assert any("unknown column 'colour'" in r["reason"] for r in found)
    assert any("unknown command 'Teleport'" in r["reason"] for r in found)
    assert "unknown list" in reasons[("members", "ok1@example.com")]
    assert reasons[("typed", "ok6@example.com")].startswith(
        "does not match the stream's SCHEMA: 'thirty' is not of type 'integer'; fix"
    )
    assert len(found) == 8 and all("record" in r for r in found)

    users = users_by_email(sandbox, [f"ok{i}@example.com" for i in range(1, 7)])
    assert sorted(users) == ["ok1@example.com", "ok4@example.com", "ok5@example.com"]
    assert users["ok5@example.com"]["custom_i_2"] == 30
    uid = users["ok1@example.com"]["user_id"]
    events = interactions(sandbox, ["SKU-00003", "SKU-00004"])
    assert Counter({k: n for k, n in events.items() if k[0] == uid}) == Counter(
        {(uid, "SKU-00003", "viewed", 1, None): 1}
    )


def test_error_rate_stops_the_run_without_state(sandbox: RunningSandbox, tmp_path: Path) -> None:
    records: Records = {
        "users": [{"email": f"e{i}@example.com"} for i in range(80)]
        + [{"email": f"bad{i}"} for i in range(40)]
    }
    config = base_config(sandbox, tmp_path, max_error_rate=0.2, batch_size_rows=1000)
    run = run_target(config, messages_for(records, states_every=10), tmp_path, check=False)
    assert run.returncode == 1
    assert run.states == []  # nothing was flushed before the run failed
    assert "max_error_rate" in run.stderr and "Traceback" not in run.stderr
    assert "Personyze write summary" in run.stderr


def test_faults_give_the_same_end_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emails = [f"fault{i}@example.com" for i in range(25)]
    records: Records = {
        "users": [{"email": e, "first_name": f"F{i}"} for i, e in enumerate(emails)],
        "products": [{"internal_id": f"F-{i}", "title": f"Fault {i}"} for i in range(10)],
        "vip": [{"email": e} for e in emails[:15]],
        "products_interactions": [
            {"email": e, "product_internal_id": f"F-{i % 10}", "status": "extra", "quantity": i + 1}
            for i, e in enumerate(emails)
        ],
    }
    streams = {"vip": {"object": "user_list_users", "mode": "mirror", "list_name": "Fault VIPs"}}
    states = []
    for rate in (0.0, 0.2):
        tmp = tmp_path / str(rate)
        tmp.mkdir()
        with running_sandbox("demo", scale=1, seed=11, fault_rate=rate) as sb:
            config = base_config(sb, tmp, streams=streams, batch_size_rows=10)
            out = run_in_process(config, messages_for(records, states_every=10), monkeypatch)
            assert out[-1]["done"] is True
            users = users_by_email(sb, emails)
            ids = {users[e]["user_id"]: e for e in emails}
            vip = lists_named(sb, "Fault VIPs")
            states.append(
                {
                    "users": sorted((e, users[e]["first_name"]) for e in emails),
                    "products": sorted(
                        (p["internal_id"], p["title"])
                        for p in products_by_id(sb, [f"F-{i}" for i in range(10)]).values()
                    ),
                    "lists": len(vip),
                    "members": sorted(ids[u] for u in members(sb, vip[0]["id"])),
                    "events": sorted(
                        (ids[k[0]], *k[1:])
                        for k in interactions(sb, [f"F-{i}" for i in range(10)]).elements()
                    ),
                }
            )
        found = rejects(tmp)
        unknown = {
            (
                r["record"]["email"],
                r["record"]["product_internal_id"],
                "extra",
                float(r["record"]["quantity"]),
                None,
            )
            for r in found
            if "outcome unknown" in r["reason"]
        }
        assert len(found) == len([r for r in found if "outcome unknown" in r["reason"]])
        # An event whose answer was lost and cannot be read back is reported, never resent:
        # at most once, and every one missing is in the rejects file.
        events = states[-1].pop("events")
        assert len(events) == len(set(events))
        assert sorted(set(events) | unknown) == sorted(
            (e, f"F-{i % 10}", "extra", float(i + 1), None) for i, e in enumerate(emails)
        )
    assert states[0] == states[1]


def test_dry_run_sends_nothing_and_prints_the_plan(sandbox: RunningSandbox, tmp_path: Path) -> None:
    before = table_counts(sandbox)
    records = every_mode_input(vip_member=1)
    config = base_config(sandbox, tmp_path, streams=STREAMS, dry_run=True)
    run = run_target(config, messages_for(records), tmp_path)
    assert table_counts(sandbox) == before
    assert "POST do " in run.stderr and "POST products " in run.stderr
    assert "dry run: read only, nothing written" in run.stderr
    assert "requests sent" in run.stderr  # a dry run reads (and only reads)
    assert run.states[-1]["done"] is True
    assert not (tmp_path / "ledger.db").exists()
