"""The sandbox's share of the bad-input corpus (issue 11 point 5): requests a strict server
refuses, each sent over a real socket, each asserting the status, the exact text, and, read back
through the API, that nothing changed or that exactly the good part was applied.

Every case runs against one sandbox seeded with a few rows of every object it could touch; the
snapshot before and after covers users (every column: a stray new column shows in every row),
products, articles, user_lists, their members and product interactions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.integration.sandbox_rules.raw_http import exchange, request_bytes

pytestmark = pytest.mark.integration

NOT_JSON = "The request body is not valid JSON: "
WHOLE_TABLE = "Cannot do this operation on whole table"
TOO_DEEP = "The request body nests JSON deeper than 512 levels"
BIG = 10**30
WIDE = {f"wide_{n}": n for n in range(5000)}


def good(value: str) -> list[str]:
    """A `do` command that succeeds, and what it changes (each case its own value)."""
    return ["email", "base-1@example.com", "User profile", "custom_t_1", value]


def applied(value: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {("users", "email", "base-1@example.com"): {"custom_t_1": value}}


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    text: str
    body: bytes | None = None
    data: Any = None  # sent as JSON
    headers: dict[str, str] = field(default_factory=dict)
    raw: bool = False  # written byte for byte on a socket
    content_length: str | None = None
    request_line: str | None = None
    applied: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)


def _limit(have: int, adding: list[str]) -> str:
    return (
        f"users may have at most 900 dynamic columns: it has {have} and this request adds "
        f"{len(adding)} ({', '.join(adding[:3])}, …); send fewer new fields"
    )


def _nested(depth: int) -> bytes:
    return b'{"internal_id": "DEEP", "deep": ' + b"[" * depth + b"]" * depth + b"}"


CASES = [
    Case("NaN", "POST", "users", 400, NOT_JSON + "NaN is not a number",
         body=b'{"email": "nan@example.com", "custom_f_1": NaN}'),
    Case("Infinity", "POST", "products", 400, NOT_JSON + "Infinity is not a number",
         body=b'{"internal_id": "INF", "price": Infinity}'),
    Case("-Infinity in a PUT", "PUT", "users/where/email=base-2@example.com", 400,
         NOT_JSON + "-Infinity is not a number", body=b'{"custom_f_1": -Infinity}'),
    Case("beyond a double", "POST", "articles", 400, NOT_JSON + "1e999 is out of range",
         body=b'{"internal_id": "ART-BIG", "score": 1e999}'),
    Case("lone surrogate in a value", "POST", "user_lists", 400,
         "The request body holds a lone UTF-16 surrogate in 'VIP \\udc00'",
         body=b'{"name": "VIP \\udc00"}'),
    Case("lone surrogate in a key", "POST", "products", 400,
         "The request body holds a lone UTF-16 surrogate in '\\ud83d'",
         body=b'{"internal_id": "SUR", "\\ud83d": 1}'),
    Case("invalid UTF-8", "POST", "user_list_users", 400,
         "The request body is not valid UTF-8 (at byte offset 35)",
         body=b'{"user_list_id": 1, "user_email": "\xc3\x28@example.com"}'),
    Case("nested 100,000 deep in do", "POST", "do", 400, TOO_DEEP,
         body=b"[" * 100_000 + b"]" * 100_000),
    Case("nested 600 deep in a value", "POST", "products", 400, TOO_DEEP, body=_nested(600)),
    Case("trailing garbage", "POST", "users", 400, NOT_JSON + "Extra data at line 1 column 31",
         body=b'{"email": "tail@example.com"} }'),
    Case("form fields without the form type", "POST", "users", 400,
         NOT_JSON + "Expecting value at line 1 column 1", body=b"email=form%40example.com"),
    Case("form field not UTF-8", "POST", "user_lists", 400, "The form body is not valid UTF-8",
         body=b"name=%E9t%E9", headers=FORM),
    Case("array for an object", "POST", "users", 400,
         "The body of POST users must be a JSON object", data=[{"email": "arr@example.com"}]),
    Case("object for a do batch", "POST", "do", 400,
         "The body of do must be a JSON array of command arrays",
         data={"commands": [good("object")]}),
    Case("5,000 new columns", "POST", "users", 400, _limit(0, list(WIDE)),
         data={"email": "wide@example.com", **WIDE}),
    Case("new column, whole-table PUT", "PUT", "users", 400, WHOLE_TABLE,
         data={"half_applied": "x"}),
    Case("new column, unknown where column", "PUT", "users/where/no_such=1", 400,
         "Unknown column no_such in where of users", data={"half_applied": "x"}),
    Case("enum value", "POST", "products", 400,
         "Column is_in_stock of products must be one of 'yes', 'no'",
         data={"internal_id": "ENUM", "is_in_stock": 1}),
    Case("do: NaN in a later command runs none", "POST", "do", 400,
         NOT_JSON + "NaN is not a number",
         body=json.dumps([good("nan")]).encode()[:-1] + b', ["email", "n@example.com", "Product '
         b'purchased", "BASE-SKU", "amount", NaN]]'),
    Case("do: unknown product, no stub", "POST", "do", 400,
         "Command 2: products row not found by internal_id=NO-SKU",
         data=[good("stub"), ["email", "stub@example.com", "Product viewed", "NO-SKU"]],
         applied=applied("stub")),
    Case("do: quantity beyond 64 bits", "POST", "do", 400,
         "Command 2: Command 'Product viewed': quantity is out of range (64-bit integers): "
         "10000000000000000000...",
         data=[good("big"), ["email", "q@example.com", "Product viewed", "BASE-SKU",
                             "quantity", BIG]],
         applied=applied("big")),
    Case("do: user_id beyond 64 bits", "POST", "do", 400,
         "Command 1: Column user_id of users is out of range (64-bit integers): "
         "9223372036854775808", data=[["user_id", 2**63, "User profile", "a", "b"]]),
    Case("interaction: unknown product, no stub", "POST", "products_interactions", 400,
         "products row not found by internal_id=NO-SKU",
         data={"user_email": "pi-stub@example.com", "product_internal_id": "NO-SKU",
               "status": "viewed"}),
    Case("member of a missing list, no stub", "POST", "user_list_users", 400,
         "user_lists row not found by id=999999",
         data={"user_list_id": 999999, "user_email": "ml-stub@example.com"}),
    Case("tracker: NaN", "POST", "tracker-v1", 500, NOT_JSON + "NaN is not a number",
         body=b'{"user_id": 4242, "commands": [["Product Viewed", "BASE-SKU", "amount", NaN]]}'),
    Case("tracker: the batch applies nothing", "POST", "tracker-v1", 500,
         "Command 2: products row not found by internal_id=NO-SKU",
         data={"user_id": 4243, "commands": [["Product Viewed", "BASE-SKU"],
                                             ["Product Viewed", "NO-SKU"]]}),
    Case("Content-Length not a number", "POST", "users", 400,
         "Content-Length must be a number of bytes, not '12abc'", raw=True,
         body=b'{"email": "cl@example.com"}', content_length="12abc"),
    Case("Content-Length huge", "POST", "users", 400,
         f"Content-Length {2**64} is beyond the sandbox's limit of 67108864 bytes", raw=True,
         body=b'{"email": "cl@example.com"}', content_length=str(2**64)),
    Case("chunked body", "POST", "users", 400,
         "Transfer-Encoding is not accepted: send the body with a Content-Length", raw=True,
         body=b'1b\r\n{"email": "te@example.com"}\r\n0\r\n\r\n', content_length="",
         headers={"Transfer-Encoding": "chunked"}),
    Case("raw byte in the path", "PUT", "users", 400,
         "The request path must be ASCII: percent-encode any other byte", raw=True,
         body=b'{"first_name": "Zed"}',
         request_line="PUT /rest/users/where/email=base-3\xe9@example.com HTTP/1.1"),
    Case("request line too long", "GET", "users", 400, "The request line is too long",
         raw=True, request_line="GET /rest/users/where/email=" + "x" * 66_000 + " HTTP/1.1"),
    Case("unsupported method", "PATCH", "users/1", 400, "Method PATCH is not allowed",
         raw=True, body=b'{"first_name": "Pat"}'),
]  # fmt: skip


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox("empty") as running, _client(running) as c:
        for n in (1, 2, 3):
            _ok(c.post("users", json={"email": f"base-{n}@example.com", "first_name": f"B{n}"}))
        _ok(c.post("products", json={"internal_id": "BASE-SKU", "title": "Base", "price": 9}))
        _ok(c.post("articles", json={"internal_id": "BASE-ART", "title": "Base article"}))
        list_id = _ok(c.post("user_lists", json={"name": "Base list"}))
        _ok(c.post("user_list_users", json={"user_list_id": list_id, "user_id": 1}))
        _ok(c.post("do", json=[["email", "base-2@example.com", "Product viewed", "BASE-SKU"]]))
        yield running


def _client(sb: RunningSandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.base_url + "/", auth=("api", sb.api_key), timeout=60)


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json() if response.content else None


def _snapshot(c: httpx.Client) -> dict[str, list[Any]]:
    lists = _ok(c.get("user_lists"))
    ids = ",".join(str(row["id"]) for row in lists)
    return {
        "users": _ok(c.get("users/order_by/user_id")),
        "products": _ok(c.get("products/order_by/id")),
        "articles": _ok(c.get("articles/order_by/id")),
        "user_lists": lists,
        "user_list_users": _ok(c.get(f"user_list_users/where/user_list_id:{ids}")),
        "products_interactions": _ok(c.get("products_interactions/order_by/time")),
    }


def _send(sb: RunningSandbox, c: httpx.Client, case: Case) -> tuple[int, str]:
    body = case.body if case.data is None else json.dumps(case.data).encode()
    if not case.raw:
        answer = c.request(case.method, case.path, content=body, headers=case.headers)
        return answer.status_code, answer.text
    data = request_bytes(sb, case.method, "/rest/" + case.path, body or b"",
                         content_length=case.content_length, headers=case.headers)  # fmt: skip
    if case.request_line is not None:
        data = case.request_line.encode("latin-1") + data[data.index(b"\r\n") :]
    raw = exchange(sb, data)
    return raw.status, raw.text


def _rest(snapshot: dict[str, list[Any]], changes: dict[tuple[str, str, str], Any]) -> Any:
    """The snapshot without the rows the case is expected to change."""

    def changed(obj: str, row: dict[str, Any]) -> bool:
        return any(o == obj and row.get(k) == v for o, k, v in changes)

    return {obj: [r for r in rows if not changed(obj, r)] for obj, rows in snapshot.items()}


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_and_changes_nothing_else(sb: RunningSandbox, case: Case) -> None:
    with _client(sb) as c:
        before = _snapshot(c)
        assert _send(sb, c, case) == (case.status, case.text)
        after = _snapshot(c)
    assert _rest(after, case.applied) == _rest(before, case.applied)
    for (obj, key, value), fields in case.applied.items():
        (row,) = [r for r in after[obj] if r.get(key) == value]
        assert {name: row.get(name) for name in fields} == fields
