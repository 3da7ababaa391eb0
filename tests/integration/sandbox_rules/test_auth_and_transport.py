"""Account, tracker code, authentication and content types (api §1.3, §2.2, §5.18, §5.19), and
numbers beyond SQLite's range."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from personyze_sandbox.process import RunningSandbox
from tests.integration.sandbox_rules.answers import (
    _client,
    ok,
    refused,
)

pytestmark = pytest.mark.integration


# ---- account, tracker code, auth, content types (api §1.3, §2.2, §5.18, §5.19) ---------------


def test_account_and_tracker_code(demo: httpx.Client) -> None:
    r = demo.get("account")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    account = r.json()
    assert isinstance(account, dict) and isinstance(account["account_id"], int)
    r = demo.get("tracker_code")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.startswith("<script>") and r.text.rstrip().endswith("</script>")
    assert f"_S_T.setup({account['account_id']}, " in r.text
    assert "lcounter.personyze.com/stat-track-lib.js" in r.text


def test_authentication(empty_sb: RunningSandbox) -> None:
    url = empty_sb.base_url + "/account"
    good = base64.b64encode(f"api:{empty_sb.api_key}".encode()).decode()
    wrong = base64.b64encode(b"api:0000000000000000000000000000000000000000").decode()
    assert httpx.get(url, headers={"Authorization": f"Basic {good}"}).status_code == 200
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer " + good},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic"},
    ):
        r = httpx.get(url, headers=headers)
        assert (r.status_code, r.text) == (401, "Please, log in"), headers
    r = httpx.get(url, headers={"Authorization": f"Basic {wrong}"})
    assert r.status_code == 401 and empty_sb.api_key not in r.text
    r = httpx.get(url, auth=("api", empty_sb.api_key.lower()))
    assert r.status_code == 401
    r = httpx.post(empty_sb.base_url + "/users", json={"email": "unauth@example.com"})
    assert r.status_code == 401
    with _client(empty_sb) as c:
        assert ok(c.get("users/where/email=unauth@example.com")) == []


def test_form_urlencoded_body_is_accepted(empty: httpx.Client) -> None:
    r = empty.post(
        "placeholders",
        content=b"name=Legacy+form&html_id=%23legacy&units_count_max=2",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    new_id = ok(r)
    row = ok(empty.get(f"placeholders/{new_id}"))
    assert (row["name"], row["html_id"], row["units_count_max"]) == ("Legacy form", "#legacy", 2)
    # JSON sent with the form content type (curl --data) is parsed as JSON
    r = empty.put(
        f"placeholders/{new_id}",
        content=b'{"name": "Curl data"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ok(r) == 1
    assert ok(empty.get(f"placeholders/{new_id}"))["name"] == "Curl data"


def test_out_of_range_numbers_are_refused_without_locking_the_database(
    empty: httpx.Client,
) -> None:
    huge = 10**30  # beyond SQLite's 64-bit integers
    before = ok(empty.get("placeholders"))
    refused(empty.post("placeholders", json={"name": "Huge", "units_count_max": huge}))
    refused(empty.get(f"users/{huge}"))
    assert ok(empty.get("placeholders")) == before
    batch = [["email", "overflow@example.com", "Product viewed", "BAD-SKU", "quantity", huge]]
    ok(empty.post("products", json={"internal_id": "BAD-SKU", "title": "Bad item"}))
    refused(empty.post("do", json=batch))
    started = time.monotonic()
    new_id = ok(empty.post("placeholders", json={"name": "After overflow"}))
    assert time.monotonic() - started < 5  # the failed batch left no write lock behind
    assert ok(empty.get(f"placeholders/{new_id}"))["name"] == "After overflow"
    assert ok(empty.get("users/where/email=overflow@example.com")) == []
