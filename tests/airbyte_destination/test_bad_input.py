"""destination-personyze never drops an input line silently: a line it cannot parse (not JSON,
NaN, a lone surrogate, bytes that are not UTF-8, JSON that is not a message) is counted and
rejected with its line number and reason, the records around it are written, and the STATE
after it comes out once the records before it are in Personyze. Rejects reach the Airbyte user
as LOG lines (stream, key, reason; the record only when asked) and as counts per stream in the
summary; crossing ``max_error_rate`` fails the sync saying how many and why.

Every run is the real ``destination-personyze`` executable with the input as raw bytes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox
from tests.airbyte_destination import protocol as p
from tests.airbyte_destination.conftest import sandbox_config
from tests.airbyte_destination.test_state import read_until_state

pytestmark = pytest.mark.integration


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def raw_record(stream: str, data: str) -> bytes:
    """A RECORD line whose data is written as given (tokens JSON does not allow)."""
    return (
        f'{{"type":"RECORD","record":{{"stream":"{stream}","data":{data},'
        '"emitted_at":1700000000000}}\n'
    ).encode("utf-8", "surrogatepass")


def strict_rejects(tmp: Path) -> list[dict[str, Any]]:
    def refuse(token: str) -> Any:
        raise ValueError(token)

    text = (tmp / "rejects.jsonl").read_bytes().decode("utf-8")
    return [json.loads(x, parse_constant=refuse) for x in text.splitlines()]


def summary_counts(out: p.Output) -> dict[str, dict[str, str]]:
    """The summary LOG's table: counts by stream."""
    (text,) = [x for x in out.logs() if x.startswith("Personyze write summary")]
    rows = text.splitlines()[1:]
    header = rows[0].split()
    table: dict[str, dict[str, str]] = {}
    for row in rows[1:]:
        cells = row.split()
        if len(cells) < len(header) - 2:
            continue  # a note
        name, numbers = cells[0], cells[-(len(header) - 3) :]
        table[name] = dict(zip(header[3:], numbers, strict=True))
    return table


BAD_LINES: list[tuple[bytes, str]] = [
    (b'{"type":"RECORD","record":{"stream":"users","data":{"email":"x@example.com"\n', "not JSON"),
    (raw_record("users", '{"email":"nan@example.com","score":NaN}'), "column 'score'"),
    (raw_record("users", '{"email":"sur@example.com","first_name":"\\udc00"}'), "Unicode"),
    (
        b'{"type":"RECORD","record":{"stream":"users","data":{"email":"utf@example.com",'
        b'"first_name":"\xc3\x28"},"emitted_at":1700000000000}}\n',
        "UTF-8",
    ),
    (b"[1, 2, 3]\n", "not an Airbyte message"),
    (b'{"type":"RECORD","record":{"data":{"email":"nostream@example.com"}}}\n', "Airbyte"),
]


def test_lines_that_cannot_be_parsed_are_counted_and_rejected_with_their_line_number(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sb = writable_sandbox
    data = line(p.record("users", {"email": "good1@example.com"}))
    data += b"".join(bad for bad, _ in BAD_LINES)
    data += b"\n"  # a blank line: skipped, not a record
    data += line(p.record("users", {"email": "good2@example.com"}))
    data += line(p.state("users", 1))
    config = sandbox_config(sb, tmp_path, max_error_rate=1.0)
    out = p.cli("write", config, configured=p.plain_catalog("users"), raw=data)
    assert out.returncode == 0, out.text()
    assert out.positions() == [1]
    emails = ["good1@example.com", "good2@example.com", "nan@example.com", "sur@example.com"]
    assert sorted(p.users_by_email(sb, emails)) == ["good1@example.com", "good2@example.com"]

    found = strict_rejects(tmp_path)
    assert [r["line"] for r in found] == list(range(2, 2 + len(BAD_LINES)))
    for reject, (_, expected) in zip(found, BAD_LINES, strict=True):
        assert f"input line {reject['line']}" in reject["reason"], reject
        assert expected in reject["reason"], reject
    assert [r["stream"] for r in found[:4]] == ["users"] * 4
    assert found[1]["key"] == "nan@example.com"

    logged = [x for x in out.logs() if x.startswith("Rejected")]
    assert len(logged) == len(BAD_LINES)
    counts = summary_counts(out)
    assert counts["users"]["read"] == "6" and counts["users"]["rejected"] == "4"
    assert counts["total"]["rejected"] == str(len(BAD_LINES))
    assert sb.api_key not in out.text()


def test_the_state_after_a_bad_line_comes_out_once_the_records_before_it_are_in(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sb = writable_sandbox
    config, catalog = tmp_path / "config.json", tmp_path / "catalog.json"
    hold = {"batch_size_rows": 10_000, "max_batch_age_seconds": 3600, "max_error_rate": 1.0}
    config.write_text(json.dumps(sandbox_config(sb, tmp_path, **hold)))
    catalog.write_text(json.dumps(p.plain_catalog("users")))
    proc = subprocess.Popen(
        [str(p.EXECUTABLE), "write", "--config", str(config), "--catalog", str(catalog)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdin is not None
    try:
        before = [f"held{i}@example.com" for i in range(3)]
        data = b"".join(line(p.record("users", {"email": e})) for e in before)
        data += raw_record("users", '{"email":"held-nan@example.com","score":Infinity}')
        data += line(p.state("users", 1))
        proc.stdin.write(data)
        proc.stdin.flush()
        out = read_until_state(proc, timeout=60)
        assert set(p.users_by_email(sb, before)) == set(before)  # in before the STATE came out
        assert any("column 'score'" in m["log"]["message"] for m in out if m["type"] == "LOG")
        state = next(m for m in out if m["type"] == "STATE")["state"]
        assert state["destinationStats"]["recordCount"] == 4  # the rejected line counts
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_each_reject_is_a_log_line_and_the_summary_counts_them_per_stream(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sb = writable_sandbox
    messages = [
        p.record("users", {"email": "r1@example.com", "phone": "555-0101"}),
        p.record("users", {"email": "not-an-email", "phone": "555-0199"}),
        p.record("users", {"first_name": "no key", "phone": "555-0198"}),
        p.record("products", {"internal_id": "R-1", "title": "ok"}),
        p.record("products", {"internal_id": "R-2", "price": "cheap"}),
        p.state("users", 1),
    ]
    config = sandbox_config(sb, tmp_path, max_error_rate=1.0)
    catalog = p.plain_catalog("users", "products")
    out = p.cli("write", config, configured=catalog, messages=messages)
    assert out.returncode == 0, out.text()
    logged = [x for x in out.logs() if x.startswith("Rejected")]
    assert len(logged) == 3
    email = next(x for x in logged if "not-an-email" in x)
    assert "stream 'users'" in email and "key 'not-an-email'" in email
    assert "not a valid email address" in email
    price = next(x for x in logged if "stream 'products'" in x)
    assert "key 'R-2'" in price and "column 'price'" in price
    # no whole rows of personal data in the log unless asked for
    assert "555-0199" not in out.text() and "555-0198" not in out.text()
    assert sb.api_key not in out.text()
    counts = summary_counts(out)
    assert counts["users"]["rejected"] == "2" and counts["products"]["rejected"] == "1"
    assert counts["users"]["created"] == "1" and counts["products"]["created"] == "1"
    assert "R-1" in p.products_by_id(sb, ["R-1", "R-2"])

    asked = {**config, "log_rejected_records": True}
    out = p.cli("write", asked, configured=catalog, messages=messages)
    logged = [x for x in out.logs() if x.startswith("Rejected")]
    assert any("555-0199" in x for x in logged)
    assert sb.api_key not in out.text()


def test_crossing_max_error_rate_fails_saying_how_many_and_why(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sb = writable_sandbox
    messages = [p.record("users", {"email": f"ok{i}@example.com"}) for i in range(90)]
    messages += [p.record("users", {"email": f"broken-{i}"}) for i in range(30)]
    messages += [p.state("users", 1)]
    config = sandbox_config(sb, tmp_path, max_error_rate=0.1, batch_size_rows=1000)
    out = p.cli("write", config, configured=p.plain_catalog("users"), messages=messages)
    assert out.returncode == 1
    (error,) = out.errors()
    assert error["failure_type"] == "config_error"
    message = error["message"]
    assert "30 of 120 records rejected" in message and "max_error_rate" in message
    assert "users: 30" in message  # where
    assert "not a valid email address" in message  # why
    assert out.states() == []
    assert sb.api_key not in out.text()
