"""Bad records land in the rejects file with their reason while the others are written; too
many rejects stop the run. The bad records that target-personyze's test gets too are in
``tests/write_cases.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.write import (
    ErrorRateExceeded,
)
from personyze_sandbox.process import RunningSandbox
from tests.integration.write.runs import Records, write
from tests.readback import (
    interactions,
    members,
    rejects,
    users_by_email,
)
from tests.write_cases import T0, bad_users, unknown_column_event, unknown_command, viewed_event

pytestmark = pytest.mark.integration


def test_bad_records_are_rejected_with_reasons_and_nothing_else_is_lost(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    records: Records = {
        "users": bad_users(),
        "products_interactions": [
            viewed_event(),
            {
                "email": "ok1@example.com",
                "product_internal_id": "NO-SUCH-SKU",
                "status": "goal",
                "transaction_time": T0,
            },
            unknown_column_event(),
            {
                "email": "ok1@example.com",
                "product_internal_id": "SKU-00005",
                "status": "goal",
                "transaction_time": T0 + 1,
            },
        ],
        "do": [
            unknown_command(),
            {
                "key": "ok4@example.com",
                "command": "Product viewed",
                "item": "SKU-00003",
                "quantity": "many",
            },
            {
                "key": "ok4@example.com",
                "command": "Product viewed",
                "item": "SKU-00006",
                "transaction_time": T0,
            },
        ],
        "members": [{"email": "ok1@example.com"}],
        "members_by_column": [
            {"email": "ok4@example.com", "user_list_id": 4242},
            {"email": "ok4@example.com", "user_list_id": 3},
        ],
    }
    config = {
        "members": {"object": "user_list_users", "list_id": 777},
        "members_by_column": {"object": "user_list_users"},
    }
    summary = write(sandbox, config, records, tmp_path)
    found = {(r["stream"], r["key"]): r["reason"] for r in rejects(tmp_path)}
    assert "missing match key 'email'" in found[("users", None)]
    assert "not a valid email" in found[("users", "not-an-email")]
    assert "expects an integer" in found[("users", "ok2@example.com")]
    assert "over the limit of 65,535" in found[("users", "ok3@example.com")]
    assert "NO-SUCH-SKU" in found[("products_interactions", "ok1@example.com")] or any(
        "NO-SUCH-SKU" in r["reason"] for r in rejects(tmp_path)
    )
    assert any("unknown column 'colour'" in r["reason"] for r in rejects(tmp_path))
    assert any("unknown command 'Teleport'" in r["reason"] for r in rejects(tmp_path))
    assert any("quantity 'many' is not a number" in r["reason"] for r in rejects(tmp_path))
    assert "unknown list: no user list has id 777" in found[("members", "ok1@example.com")]
    assert any("id 4242" in r["reason"] for r in rejects(tmp_path))
    assert all("record" in r for r in rejects(tmp_path))
    assert summary.total("rejected") == len(rejects(tmp_path)) == 10
    # every good record is in
    users = users_by_email(sandbox, ["ok1@example.com", "ok4@example.com"])
    assert users["ok1@example.com"]["first_name"] == "Ok"
    assert users["ok4@example.com"]["first_name"] == "Ok4"
    uid1, uid4 = users["ok1@example.com"]["user_id"], users["ok4@example.com"]["user_id"]
    events = interactions(sandbox, ["SKU-00003", "SKU-00005", "SKU-00006", "NO-SUCH-SKU"])
    assert events[(uid1, "SKU-00003", "viewed", 1, None)] == 1
    assert events[(uid1, "SKU-00005", "goal", 1, None)] == 1
    assert events[(uid4, "SKU-00006", "viewed", 1, None)] == 1
    assert uid4 in members(sandbox, 3)
    assert not any(r["key"] is not None and len(r["key"]) > 100 for r in rejects(tmp_path))


def test_error_rate_stops_the_run(sandbox: RunningSandbox, tmp_path: Path) -> None:
    records: Records = {
        "users": [{"email": f"u{i}@example.com"} for i in range(6)] + [{"email": "bad"}] * 4
    }
    with pytest.raises(ErrorRateExceeded) as err:
        write(sandbox, {}, records, tmp_path, min_records_for_error_rate=10, max_error_rate=0.2)
    assert err.value.summary.total("rejected") == 4
    assert "40.0%" in str(err.value)
