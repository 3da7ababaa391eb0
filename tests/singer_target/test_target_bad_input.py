"""One bad record never blocks target-personyze: each becomes a reject with its reason (stream,
key, field, what to do), the records around it are written and read back through the API, the
STATE after it follows, and a rerun of the same input does the same. Input that is not a record
(a blank line, a line that is not JSON, a BATCH file that is missing) is skipped, rejected or
fails with a message naming the stream, the file and the line.

Every run is the real ``target-personyze`` executable with the input as raw bytes on stdin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.api.query import Query, all_of, cond
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.readback import get, products_by_id, users_by_email
from tests.singer_target.targetruns import TargetRun, base_config, run_target_bytes

pytestmark = pytest.mark.integration

STATE = {"type": "STATE", "value": {"done": True}}


@pytest.fixture
def sandbox() -> Any:
    with running_sandbox("demo", scale=1, seed=11) as sb:
        yield sb


def schema(stream: str, keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": {}},
        "key_properties": keys or [],
    }


def rec(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


def lines(*items: dict[str, Any] | str | bytes) -> bytes:
    """Messages (dicts) and raw lines (text or bytes, written as given) as stdin bytes."""
    out = b""
    for item in items:
        if isinstance(item, dict):
            out += json.dumps(item).encode() + b"\n"
        elif isinstance(item, str):
            out += item.encode("utf-8", "surrogatepass") + b"\n"
        else:
            out += item + b"\n"
    return out


def strict_json(text: str) -> Any:
    def refuse(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def rejects_strict(tmp: Path) -> list[dict[str, Any]]:
    """The rejects file, each line strict JSON (no NaN, valid UTF-8)."""
    path = tmp / "rejects.jsonl"
    if not path.exists():
        return []
    return [strict_json(line) for line in path.read_bytes().decode("utf-8").splitlines()]


def reject_of(found: list[dict[str, Any]], stream: str, key: str | None) -> str:
    (match,) = [r["reason"] for r in found if r["stream"] == stream and r["key"] == key]
    return str(match)


def assert_no_traceback(run: TargetRun) -> None:
    assert "Traceback" not in run.stderr, run.stderr[-3000:]


def test_text_that_is_not_unicode_is_rejected_and_the_rest_written_every_run(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # A lone surrogate escape, and raw bytes that are not UTF-8: defect 1 of issue 11.
    data = lines(
        schema("users", ["email"]),
        rec("users", {"email": "u1@example.com", "first_name": "Before"}),
        '{"type":"RECORD","stream":"users","record":{"email":"u2@example.com",'
        '"first_name":"\\ud800x"}}',
        b'{"type":"RECORD","stream":"users","record":{"email":"u3@example.com",'
        b'"last_name":"\xff\xfe"}}',
        rec("users", {"email": "u4@example.com", "first_name": "After"}),
        STATE,
    )
    config = base_config(sandbox, tmp_path, max_error_rate=1.0)
    for attempt in range(2):  # the same input again is not blocked by the same record
        run = run_target_bytes(config, data, tmp_path)
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.states == [{"done": True}]
        assert_no_traceback(run)
        users = users_by_email(sandbox, [f"u{i}@example.com" for i in range(1, 5)])
        assert sorted(users) == ["u1@example.com", "u4@example.com"]
        assert users["u4@example.com"]["first_name"] == "After"
        found = rejects_strict(tmp_path)
        assert len(found) == 2 * (attempt + 1)
        first = reject_of(found[-2:], "users", "u2@example.com")
        assert "column 'first_name'" in first and "not valid Unicode" in first
        second = reject_of(found[-2:], "users", "u3@example.com")
        assert "column 'last_name'" in second and "UTF-8" in second


def test_a_record_without_its_key_property_is_rejected(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    data = lines(
        schema("users", ["crm_id"]),
        rec("users", {"crm_id": "c1", "email": "k1@example.com"}),
        rec("users", {"email": "k2@example.com", "first_name": "no crm id"}),
        rec("users", {"crm_id": "c3", "email": "k3@example.com"}),
        STATE,
    )
    run = run_target_bytes(base_config(sandbox, tmp_path, max_error_rate=1.0), data, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"done": True}]
    assert_no_traceback(run)
    users = users_by_email(sandbox, ["k1@example.com", "k2@example.com", "k3@example.com"])
    assert sorted(users) == ["k1@example.com", "k3@example.com"]
    reason = reject_of(rejects_strict(tmp_path), "users", "k2@example.com")
    assert "key property 'crm_id'" in reason and "key_properties" in reason


def test_a_user_id_beyond_64_bits_is_rejected_before_sending(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    ids = get(sandbox, Query("users", column="user_id", order_by=("user_id",), limit=3))
    data = lines(
        schema("upd", ["user_id"]),
        rec("upd", {"user_id": ids[0], "first_name": "Big0"}),
        rec("upd", {"user_id": 2**63, "first_name": "Huge"}),
        rec("upd", {"user_id": 10**30, "first_name": "Huger"}),
        rec("upd", {"user_id": "99999999999999999999", "first_name": "Text"}),
        rec("upd", {"user_id": ids[1], "first_name": "Big1"}),
        STATE,
    )
    config = base_config(
        sandbox,
        tmp_path,
        max_error_rate=1.0,
        streams={"upd": {"object": "users", "mode": "update", "match_key": "user_id"}},
    )
    run = run_target_bytes(config, data, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"done": True}]
    found = rejects_strict(tmp_path)
    assert sorted(r["key"] for r in found) == sorted(
        [str(2**63), str(10**30), "99999999999999999999"]
    )
    for r in found:
        assert r["stream"] == "upd"
        assert "match key 'user_id'" in r["reason"] and "64-bit" in r["reason"]
        assert "email or internal_id" in r["reason"]  # what to do
    rows = get(sandbox, Query("users", where=all_of(cond("user_id", ":", ids[:2])), limit=10))
    assert sorted(r["first_name"] for r in rows) == ["Big0", "Big1"]


def test_nan_and_infinity_are_rejected_naming_the_column(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    data = lines(
        schema("users", ["email"]),
        rec("users", {"email": "n1@example.com", "score": 1.5}),
        '{"type":"RECORD","stream":"users","record":{"email":"n2@example.com","score":NaN}}',
        '{"type":"RECORD","stream":"users","record":{"email":"n3@example.com",'
        '"custom_f_1":Infinity}}',
        rec("users", {"email": "n4@example.com", "score": 2.5}),
        schema("products", ["internal_id"]),
        rec("products", {"internal_id": "NAN-1", "price": 1}),
        '{"type":"RECORD","stream":"products","record":{"internal_id":"NAN-2","price":-Infinity}}',
        rec("products", {"internal_id": "NAN-3", "price": 3}),
        STATE,
    )
    run = run_target_bytes(base_config(sandbox, tmp_path, max_error_rate=1.0), data, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"done": True}]
    found = rejects_strict(tmp_path)  # strict JSON: NaN is not written as a bare token
    assert "column 'score'" in reject_of(found, "users", "n2@example.com")
    assert "NaN" in reject_of(found, "users", "n2@example.com")
    assert "column 'custom_f_1'" in reject_of(found, "users", "n3@example.com")
    assert "column 'price'" in reject_of(found, "products", "NAN-2")
    users = users_by_email(sandbox, [f"n{i}@example.com" for i in range(1, 5)])
    assert sorted(users) == ["n1@example.com", "n4@example.com"]
    assert sorted(products_by_id(sandbox, ["NAN-1", "NAN-2", "NAN-3"])) == ["NAN-1", "NAN-3"]


def test_a_match_key_with_spaces_is_trimmed_for_lookup_write_and_count(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    data = lines(
        schema("products", ["internal_id"]),
        rec("products", {"internal_id": " SKU-00003 ", "title": "Trimmed existing"}),
        rec("products", {"internal_id": "  SP-NEW\t", "title": "Trimmed new"}),
        STATE,
    )
    run = run_target_bytes(base_config(sandbox, tmp_path), data, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    found = products_by_id(sandbox, ["SKU-00003", " SKU-00003 ", "SP-NEW", "  SP-NEW\t"])
    assert sorted(found) == ["SKU-00003", "SP-NEW"]  # no row with the spaces
    assert found["SKU-00003"]["title"] == "Trimmed existing"
    summary = next(line for line in run.stderr.splitlines() if line.startswith("products"))
    header = next(line for line in run.stderr.splitlines() if line.startswith("stream"))
    counts = dict(zip(header.split(), summary.split(), strict=True))
    assert (counts["created"], counts["updated"]) == ("1", "1")


def test_blank_lines_are_skipped(sandbox: RunningSandbox, tmp_path: Path) -> None:
    data = lines(
        schema("users", ["email"]),
        "",
        rec("users", {"email": "b1@example.com"}),
        "   ",
        "\r",
        rec("users", {"email": "b2@example.com"}),
        STATE,
        "",
    )
    run = run_target_bytes(base_config(sandbox, tmp_path), data, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"done": True}]
    assert sorted(users_by_email(sandbox, ["b1@example.com", "b2@example.com"])) == [
        "b1@example.com",
        "b2@example.com",
    ]
    assert rejects_strict(tmp_path) == []


def test_a_line_that_is_not_json_is_rejected_with_its_line_number(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    data = lines(
        schema("users", ["email"]),
        rec("users", {"email": "j1@example.com"}),
        '{"type":"RECORD","stream":"users","record":{"email":"j2@example.com"',
        "not json at all",
        rec("users", {"email": "j3@example.com"}),
        STATE,
    )
    run = run_target_bytes(base_config(sandbox, tmp_path, max_error_rate=1.0), data, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"done": True}]
    assert_no_traceback(run)
    found = rejects_strict(tmp_path)
    assert [r["line"] for r in found] == [3, 4]
    assert found[0]["stream"] == "users"  # named by the broken line itself
    assert all("input line" in r["reason"] and "not JSON" in r["reason"] for r in found)
    assert sorted(users_by_email(sandbox, ["j1@example.com", "j3@example.com"])) == [
        "j1@example.com",
        "j3@example.com",
    ]


def test_a_missing_batch_file_fails_naming_stream_file_and_line(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    missing = tmp_path / "gone" / "users-1.jsonl"
    data = lines(
        schema("users", ["email"]),
        rec("users", {"email": "f1@example.com"}),
        {"type": "STATE", "value": {"before": True}},
        {
            "type": "BATCH",
            "stream": "users",
            "encoding": {"format": "jsonl", "compression": "none"},
            "manifest": [missing.as_uri()],
        },
        STATE,
    )
    run = run_target_bytes(base_config(sandbox, tmp_path), data, tmp_path)
    assert run.returncode == 1
    assert_no_traceback(run)
    error = next(line for line in run.stderr.splitlines() if "ERROR" in line)
    assert "stream 'users'" in error and str(missing) in error and "line 4" in error
    assert "batch" in error.lower() and "rerun" in error
    # What came before the BATCH message is written and its STATE emitted; nothing after.
    assert "f1@example.com" in users_by_email(sandbox, ["f1@example.com"])
    assert run.states == [{"before": True}]


def test_each_reject_is_a_log_line_without_the_record_unless_asked(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    data = lines(
        schema("users", ["email"]),
        rec("users", {"email": "l1@example.com"}),
        rec("users", {"email": "l2@example.com", "custom_i_1": "seven", "phone": "555-0199"}),
        STATE,
    )
    config = base_config(sandbox, tmp_path, max_error_rate=1.0)
    run = run_target_bytes(config, data, tmp_path)
    (line,) = [x for x in run.stderr.splitlines() if "Rejected" in x]
    assert "stream 'users'" in line and "key 'l2@example.com'" in line
    assert "column 'custom_i_1'" in line
    assert "555-0199" not in run.stderr  # the row's other data stays out of the log
    run = run_target_bytes({**config, "log_rejected_records": True}, data, tmp_path)
    (line,) = [x for x in run.stderr.splitlines() if "Rejected" in x]
    assert "555-0199" in line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            {"type": "SCHEMA", "stream": "users", "schema": {"type": "object"}},
            "input line 3: the SCHEMA of stream 'users' has no 'properties' object",
        ),
        (
            {"type": "BATCH", "stream": "users", "encoding": {"format": "jsonl"}},
            "input line 3: a BATCH needs 'stream' (a text) and 'encoding' (an object) and "
            "'manifest' (an array)",
        ),
    ],
    ids=["schema-without-properties", "batch-without-manifest"],
)
def test_a_message_without_which_a_stream_cannot_be_read_fails_naming_the_line(
    sandbox: RunningSandbox, tmp_path: Path, line: dict[str, Any], expected: str
) -> None:
    data = lines(
        schema("users", ["email"]),
        rec("users", {"email": "m1@example.com"}),
        line,
        rec("users", {"email": "m2@example.com"}),
        STATE,
    )
    run = run_target_bytes(base_config(sandbox, tmp_path), data, tmp_path)
    assert run.returncode == 1
    assert_no_traceback(run)
    error = next(x for x in run.stderr.splitlines() if "ERROR" in x)
    assert expected in error and "fix the tap's output" in error
    assert run.states == []  # no STATE had arrived: nothing to checkpoint
    assert users_by_email(sandbox, ["m2@example.com"]) == {}
