"""Bad-input corpus of destination-personyze (issue 11, point 5): one table of input lines the
destination cannot take (not JSON, NaN, lone surrogates, invalid UTF-8, JSON that is not an
Airbyte message, a stream the catalog lacks) and records it must refuse, each in a stream of its
own between a good record before it and one after it.

The whole table goes through one run of the real ``destination-personyze write`` against a
sandbox; then, per case: the reject names the case's stream (or its input line), its key where
it has one, and the reason's words; the same reject is a LOG message (the Airbyte user's only
view inside a container); and the good records around the bad one are in Personyze, read back
through the API. The run ends with exit code 0, every STATE echoed, and a summary counting the
rejects per stream. The good records and their read-back are shared with the target's corpus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.api.query import Query
from personyze_sandbox.process import running_sandbox
from tests.airbyte_destination import protocol as p
from tests.corpus.test_target_inputs import KINDS, Case, Row, read_back
from tests.readback import get

pytestmark = pytest.mark.integration

S = "@STREAM@"  # the case's stream name, in raw lines
EMITTED = 1_700_000_000_000


def line_of(data: str) -> str:
    """A RECORD line of the case's stream whose data is written as given."""
    return f'{{"type":"RECORD","record":{{"stream":"{S}","data":{data},"emitted_at":{EMITTED}}}}}'


CASES: list[Case] = [
    # -- lines that are not JSON, or JSON Python's strict encoder refuses (defect 4)
    Case("not_json", "users", "{broken", ("not JSON", "Airbyte sends one"), line_level=True),
    Case(
        "truncated_line",
        "users",
        f'{{"type":"RECORD","record":{{"stream":"{S}","data":{{"email":"tr@x.io"',
        ("not JSON",),
        line_level=True,
    ),
    Case(
        "nan",
        "users",
        line_of('{"email":"na@x.io","score":NaN}'),
        ("column 'score' holds NaN",),
        key="na@x.io",
        line_level=True,
    ),
    Case(
        "infinity",
        "users",
        line_of('{"email":"in@x.io","custom_f_1":Infinity}'),
        ("column 'custom_f_1' holds Infinity",),
        key="in@x.io",
        line_level=True,
    ),
    Case(
        "minus_infinity",
        "products",
        line_of('{"internal_id":"MI","price":-Infinity}'),
        ("column 'price' holds -Infinity",),
        key="MI",
        line_level=True,
    ),
    Case(
        "nan_nested",
        "users",
        line_of('{"email":"nn@x.io","prefs":{"a":[1,NaN]}}'),
        ("column 'prefs.a[1]' holds NaN",),
        key="nn@x.io",
        line_level=True,
    ),
    Case(
        "nan_command_argument",
        "do",
        line_of('{"key":"nc@x.io","command":"Product viewed","item":"SKU-00006","quantity":NaN}'),
        ("column 'quantity' holds NaN",),
        key="nc@x.io",
        line_level=True,
    ),
    Case(
        "lone_surrogate_escape",
        "users",
        line_of('{"email":"ls@x.io","first_name":"x\\ud800"}'),
        ("column 'first_name' is not valid Unicode",),
        key="ls@x.io",
        line_level=True,
    ),
    Case(
        "surrogate_in_column_name",
        "users",
        line_of('{"email":"sc@x.io","\\udfffname":"v"}'),
        ("is not valid Unicode",),
        key="sc@x.io",
        line_level=True,
    ),
    Case(
        "invalid_utf8_byte",
        "users",
        line_of('{"email":"ib@x.io","last_name":"\xff"}').encode("latin-1"),
        ("column 'last_name'", "UTF-8"),
        key="ib@x.io",
        line_level=True,
    ),
    Case(
        "truncated_utf8",
        "articles",
        line_of('{"internal_id":"TU","title":"caf\xc3"}').encode("latin-1"),
        ("column 'title'", "not valid Unicode"),
        key="TU",
        line_level=True,
    ),
    Case(
        "overlong_utf8",
        "products",
        line_of('{"internal_id":"OL","title":"\xc0\xaf"}').encode("latin-1"),
        ("column 'title'", "UTF-8"),
        key="OL",
        line_level=True,
    ),
    Case(
        "utf8_encoded_surrogate",
        "users",
        line_of('{"email":"es@x.io","city":"\xed\xa0\x80"}').encode("latin-1"),
        ("column 'city'", "not valid Unicode"),
        key="es@x.io",
        line_level=True,
    ),
    Case(
        "control_character",
        "users",
        line_of('{"email":"cc@x.io","note":"a\x01b"}'),
        ("not JSON", "control character"),
        line_level=True,
    ),
    # -- JSON that is not an Airbyte message
    Case(
        "json_array",
        "users",
        "[1, 2, 3]",
        ("not an Airbyte message", "JSON array"),
        line_level=True,
    ),
    Case("json_string", "users", '"RECORD"', ("JSON string",), line_level=True),
    Case("json_number", "users", "42", ("JSON number",), line_level=True),
    Case("json_null", "users", "null", ("JSON null",), line_level=True),
    Case(
        "no_type",
        "users",
        f'{{"record":{{"stream":"{S}"}}}}',
        ("'type' is a required property",),
        line_level=True,
    ),
    Case(
        "unknown_type",
        "users",
        '{"type":"BOGUS"}',
        ("not an Airbyte message", "'type' is 'BOGUS'"),
        line_level=True,
    ),
    Case(
        "record_without_stream",
        "users",
        f'{{"type":"RECORD","record":{{"data":{{"email":"ws@x.io"}},"emitted_at":{EMITTED}}}}}',
        ("'stream' is a required property of 'record'",),
        line_level=True,
    ),
    Case(
        "record_without_emitted_at",
        "users",
        f'{{"type":"RECORD","record":{{"stream":"{S}","data":{{"email":"we@x.io"}}}}}}',
        ("'emitted_at' is a required property of 'record'",),
        line_level=True,
    ),
    Case(
        "record_data_is_a_list",
        "users",
        line_of('[{"email":"dl@x.io"}]'),
        ("'data' must be a JSON object, not a JSON array",),
        line_level=True,
    ),
    Case(
        "malformed_state",
        "users",
        '{"type":"STATE","state":{"type":"WHAT"}}',
        ("not an Airbyte message", "'state/type' is 'WHAT'"),
        line_level=True,
    ),
    # -- records the destination refuses before sending
    Case(
        "stream_not_in_catalog",
        "users",
        {"stream": "not_configured", "email": "nc2@x.io"},
        ("stream 'not_configured' is not in the configured catalog",),
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
        "integer_beyond_64_bits",
        "products",
        {"internal_id": "BI", "stock_units": 12345678901234567890123},
        ("column 'stock_units'", "12345678901234567890123", "64-bit"),
        key="BI",
    ),
    Case("missing_match_key", "users", {"first_name": "nobody"}, ("missing match key 'email'",)),
    Case(
        "invalid_email",
        "members",
        {"email": "no-at-sign"},
        ("'no-at-sign' is not a valid email address",),
        key="no-at-sign",
    ),
    Case(
        "text_in_integer_column",
        "users",
        {"email": "ti@x.io", "custom_i_1": "seven"},
        ("column 'custom_i_1' expects an integer",),
        key="ti@x.io",
    ),
    Case(
        "value_not_in_enum",
        "products",
        {"internal_id": "VE", "is_in_stock": "maybe"},
        ("column 'is_in_stock' must be one of",),
        key="VE",
    ),
    Case(
        "value_too_long",
        "articles",
        {"internal_id": "TL", "title": "x" * 70_000},
        ("over the limit of 65,535",),
        key="TL",
    ),
    Case(
        "interaction_unknown_column",
        "interactions",
        {"email": "uc@x.io", "product_internal_id": "SKU-00005", "status": "goal", "size": "L"},
        ("unknown column 'size'",),
        key="uc@x.io",
    ),
    Case(
        "interaction_without_status",
        "interactions",
        {"email": "ws2@x.io", "product_internal_id": "SKU-00005"},
        ("missing required column 'status'",),
        key="ws2@x.io",
    ),
    Case(
        "do_unknown_command",
        "do",
        {"key": "du@x.io", "command": "Self destruct"},
        ("unknown command 'Self destruct'",),
        key="du@x.io",
    ),
    Case(
        "internal_id_blank",
        "users_by_internal_id",
        {"internal_id": " ", "first_name": "x"},
        ("missing match key 'internal_id'",),
    ),
]
assert len({c.id for c in CASES}) == len(CASES)


def stream_of(case: Case) -> str:
    return f"d_{case.id}"


@dataclass
class Corpus:
    out: p.Output
    rejects: list[dict[str, Any]]
    lines: dict[str, int]
    found: dict[str, set[str]]
    good: dict[str, list[str]]


def build_input(user_ids: list[int]) -> tuple[bytes, dict[str, int], dict[str, list[str]]]:
    out: list[bytes] = []
    lines: dict[str, int] = {}
    good: dict[str, list[str]] = {}
    ids = iter(user_ids)
    for position, case in enumerate(CASES):
        stream, kind = stream_of(case), KINDS[case.kind]
        rows: list[Row] = [kind.good(case.id, 1), kind.good(case.id, 2)]
        if case.kind == "users_by_user_id":
            for row in rows:
                row["user_id"] = next(ids)
        good[case.id] = [str(r[kind.marker]) for r in rows]
        out.append(json.dumps(p.record(stream, rows[0], cached=True)).encode())
        if isinstance(case.bad, dict):
            data = dict(case.bad)
            out.append(json.dumps(p.record(str(data.pop("stream", stream)), data)).encode())
        else:
            text = case.bad if isinstance(case.bad, bytes) else case.bad.encode("utf-8")
            out.append(text.replace(S.encode(), stream.encode()))
        lines[case.id] = len(out)
        out.append(json.dumps(p.record(stream, rows[1])).encode())
        out.append(json.dumps(p.state(stream, position)).encode())
    return b"".join(x + b"\n" for x in out), lines, good


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    tmp = tmp_path_factory.mktemp("destination-corpus")
    with running_sandbox("demo", scale=1, seed=11) as sb:
        wanted = 2 * sum(c.kind == "users_by_user_id" for c in CASES)
        user_ids = get(sb, Query("users", column="user_id", order_by=("user_id",), limit=wanted))
        data, lines, good = build_input(user_ids)
        config = {
            "api_key": sb.api_key,
            "base_url": sb.base_url,
            "rejects_path": str(tmp / "rejects.jsonl"),
            "ledger_path": str(tmp / "ledger.sqlite"),
            "max_error_rate": 1.0,
            "streams": {stream_of(c): KINDS[c.kind].config for c in CASES},
        }
        catalog = p.plain_catalog(*(stream_of(c) for c in CASES))
        out = p.cli("write", config, configured=catalog, raw=data, timeout=600)
        text = (tmp / "rejects.jsonl").read_text(encoding="utf-8")
        found = [json.loads(x, parse_constant=_no_constants) for x in text.splitlines()]
        assert sb.api_key not in out.text()
        yield Corpus(out, found, lines, read_back(sb, CASES, good, user_ids), good)


def _no_constants(token: str) -> Any:
    raise ValueError(f"the rejects file holds {token}, which is not JSON")


def test_the_sync_goes_on_to_the_end_and_counts_every_reject(corpus: Corpus) -> None:
    assert corpus.out.returncode == 0, corpus.out.text()[-4000:]
    assert corpus.out.errors() == []
    assert corpus.out.positions() == list(range(len(CASES)))  # every STATE echoed, in order
    assert len(corpus.rejects) == len(CASES) >= 30
    (summary,) = [x for x in corpus.out.logs() if x.startswith("Personyze write summary")]
    total = next(row for row in summary.splitlines() if row.startswith("total")).split()
    header = summary.splitlines()[1].split()
    assert total[header.index("rejected") - 2] == str(len(CASES))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_rejected_with_its_reason_and_the_rows_around_it_land(
    corpus: Corpus, case: Case
) -> None:
    if case.line_level:
        hits = [r for r in corpus.rejects if r["line"] == corpus.lines[case.id]]
    elif isinstance(case.bad, dict) and "stream" in case.bad:
        hits = [r for r in corpus.rejects if r["stream"] == case.bad["stream"]]
    else:
        hits = [r for r in corpus.rejects if r["stream"] == stream_of(case)]
    assert len(hits) == 1, (case.id, hits)
    reject = hits[0]
    for words in case.expect:
        assert words in reject["reason"], (case.id, reject["reason"])
    if case.key is not None:
        assert reject["key"] == case.key
    logged = [x for x in corpus.out.logs() if x.startswith("Rejected")]
    assert any(reject["reason"][:80] in x for x in logged), reject["reason"]
    missing = set(corpus.good[case.id]) - corpus.found[case.kind]
    assert not missing, (case.id, missing)
