"""Row caps, limits and scan rules of the sandbox (api §4.7, §4.8, §5, §9 C5, U3, U5), over real
HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.sandbox_rules.answers import (
    WHOLE_TABLE,
    ids,
    ok,
    refused,
)

pytestmark = pytest.mark.integration


# ---- row caps and limits (api §4.7, §9 C5, U3) -----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "users/where/user_id>0",  # range operator on an indexed column
        "users/where/user_id>=1&email!=nobody@example.com",  # '!='
        "products/where/id!=1",  # '!=' on the primary key
        "products/where/id!:1,2,3",  # '!:'
        "products/where/category=garden|category=tools|category=toys|category=kitchen"
        "|category=outdoor|category=office|category=home|category=sports",  # non-indexed
    ],
)
def test_slow_queries_are_capped_at_50_rows(demo: httpx.Client, path: str) -> None:
    assert len(ok(demo.get(path))) == 50  # the default row count of a slow query
    assert len(ok(demo.get(path + "/limit/50"))) == 50
    assert len(ok(demo.get(path + "/limit/0,50"))) == 50
    r = demo.get(path + "/limit/51")
    assert (r.status_code, r.content) == (400, b"")  # a bare 400
    r = demo.get(path + "/limit/10,51")
    assert (r.status_code, r.content) == (400, b"")
    assert len(ok(demo.get(path + "/limit/10,50"))) == 50  # the cap counts rows, not offset


def test_fast_queries_default_to_1000_rows_and_in_lists_are_not_slow(demo: httpx.Client) -> None:
    rows = ok(demo.get("users/order_by/user_id"))
    assert ids(rows) == list(range(1, 1001))  # 2,000 users, at most 1000 by default
    products = ok(demo.get("products/order_by/id/column/id"))
    assert products == list(range(1, 401))  # all 400 products: fewer than 1000
    wanted = list(range(1, 121))
    rows = ok(demo.get("products/where/id:" + ",".join(map(str, wanted)) + "/limit/120"))
    assert sorted(ids(rows, "id")) == wanted  # ':' on an index is not a slow query


def test_offset_plus_limit_is_capped_at_1000(demo: httpx.Client) -> None:
    assert ids(ok(demo.get("users/order_by/user_id/limit/990,10"))) == list(range(991, 1001))
    assert len(ok(demo.get("users/order_by/user_id/limit/1000"))) == 1000
    assert len(ok(demo.get("users/order_by/user_id/limit/0,1000"))) == 1000
    for path in (
        "users/order_by/user_id/limit/991,10",
        "users/order_by/user_id/limit/1001",
        "users/order_by/user_id/limit/1000,1",
    ):
        r = demo.get(path)
        assert (r.status_code, r.content) == (400, b""), path


def test_limit_forms_give_the_right_slices(demo: httpx.Client) -> None:
    assert ids(ok(demo.get("users/order_by/user_id/limit/5"))) == [1, 2, 3, 4, 5]
    assert ids(ok(demo.get("users/order_by/user_id/limit/7,3"))) == [8, 9, 10]
    assert ok(demo.get("users/order_by/user_id/limit/0")) == []
    # keyset paging under the slow cap
    page = ok(demo.get("users/where/user_id>100/order_by/user_id/limit/20,50"))
    assert ids(page) == list(range(121, 171))
    desc = ok(demo.get("users/order_by_desc/user_id/limit/2,3"))
    assert ids(desc) == [1998, 1997, 1996]


# ---- scan rules (api §4.8, §5, U5) -----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "users",
        "users/limit/10",
        "users/where/first_name=Hiro",
        "users/order_by/first_name/limit/5",
        "users/where/email=a@example.com|first_name=Hiro",  # one OR branch has no index
        "users/where/user_id!=5",  # '!=' cannot use an index
        "events",
        "events/order_by/id/limit/5",
        "events/where/value=x",
        "forms/order_by/time/limit/5",
        "sessions_archive/where/city=Osaka",
        "sessions_archive/order_by/first_visit_id/limit/5",
        "user_interests/where/class=category",
        "user_interests/order_by/time/limit/5",
        "summary_actions",
        "summary_actions/order_by/day/limit/5",
        "summary_actions/where/action_id=1",
        "products_stats_week",
        "products_stats_all/where/overall_n_viewed>0",
        "products_interactions/where/amount>10",
    ],
)
def test_scans_are_refused(demo: httpx.Client, path: str) -> None:
    refused(demo.get(path), WHOLE_TABLE)


@pytest.mark.parametrize(
    "path",
    [
        "users/order_by/email/limit/5",
        "users/order_by_desc/data_last_modified/limit/0,1",
        "users/where/user_id=5",
        "events/where/container_id=1234/limit/5",
        "events/where/id>100/limit/5",
        "forms/where/time>1/limit/5",
        "sessions_archive/where/user_id=5/limit/5",
        "user_interests/where/time>1/limit/5",
        "summary_actions/where/day>1/limit/5",
        "summary_actions/where/day>1&action_id=1/limit/5",
        "products_stats_week/order_by_desc/n_viewed/limit/5",
        "products_stats_1day/where/internal_id=SKU-00001",
        "products_interactions/order_by/time/limit/5",
        "placeholders",
        "user_lists",
        "actions",
        "conditions",
        "containers_grab_variable",
    ],
)
def test_indexed_reads_are_served(demo: httpx.Client, path: str) -> None:
    rows = ok(demo.get(path))
    assert isinstance(rows, list) and rows, path


def test_put_and_delete_without_id_or_where_are_refused(demo: httpx.Client) -> None:
    before = ok(demo.get("placeholders"))
    for method, path, field in (
        ("PUT", "users", "first_name"),
        ("DELETE", "users", ""),
        ("PUT", "products", "title"),
        ("DELETE", "products", ""),
        ("PUT", "placeholders", "name"),
        ("PUT", "placeholders/order_by/id", "name"),
        ("DELETE", "placeholders/order_by/id", ""),
        ("DELETE", "user_lists/limit/5", ""),
    ):
        body = {field: "wiped"} if method == "PUT" else None
        refused(demo.request(method, path, json=body), WHOLE_TABLE)
    assert ok(demo.get("placeholders")) == before
    assert len(ok(demo.get("products/order_by/id/limit/400"))) == 400
    assert "wiped" not in ok(demo.get("products/order_by/id/column/title/limit/400"))
