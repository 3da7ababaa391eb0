"""Malformed HTTP gets a plain-text 400 (408 for a body that never arrives), never a closed
connection without an answer nor a 500; an unexpected failure is a plain-text 500, logged.

Each request is written byte for byte on a raw socket; afterwards the data read back through the
API is unchanged and the sandbox still answers."""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.integration.sandbox_rules.answers import _client, ok
from tests.integration.sandbox_rules.raw_http import exchange, request_bytes

pytestmark = pytest.mark.integration

BODY = b'{"email": "framing@example.com", "first_name": "Framed"}'


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox("empty", extra_args=["--body-timeout-ms", "1000"]) as running:
        with _client(running) as c:
            ok(c.post("users", json={"email": "kept@example.com", "first_name": "Kept"}))
        yield running


def _users(sb: RunningSandbox) -> Any:
    with _client(sb) as c:
        return ok(c.get("users/order_by/user_id"))


@pytest.mark.parametrize(
    ("name", "content_length", "headers", "text"),
    [
        ("non-numeric", "abc", {}, "Content-Length must be a number of bytes, not 'abc'"),
        ("negative", "-5", {}, "Content-Length must be a number of bytes, not '-5'"),
        ("signed", "+56", {}, "Content-Length must be a number of bytes, not '+56'"),
        (
            "huge",
            str(10**20),
            {},
            "Content-Length 100000000000000000000 is beyond the sandbox's limit of 67108864 bytes",
        ),
        (
            "twice, different",
            "",
            {"Content-Length": "56", "content-length": "3"},
            "Content-Length is given more than once with different values",
        ),
        (
            "chunked",
            "",
            {"Transfer-Encoding": "chunked"},
            "Transfer-Encoding is not accepted: send the body with a Content-Length",
        ),
    ],
)
def test_bad_framing_is_a_400_and_changes_nothing(
    sb: RunningSandbox, name: str, content_length: str, headers: dict[str, str], text: str
) -> None:
    before = _users(sb)
    data = request_bytes(sb, "POST", "/rest/users", BODY, content_length=content_length,
                         headers=headers)  # fmt: skip
    answer = exchange(sb, data)
    assert (answer.status, answer.text) == (400, text), name
    assert answer.content_type.startswith("text/plain")
    assert answer.connection == "close"  # the rest of the stream cannot be trusted
    assert _users(sb) == before


def test_a_body_shorter_than_its_content_length_times_out_with_408(sb: RunningSandbox) -> None:
    before = _users(sb)
    data = request_bytes(sb, "POST", "/rest/users", BODY[:20], content_length=str(len(BODY)))
    started = time.monotonic()
    answer = exchange(sb, data)  # the socket stays open: the rest of the body never comes
    assert answer.status == 408
    assert answer.text == (
        f"The request body did not arrive within 1 s: 20 of {len(BODY)} bytes (Content-Length)"
    )
    assert answer.connection == "close"
    assert time.monotonic() - started < 15
    assert _users(sb) == before


def test_a_body_cut_short_by_the_client_is_a_400(sb: RunningSandbox) -> None:
    before = _users(sb)
    data = request_bytes(sb, "POST", "/rest/users", BODY[:20], content_length=str(len(BODY)))
    host, port = sb.base_url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # the client has nothing more to send
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, text = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert text.decode() == f"The request body ended after 20 of {len(BODY)} bytes (Content-Length)"
    assert _users(sb) == before


@pytest.mark.parametrize(
    ("request_line", "text"),
    [
        (
            "GET /rest/users/where/email=\xff@example.com HTTP/1.1",
            "The request path must be ASCII: percent-encode any other byte",
        ),
        (
            "GET /rest/users/where/email=%FF%FE HTTP/1.1",
            "bad percent-encoding in '%FF%FE'",
        ),
        (
            "GET /rest/users/where/email=%ED%A0%80 HTTP/1.1",  # a UTF-16 surrogate as UTF-8
            "bad percent-encoding in '%ED%A0%80'",
        ),
        ("GET /rest/users/" + "a" * 70_000 + " HTTP/1.1", "The request line is too long"),
        ("PATCH /rest/users/1 HTTP/1.1", "Method PATCH is not allowed"),
        ("GET /rest/account HTTP/2.0", "Invalid HTTP version (2.0)"),
        ("GET /rest/account", "HTTP/0.9 requests are not accepted"),
        ("GET /rest/account HTTP/1.1 extra", "Bad request version ('extra')"),
        ("GET /rest/account HTTP/1.1\x00", "Bad request version ('HTTP/1.1\\x00')"),
    ],
)
def test_bad_request_lines_are_a_plain_text_400(
    sb: RunningSandbox, request_line: str, text: str
) -> None:
    data = request_bytes(sb, "GET", "/", content_length="")
    data = request_line.encode("latin-1") + data[data.index(b"\r\n") :]
    answer = exchange(sb, data)
    assert (answer.status, answer.text) == (400, text)
    assert answer.content_type.startswith("text/plain")


def test_the_sandbox_keeps_serving_after_malformed_requests(sb: RunningSandbox) -> None:
    for content_length in ("abc", str(2**63), "-1"):
        exchange(sb, request_bytes(sb, "POST", "/rest/users", BODY, content_length=content_length))
    with _client(sb) as c:
        uid = ok(c.post("users", json={"email": "after@example.com"}))
        assert ok(c.get(f"users/{uid}"))["email"] == "after@example.com"


def test_an_unexpected_failure_is_a_plain_text_500_and_is_logged(sb: RunningSandbox) -> None:
    with sqlite3.connect(sb.db_path) as db:  # break the store behind the sandbox's back
        db.execute("DROP TABLE placeholders")
    with _client(sb) as c:
        answer = c.get("placeholders")
        assert (answer.status_code, answer.text) == (500, "Internal server error")
        assert answer.headers["content-type"].startswith("text/plain")
        # the same connection goes on, and the failed request left no write lock behind
        uid = ok(c.post("users", json={"email": "after-500@example.com"}))
        assert ok(c.get(f"users/{uid}"))["email"] == "after-500@example.com"
    log = (sb.db_path.parent / "stderr.log").read_text()
    assert "GET /rest/placeholders failed" in log
    assert "no such table: placeholders" in log  # the traceback goes to the log, not the client
    assert "Traceback" in log


def test_a_well_formed_request_after_the_checks_still_works(sb: RunningSandbox) -> None:
    answer = exchange(sb, request_bytes(sb, "POST", "/rest/users", BODY))
    assert answer.status == 200 and answer.text.isdigit()
    with httpx.Client(auth=("api", sb.api_key)) as c:
        row = c.get(f"{sb.base_url}/users/{answer.text}").json()
    assert (row["email"], row["first_name"]) == ("framing@example.com", "Framed")
