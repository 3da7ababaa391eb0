"""The path grammar: build-then-parse returns the same query for arbitrary values, also after
httpx has put the path on the wire."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.api.query import (
    OPERATORS,
    Condition,
    Query,
    QuerySyntaxError,
    all_of,
    any_of,
    build_path,
    cond,
    decode_atom,
    encode_value,
    parse_path,
)

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
# every reserved character of the grammar, percent signs, hex-looking runs and any unicode
values = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("/&|,=!<>:%25AFaf ?#+")), st.characters(exclude_categories=("Cs",))
    ),
    max_size=20,
)
scalar_ops = [op for op in OPERATORS if op not in (":", "!:")]


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    column = draw(names)
    op = draw(st.sampled_from(OPERATORS))
    if op in (":", "!:"):
        return Condition(column, op, tuple(draw(st.lists(values, min_size=1, max_size=4))))
    return Condition(column, op, draw(values))


@st.composite
def queries(draw: st.DrawFn) -> Query:
    where = tuple(
        tuple(draw(st.lists(conditions(), min_size=1, max_size=3)))
        for _ in range(draw(st.integers(0, 3)))
    )
    limit = draw(st.one_of(st.none(), st.integers(0, 10**6)))
    order = tuple(draw(st.lists(names, max_size=3)))
    desc = draw(st.booleans())
    return Query(
        object=draw(st.sampled_from(["users", "products_stats_week", "tracker-v1"])),
        id=draw(st.one_of(st.none(), st.integers(0, 10**12).map(str))),
        where=where,
        columns=tuple(draw(st.lists(names, max_size=4))),
        column=draw(st.one_of(st.none(), names)),
        order_by=() if desc else order,
        order_by_desc=order if desc else (),
        limit=limit,
        offset=None if limit is None else draw(st.one_of(st.none(), st.integers(0, 10**6))),
    )


@settings(max_examples=400)
@given(queries())
def test_build_then_parse_is_identity(q: Query) -> None:
    assert parse_path(build_path(q)) == q


@settings(max_examples=300)
@given(queries())
def test_identity_survives_httpx_on_the_wire(q: Query) -> None:
    """httpx percent-encodes '<' and '>' itself; the parser must still see the same query."""
    raw = httpx.URL("http://127.0.0.1:1/rest/" + build_path(q)).raw_path.decode("ascii")
    assert parse_path(raw.removeprefix("/rest/")) == q


@given(values)
def test_value_survives_one_or_two_decodings(value: str) -> None:
    assert decode_atom(encode_value(value)) == value


@given(values)
def test_a_value_cannot_change_the_query(value: str) -> None:
    q = Query("users", where=all_of(cond("email", "=", value), cond("x", ":", [value, value])))
    parsed = parse_path(build_path(q))
    assert len(parsed.where) == 1 and len(parsed.where[0]) == 2
    assert parsed.where[0][0].value == value and parsed.where[0][1].value == (value, value)


def test_and_binds_tighter_than_or() -> None:
    q = parse_path("users/where/a=1|b=2&c=3")
    assert q.where == (
        (Condition("a", "=", "1"),),
        (Condition("b", "=", "2"), Condition("c", "=", "3")),
    )


@pytest.mark.parametrize(
    "atom,expected",
    [
        ("age_from>=18", Condition("age_from", ">=", "18")),
        ("age_to<=65", Condition("age_to", "<=", "65")),
        ("status!=draft", Condition("status", "!=", "draft")),
        ("status!:draft,archived", Condition("status", "!:", ("draft", "archived"))),
        ("id:1,2,3,4", Condition("id", ":", ("1", "2", "3", "4"))),
        ("time%3E1700000000", Condition("time", ">", "1700000000")),
        ("time%3C=5", Condition("time", "<=", "5")),
        ("session_id=1700000000%252C5", Condition("session_id", "=", "1700000000,5")),
        ("email=a%26b%40x.com", Condition("email", "=", "a&b@x.com")),
        ("name=", Condition("name", "=", "")),
        ("a=!x", Condition("a", "=", "!x")),
    ],
)
def test_documented_operators_and_encodings(atom: str, expected: Condition) -> None:
    assert parse_path(f"users/where/{atom}").where == ((expected,),)


def test_modifiers_in_any_order_and_both_limit_forms() -> None:
    a = parse_path("placeholders/limit/100/where/name=Fake")
    b = parse_path("placeholders/where/name=Fake/limit/100")
    assert a == b and a.limit == 100 and a.offset is None
    q = parse_path("users/order_by_desc/last_session_time,user_id/limit/20,50")
    assert (q.order_by_desc, q.offset, q.limit) == (("last_session_time", "user_id"), 20, 50)
    assert parse_path("placeholders/14").id == "14"
    assert parse_path("users/column/email").column == "email"


@pytest.mark.parametrize(
    "path,message",
    [
        ("users/where/a=1/where/b=2", "more than once"),
        ("users/sort/a", "unknown modifier"),
        ("users/where", "has no value"),
        ("users/limit/ten", "limit must be"),
        ("users/where/=5", "column name"),
        ("users/where/a", "no operator"),
        ("users/columns/a,b c", "invalid column name"),
        ("", "missing object"),
    ],
)
def test_bad_paths_say_what_is_wrong(path: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message):
        parse_path(path)


def test_builders() -> None:
    where = any_of(all_of(cond("a", ">", 1.0), cond("b", "=", True)), all_of(cond("c", ":", [1])))
    assert build_path(Query("users", where=where, limit=50, offset=0)) == (
        "users/where/a>1&b=1|c:1/limit/0,50"
    )
    with pytest.raises(QuerySyntaxError):
        cond("a", ":", 5)
    with pytest.raises(QuerySyntaxError):
        build_path(Query("users", columns=("bad name",)))


def test_a_lone_surrogate_is_refused_clearly() -> None:
    with pytest.raises(QuerySyntaxError, match="not valid Unicode"):
        build_path(Query("users", where=all_of(cond("email", "=", "\ud800"))))
