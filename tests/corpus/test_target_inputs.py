"""Bad-input corpus of target-personyze (issue 11, point 5): one table of bad records and bad
lines, each in a stream of its own between a good record before it and one after it.

The whole table goes through one run of the real ``target-personyze`` executable against a
sandbox; then, per case: the reject names the case's stream (or line), its key where it has
one, and the reason's words; the reason is in the log too; and the good records around the bad
one are in Personyze, read back through the API. The run itself must end with exit code 0 and
its last STATE: no bad input stops it.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connectors.api.query import Query, all_of, cond
from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.readback import get, members, products_by_id, users_by_email
from tests.singer_target.targetruns import TargetRun, base_config, run_target_bytes

pytestmark = pytest.mark.integration

T0 = 1_700_000_000
DOMAIN = "corpus.example.com"
S = "@STREAM@"  # the case's stream name, in raw lines
Row = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    """How a case's stream is configured, and its good records."""

    config: dict[str, Any]
    good: Callable[[str, int], Row]
    marker: str  # the column of a good record that is read back


def _email(case: str, pos: int) -> str:
    return f"{case}.{pos}@{DOMAIN}"


KINDS: dict[str, Kind] = {
    "users": Kind(
        {"object": "users"},
        lambda c, i: {"email": _email(c, i), "first_name": f"{c}-{i}"},
        "email",
    ),
    "users_by_internal_id": Kind(
        {"object": "users", "match_key": "internal_id"},
        lambda c, i: {"internal_id": f"{c}-{i}", "first_name": "x"},
        "internal_id",
    ),
    "users_by_user_id": Kind(
        {"object": "users", "mode": "update", "match_key": "user_id"},
        lambda c, i: {"user_id": None, "custom_t_3": f"{c}-{i}"},  # user_id: filled per run
        "custom_t_3",
    ),
    "products": Kind(
        {"object": "products"},
        lambda c, i: {"internal_id": f"{c}-{i}", "title": f"Corpus {c}", "price": 5},
        "internal_id",
    ),
    "articles": Kind(
        {"object": "articles"},
        lambda c, i: {"internal_id": f"{c}-{i}", "title": f"Corpus {c}"},
        "internal_id",
    ),
    "interactions": Kind(
        {"object": "products_interactions"},
        lambda c, i: {
            "email": _email(c, i),
            "product_internal_id": "SKU-00005",  # events name products that exist
            "status": "viewed",
            "transaction_time": T0 + i,
        },
        "email",
    ),
    "do": Kind(
        {"object": "do"},
        lambda c, i: {"key": _email(c, i), "command": "Product viewed", "item": "SKU-00006"},
        "key",
    ),
    "members": Kind(
        {"object": "user_list_users", "list_id": 1}, lambda c, i: {"email": _email(c, i)}, "email"
    ),
}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    bad: Row | str | bytes  # a record of the case's stream, or a whole raw line
    expect: tuple[str, ...]  # words of the reason
    key: str | None = None  # the key the reject names, when it has one
    line_level: bool = False  # rejected as a line (the reject carries the line number)
    schema: dict[str, Any] = field(default_factory=dict)  # the stream's SCHEMA extras


def raw(text: str) -> str:
    return text


CASES: list[Case] = [
    # -- text that is not valid Unicode (defect 1)
    Case(
        "surrogate_value",
        "users",
        raw(
            '{"type":"RECORD","stream":"@STREAM@","record":{"email":"sv@x.io","first_name":"a\\ud800"}}'
        ),
        ("column 'first_name'", "not valid Unicode"),
        key="sv@x.io",
    ),
    Case(
        "invalid_utf8_value",
        "users",
        b'{"type":"RECORD","stream":"@STREAM@","record":{"email":"iu@x.io","last_name":"\xff\xfe"}}',
        ("column 'last_name'", "UTF-8"),
        key="iu@x.io",
    ),
    Case(
        "truncated_utf8_sequence",
        "users",
        b'{"type":"RECORD","stream":"@STREAM@","record":{"email":"tu@x.io","city":"caf\xc3"}}',
        ("column 'city'", "not valid Unicode"),
        key="tu@x.io",
    ),
    Case(
        "overlong_utf8",
        "products",
        b'{"type":"RECORD","stream":"@STREAM@","record":{"internal_id":"OV","title":"\xc0\xaf"}}',
        ("column 'title'", "UTF-8"),
        key="OV",
    ),
    Case(
        "surrogate_in_column_name",
        "users",
        raw('{"type":"RECORD","stream":"@STREAM@","record":{"email":"sn@x.io","\\udc80x":"v"}}'),
        ("not valid Unicode",),
        key="sn@x.io",
    ),
    Case(
        "surrogate_in_match_key",
        "products",
        raw(
            '{"type":"RECORD","stream":"@STREAM@","record":{"internal_id":"K\\udfff","title":"t"}}'
        ),
        ("column 'internal_id'", "not valid Unicode"),
    ),
    Case(
        "surrogate_in_nested_value",
        "do",
        raw(
            '{"type":"RECORD","stream":"@STREAM@","record":{"key":"sd@x.io",'
            '"command":"User profile","fields":{"first_name":"\\ud83d"}}}'
        ),
        ("column 'fields.first_name'", "not valid Unicode"),
        key="sd@x.io",
    ),
    # -- NaN, Infinity, numbers beyond 64 bits (defects 3 and 5)
    Case(
        "nan_dynamic_column",
        "users",
        raw('{"type":"RECORD","stream":"@STREAM@","record":{"email":"nd@x.io","score":NaN}}'),
        ("column 'score'", "NaN", "JSON cannot carry"),
        key="nd@x.io",
    ),
    Case(
        "infinity_float_column",
        "users",
        raw(
            '{"type":"RECORD","stream":"@STREAM@","record":{"email":"if@x.io","custom_f_1":Infinity}}'
        ),
        ("column 'custom_f_1'", "Infinity"),
        key="if@x.io",
    ),
    Case(
        "minus_infinity_price",
        "products",
        raw(
            '{"type":"RECORD","stream":"@STREAM@","record":{"internal_id":"MI","price":-Infinity}}'
        ),
        ("column 'price'", "-Infinity"),
        key="MI",
    ),
    Case(
        "nan_nested",
        "users",
        raw('{"type":"RECORD","stream":"@STREAM@","record":{"email":"nn@x.io","prefs":{"w":NaN}}}'),
        ("column 'prefs.w'", "NaN"),
        key="nn@x.io",
    ),
    Case(
        "nan_in_list",
        "articles",
        raw('{"type":"RECORD","stream":"@STREAM@","record":{"internal_id":"NL","tags":[1,NaN]}}'),
        ("column 'tags[1]'", "NaN"),
        key="NL",
    ),
    Case(
        "nan_command_argument",
        "do",
        raw(
            '{"type":"RECORD","stream":"@STREAM@","record":{"key":"na@x.io",'
            '"command":"Product viewed","item":"X","quantity":NaN}}'
        ),
        ("column 'quantity'", "NaN"),
        key="na@x.io",
    ),
    Case(
        "exponent_overflow",
        "products",
        raw('{"type":"RECORD","stream":"@STREAM@","record":{"internal_id":"EO","price":1e400}}'),
        ("column 'price'", "64-bit"),
        key="EO",
    ),
    Case(
        "integer_beyond_64_bits",
        "users",
        {"email": "ib@x.io", "loyalty_points": 2**64},
        ("column 'loyalty_points'", "64-bit", "send it as text"),
        key="ib@x.io",
    ),
    Case(
        "user_id_2_pow_63",
        "users_by_user_id",
        {"user_id": 2**63, "custom_t_3": "x"},
        ("match key 'user_id'", "64-bit", "email or internal_id"),
        key=str(2**63),
    ),
    Case(
        "user_id_10_pow_30",
        "users_by_user_id",
        {"user_id": 10**30, "custom_t_3": "x"},
        ("match key 'user_id'", "64-bit"),
        key=str(10**30),
    ),
    Case(
        "user_id_text_beyond_64_bits",
        "users_by_user_id",
        {"user_id": "99999999999999999999", "custom_t_3": "x"},
        ("match key 'user_id'", "64-bit"),
        key="99999999999999999999",
    ),
    Case(
        "user_id_below_int64",
        "users_by_user_id",
        {"user_id": -(2**63) - 1, "custom_t_3": "x"},
        ("match key 'user_id'", "64-bit"),
    ),
    Case(
        "user_id_not_integer",
        "users_by_user_id",
        {"user_id": "abc", "custom_t_3": "x"},
        ("match key 'user_id' must be an integer", "email or internal_id"),
        key="abc",
    ),
    Case(
        "user_id_fraction",
        "users_by_user_id",
        {"user_id": 1.5, "custom_t_3": "x"},
        ("match key 'user_id'", "whole number"),
    ),
    Case(
        "integer_column_text_beyond_64_bits",
        "users",
        {"email": "it@x.io", "custom_i_1": "123456789012345678901234"},
        ("column 'custom_i_1'", "64-bit"),
        key="it@x.io",
    ),
    # -- missing or malformed keys (defect 2 and the record checks)
    Case(
        "missing_key_property",
        "users",
        {"first_name": "no crm id", "email": "mk@x.io"},
        ("key property 'crm_id'", "key_properties"),
        key="mk@x.io",
        schema={"key_properties": ["crm_id"]},
    ),
    Case("missing_match_key", "users", {"first_name": "nobody"}, ("missing match key 'email'",)),
    Case(
        "missing_internal_id",
        "users_by_internal_id",
        {"first_name": "nobody", "email": "mi@x.io"},
        ("missing match key 'internal_id'", "field_map"),
    ),
    Case(
        "internal_id_list",
        "users_by_internal_id",
        {"internal_id": ["a", "b"]},
        ("match key 'internal_id' must be a text or a number",),
    ),
    Case("blank_match_key", "users", {"email": "   "}, ("missing match key 'email'", "blank")),
    Case(
        "match_key_object",
        "products",
        {"internal_id": {"a": 1}, "title": "t"},
        ("match key 'internal_id' must be a text or a number",),
    ),
    Case(
        "invalid_email",
        "users",
        {"email": "not-an-email"},
        ("'not-an-email' is not a valid email address",),
        key="not-an-email",
    ),
    Case(
        "email_two_ats",
        "members",
        {"email": "a@@b.io"},
        ("not a valid email address",),
        key="a@@b.io",
    ),
    # -- values of the wrong type or size
    Case(
        "text_in_integer_column",
        "users",
        {"email": "ti@x.io", "custom_i_1": "seven"},
        ("column 'custom_i_1' expects an integer", "'seven'"),
        key="ti@x.io",
    ),
    Case(
        "text_in_number_column",
        "products",
        {"internal_id": "TN", "price": "cheap"},
        ("column 'price' expects a number",),
        key="TN",
    ),
    Case(
        "value_not_in_enum",
        "products",
        {"internal_id": "VE", "is_in_stock": "maybe"},
        ("column 'is_in_stock' must be one of",),
        key="VE",
    ),
    Case(
        "object_in_text_column",
        "products",
        {"internal_id": "OT", "title": {"en": "t"}},
        ("column 'title' expects a text",),
        key="OT",
    ),
    Case(
        "value_too_long",
        "articles",
        {"internal_id": "TL", "title": "x" * 70_000},
        ("column 'title'", "over the limit of 65,535", "shorten"),
        key="TL",
    ),
    Case(
        "schema_mismatch",
        "users",
        {"email": "sm@x.io", "age": "thirty"},
        ("does not match the stream's SCHEMA", "'thirty' is not of type 'integer'"),
        key="sm@x.io",
        schema={"schema": {"type": "object", "properties": {"age": {"type": "integer"}}}},
    ),
    # -- interactions and do commands
    Case(
        "interaction_without_product",
        "interactions",
        {"email": "ip@x.io", "status": "viewed"},
        ("missing required column 'product_internal_id'",),
        key="ip@x.io",
    ),
    Case(
        "interaction_unknown_column",
        "interactions",
        {"email": "iu2@x.io", "product_internal_id": "P", "status": "goal", "colour": "red"},
        ("unknown column 'colour'", "field_map"),
        key="iu2@x.io",
    ),
    Case(
        "interaction_unknown_status",
        "interactions",
        {"email": "is@x.io", "product_internal_id": "P", "status": "exploded"},
        ("column 'status' must be one of",),
        key="is@x.io",
    ),
    Case(
        "interaction_text_quantity",
        "interactions",
        {"email": "iq@x.io", "product_internal_id": "P", "status": "goal", "quantity": "two"},
        ("column 'quantity' expects a number",),
        key="iq@x.io",
    ),
    Case(
        "do_unknown_command",
        "do",
        {"key": "dc@x.io", "command": "Teleport", "item": "X"},
        ("unknown command 'Teleport'",),
        key="dc@x.io",
    ),
    Case(
        "do_missing_argument",
        "do",
        {"key": "dm@x.io", "command": "Product viewed"},
        ("needs column 'item'",),
        key="dm@x.io",
    ),
    Case(
        "do_unknown_key_type",
        "do",
        {"key_type": "phone", "key": "555", "command": "Product viewed", "item": "X"},
        ("key type 'phone'",),
    ),
    # -- lines that are not Singer messages (defect 9), each with its line number
    Case("not_json", "users", "{broken", ("not JSON", "fix the tap's output"), line_level=True),
    Case(
        "truncated_record_line",
        "users",
        '{"type":"RECORD","stream":"@STREAM@","record":{"email":"tr@x.io"',
        ("not JSON",),
        line_level=True,
    ),
    Case(
        "control_character",
        "users",
        '{"type":"RECORD","stream":"@STREAM@","record":{"email":"cc@x.io","n":"a\tb"}}',
        ("not JSON", "control character"),
        line_level=True,
    ),
    Case(
        "json_array_line",
        "users",
        "[1, 2]",
        ("not a Singer message", "JSON array"),
        line_level=True,
    ),
    Case("json_string_line", "users", '"RECORD"', ("not a Singer message",), line_level=True),
    Case("no_type", "users", '{"stream":"@STREAM@"}', ("has no 'type'",), line_level=True),
    Case(
        "unknown_type",
        "users",
        '{"type":"BOGUS","stream":"@STREAM@"}',
        ("unknown message type 'BOGUS'",),
        line_level=True,
    ),
    Case(
        "record_without_record",
        "users",
        '{"type":"RECORD","stream":"@STREAM@"}',
        ("a RECORD needs 'stream' (a text) and 'record' (an object)",),
        line_level=True,
    ),
    Case(
        "record_is_a_list",
        "users",
        '{"type":"RECORD","stream":"@STREAM@","record":[1]}',
        ("a RECORD needs",),
        line_level=True,
    ),
    Case(
        "state_without_value",
        "users",
        '{"type":"STATE","values":{"x":1}}',
        ("a STATE needs 'value' (an object)",),
        line_level=True,
    ),
    Case(
        "activate_version_without_version",
        "users",
        '{"type":"ACTIVATE_VERSION","stream":"@STREAM@"}',
        ("an ACTIVATE_VERSION needs",),
        line_level=True,
    ),
    Case(
        "record_before_schema",
        "users",
        '{"type":"RECORD","stream":"@STREAM@_unschemed","record":{"email":"rb@x.io"}}',
        ("before any SCHEMA message", "send the stream's SCHEMA first"),
        line_level=True,
    ),
    Case(
        "batch_file_bad_line",
        "users",
        "BATCH",  # a BATCH message whose file holds a good line, a bad one and a good one
        ("line 2 of the BATCH file", "(input line", "not JSON"),
        line_level=True,
    ),
]
assert len({c.id for c in CASES}) == len(CASES)


def stream_of(case: Case) -> str:
    return f"c_{case.id}"


@dataclass
class Corpus:
    run: TargetRun
    rejects: list[dict[str, Any]]
    lines: dict[str, int]  # case -> input line of its bad line
    found: dict[str, set[str]]  # kind -> markers of good records read back
    good: dict[str, list[str]]  # case -> markers of its good records


def build_input(
    tmp: Path, user_ids: list[int]
) -> tuple[bytes, dict[str, int], dict[str, list[str]]]:
    out: list[bytes] = []
    lines: dict[str, int] = {}
    good: dict[str, list[str]] = {}

    def emit(item: Row | str | bytes) -> None:
        if isinstance(item, dict):
            out.append(json.dumps(item).encode())
        elif isinstance(item, str):
            out.append(item.encode("utf-8", "surrogatepass"))
        else:
            out.append(item)

    for case in CASES:
        message = {
            "type": "SCHEMA",
            "stream": stream_of(case),
            "schema": {"type": "object", "properties": {}},
            "key_properties": [],
            **case.schema,
        }
        emit(message)
    ids = iter(user_ids)
    for case in CASES:
        stream, kind = stream_of(case), KINDS[case.kind]
        rows = [kind.good(case.id, 1), kind.good(case.id, 2)]
        if case.kind == "users_by_user_id":
            for row in rows:
                row["user_id"] = next(ids)
        if "key_properties" in case.schema:
            for row in rows:
                row["crm_id"] = "c"
        good[case.id] = [str(r[kind.marker]) for r in rows]
        emit({"type": "RECORD", "stream": stream, "record": rows[0]})
        if case.bad == "BATCH":
            path = tmp / f"{stream}.jsonl.gz"
            extra = [kind.good(case.id, 3), kind.good(case.id, 4)]
            with gzip.open(path, "wb") as f:
                f.write(
                    json.dumps(extra[0]).encode() + b"\n{oops\n" + json.dumps(extra[1]).encode()
                )
            good[case.id] += [str(r[kind.marker]) for r in extra]
            emit(
                {
                    "type": "BATCH",
                    "stream": stream,
                    "encoding": {"format": "jsonl", "compression": "gzip"},
                    "manifest": [path.as_uri()],
                }
            )
        elif isinstance(case.bad, dict):
            emit({"type": "RECORD", "stream": stream, "record": case.bad})
        else:
            text = (
                case.bad
                if isinstance(case.bad, bytes)
                else case.bad.encode("utf-8", "surrogatepass")
            )
            emit(text.replace(S.encode(), stream.encode()))
        lines[case.id] = len(out)
        emit({"type": "RECORD", "stream": stream, "record": rows[1]})
        emit({"type": "STATE", "value": {"case": case.id}})
    return b"".join(x + b"\n" for x in out), lines, good


def read_back(
    sb: RunningSandbox, cases: list[Case], good: dict[str, list[str]], user_ids: list[int]
) -> dict[str, set[str]]:
    """Per kind, the markers of the good records that are in Personyze, read through the API."""
    by_kind: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for case in cases:
        by_kind[case.kind].extend(good[case.id])

    def where_in(obj: str, column: str, values: list[Any]) -> list[dict[str, Any]]:
        if not values:
            return []
        rows: list[dict[str, Any]] = get(
            sb, Query(obj, where=all_of(cond(column, ":", values)), limit=1000)
        )
        return rows

    found: dict[str, set[str]] = {}
    found["users"] = set(users_by_email(sb, by_kind["users"]))
    rows = where_in("users", "internal_id", by_kind["users_by_internal_id"])
    found["users_by_internal_id"] = {r["internal_id"] for r in rows}
    rows = where_in("users", "user_id", user_ids)
    found["users_by_user_id"] = {r["custom_t_3"] for r in rows if r["custom_t_3"]}
    found["products"] = (
        set(products_by_id(sb, by_kind["products"])) if by_kind["products"] else set()
    )
    found["articles"] = {
        r["internal_id"] for r in where_in("articles", "internal_id", by_kind["articles"])
    }
    # events: the users the good records name have an interaction now
    users = users_by_email(sb, by_kind["interactions"] + by_kind["do"])
    ids = sorted({u["user_id"] for u in users.values()})
    with_events = {r["user_id"] for r in where_in("products_interactions", "user_id", ids)}
    found["interactions"] = found["do"] = {
        e for e, u in users.items() if u["user_id"] in with_events
    }
    emails = users_by_email(sb, by_kind["members"])
    in_list = members(sb, 1)
    found["members"] = {e for e, u in emails.items() if u["user_id"] in in_list}
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    tmp = tmp_path_factory.mktemp("target-corpus")
    with running_sandbox("demo", scale=1, seed=11) as sb:
        wanted = 2 * sum(c.kind == "users_by_user_id" for c in CASES)
        user_ids = get(sb, Query("users", column="user_id", order_by=("user_id",), limit=wanted))
        data, lines, good = build_input(tmp, user_ids)
        config = base_config(
            sb,
            tmp,
            max_error_rate=1.0,
            streams={stream_of(c): KINDS[c.kind].config for c in CASES},
        )
        run = run_target_bytes(config, data, tmp, timeout=600)
        text = (tmp / "rejects.jsonl").read_text(encoding="utf-8")
        found_rejects = [json.loads(x, parse_constant=_no_constants) for x in text.splitlines()]
        yield Corpus(run, found_rejects, lines, read_back(sb, CASES, good, user_ids), good)


def _no_constants(token: str) -> Any:
    raise ValueError(f"the rejects file holds {token}, which is not JSON")


def test_the_run_goes_on_to_the_end(corpus: Corpus) -> None:
    assert corpus.run.returncode == 0, corpus.run.stderr[-4000:]
    assert "Traceback" not in corpus.run.stderr
    assert corpus.run.states[-1] == {"case": CASES[-1].id}
    assert len(CASES) >= 30
    assert len(corpus.rejects) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_rejected_with_its_reason_and_the_rows_around_it_land(
    corpus: Corpus, case: Case
) -> None:
    if case.line_level:
        hits = [r for r in corpus.rejects if r["line"] == corpus.lines[case.id]]
    else:
        hits = [r for r in corpus.rejects if r["stream"] == stream_of(case)]
    assert len(hits) == 1, (case.id, hits)
    reject = hits[0]
    for words in case.expect:
        assert words in reject["reason"], (case.id, reject["reason"])
    if case.key is not None:
        assert reject["key"] == case.key
    if not case.line_level:
        assert reject["stream"] == stream_of(case)
    # the reject is a log line with its stream and reason
    shown = re.sub(r"\s+", " ", reject["reason"])[:60]
    assert any("Rejected" in x and shown in x for x in corpus.run.stderr.splitlines()), shown
    missing = set(corpus.good[case.id]) - corpus.found[case.kind]
    assert not missing, (case.id, missing)
