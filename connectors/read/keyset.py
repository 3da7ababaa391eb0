"""Tie-safe keyset paging within the API's caps (api §4.7, design §3).

A range query (``c>=B``) is "slow", so it returns at most 50 rows; ``offset+limit`` may not
exceed 1000, so offsets cannot page far. The scan therefore moves a lower bound along the key:

- a page holding several key values: its rows before the last value are complete groups (the
  page is sorted and starts at the bound), so they are emitted and the bound moves to the last
  value, inclusive, to re-read that value's rows with the next page (a unique key has no such
  group: the whole page is emitted and the bound moves past its last value);
- a page holding one value V, or ending with what looks like the start of a long group of V
  (``long_group_at_end``): the whole group
  is read by one equality query (indexed equality is not slow, so up to 1000 rows), and the
  bound becomes ``c>V``; a group of 1000 or more goes on by the object's tie-breaker: when it
  is unique, a second equality read takes the group's other end (sorted down), and only the
  rows between the two, if any, are paged with the same scan inside ``c=V``.

Every group is thus emitted from one response or from one split, so no row is lost or repeated,
objects without a primary key keep identical rows, and no set of seen keys grows with a stream.
Each ``Checkpoint`` also carries the digests of the rows at its value (``connectors.read.digest``),
taken when the rows arrive, so that a sync's state can say which of them were emitted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.api.errors import PersonyzeError
from connectors.api.query import Condition, Query, all_of, cond
from connectors.read.digest import row_digest

Row = dict[str, Any]
KeyValue = int | str


class QueryClient(Protocol):
    """What the read engine needs of ``connectors.api.client.PersonyzeClient``."""

    def get(self, query: Query) -> Any: ...


@dataclass(frozen=True)
class Checkpoint:
    """Every row of this read (range and partition) with key <= ``value`` was yielded before;
    ``digest`` lists the digests of the rows with key == ``value`` among them (sorted)."""

    value: KeyValue
    digest: tuple[str, ...] = ()


Item = Row | Checkpoint


class UnpageableGroup(PersonyzeError):
    """More rows share one key value than one equality read returns, and no tie-breaker
    (or the tie-breaker itself) can split them."""


class NoProgress(PersonyzeError):
    """A page did not move the scan forward: the API ignored the bound or the order."""


@dataclass(frozen=True)
class Bound:
    value: KeyValue
    inclusive: bool

    def condition(self, column: str) -> Condition:
        return cond(column, ">=" if self.inclusive else ">", self.value)


@dataclass(frozen=True)
class ScanPlan:
    """The spec facts a scan needs, resolved once per read."""

    object: str
    tie_breaker: str | None
    page_size: int
    group_cap: int
    # Columns whose values are unique (a one-column primary key): no group spans two pages.
    unique: frozenset[str] = frozenset()


def page_query(
    plan: ScanPlan,
    prefix: tuple[Condition, ...],
    column: str,
    lower: Bound | None,
    upper: KeyValue | None,
) -> Query:
    conditions = list(prefix)
    if lower is not None:
        conditions.append(lower.condition(column))
    if upper is not None:
        conditions.append(cond(column, "<=", upper))
    return Query(
        plan.object, where=all_of(*conditions), order_by=(column,), offset=0, limit=plan.page_size
    )


def scan(
    client: QueryClient,
    plan: ScanPlan,
    prefix: tuple[Condition, ...],
    column: str,
    lower: Bound | None,
    upper: KeyValue | None = None,
    *,
    split_column: str | None = None,
    first_page: list[Row] | None = None,
) -> Iterator[Item]:
    """Rows of ``prefix`` with ``lower <= column <= upper`` in ``column`` order, then checkpoints.

    ``split_column`` is the column that splits a group too large for one equality read (the
    tie-breaker at the top level, none inside a split). ``first_page``, when given, is the
    answer to this scan's first page query, already read.
    """
    unique = column in plan.unique
    # the digests of the rows at the last value emitted, for a checkpoint on it after the end
    tail: tuple[KeyValue | None, tuple[str, ...]] = (None, ())
    while True:
        if first_page is not None:
            page, first_page = first_page, None
        else:
            page = page_rows(client.get(page_query(plan, prefix, column, lower, upper)))
        if len(page) < plan.page_size:
            done = upper if upper is not None else (page[-1][column] if page else None)
            digest = _digest_at(page, column, done) or (tail[1] if tail[0] == done else ())
            yield from page
            if done is not None:
                yield Checkpoint(done, digest)
            return
        last = page[-1][column]
        if unique:
            tail = (last, (row_digest(page[-1]),))
            yield from page
            yield Checkpoint(last, tail[1])
            new_lower = Bound(last, inclusive=False)
        else:
            # Sorted page starting at the bound: every value before `last` is complete.
            first_last = next(i for i, row in enumerate(page) if row[column] == last)
            if first_last:
                complete = page[:first_last]
                value = complete[-1][column]
                yield from complete
                yield Checkpoint(value, _digest_at(complete, column, value))
            if first_last and not (
                group_reads(plan) and long_group_at_end(page, column, first_last, plan.page_size)
            ):
                new_lower = Bound(last, inclusive=True)  # the next page re-reads `last`
            else:
                # One value fills the page, or ends it with half a page or more of rows: a page
                # from it would likely hold that value alone, so its group is read at once.
                digests = []
                for row in group_rows(client, plan, prefix, column, last, split_column):
                    digests.append(row_digest(row))
                    yield row
                tail = (last, tuple(sorted(digests)))
                yield Checkpoint(last, tail[1])
                new_lower = Bound(last, inclusive=False)
        if upper is not None and new_lower == Bound(upper, inclusive=False):
            return  # the range is done: its checkpoint at `upper` was just yielded
        if new_lower == lower:
            raise NoProgress(
                f"Personyze {plan.object} read made no progress on {column} at {last!r}: "
                "the API ignored the keyset bound or the order; report it",
                object=plan.object,
                operation="read",
            )
        lower = new_lower


def group_rows(
    client: QueryClient,
    plan: ScanPlan,
    prefix: tuple[Condition, ...],
    column: str,
    value: KeyValue,
    split_column: str | None,
) -> Iterator[Row]:
    """All rows with ``column = value``: one equality read, continued by ``split_column``."""
    inside = (*prefix, cond(column, "=", value))
    rows = page_rows(
        client.get(
            Query(
                plan.object,
                where=all_of(*inside),
                order_by=(split_column or column,),
                offset=0,
                limit=plan.group_cap,
            )
        )
    )
    if len(rows) < plan.group_cap:
        yield from rows
        return
    if split_column is None:
        raise UnpageableGroup(
            f"Personyze {plan.object} read: at least {plan.group_cap} rows share "
            f"{column}={value!r}"
            + (f" within {_describe(prefix)}" if prefix else "")
            + f"; the API returns at most {plan.group_cap} rows for one value and cannot page "
            f"a group of more than {plan.group_cap} equal rows without a tie-breaker "
            "(read.tie_breaker in the object's spec) that splits it",
            object=plan.object,
            operation="read",
        )
    yield from rows if split_column in plan.unique else _before_last(rows, split_column)
    if split_column in plan.unique:
        yield from _rest_from_the_top(client, plan, inside, split_column, rows)
        return
    # The read is sorted by the tie-breaker: its values before the last one are complete.
    after = Bound(rows[-1][split_column], inclusive=True)
    for item in scan(client, plan, inside, split_column, after):
        if not isinstance(item, Checkpoint):
            yield item


def _before_last(rows: list[Row], column: str) -> Iterator[Row]:
    last = rows[-1][column]
    return (row for row in rows if row[column] != last)


def _rest_from_the_top(
    client: QueryClient,
    plan: ScanPlan,
    inside: tuple[Condition, ...],
    column: str,
    rows: list[Row],
) -> Iterator[Row]:
    """The rows of a group past ``rows`` (its first ``group_cap`` rows by the unique
    ``column``): the group's other end is read the same way, sorted down, so that a group of up
    to twice the cap is complete in two reads (they share rows) where paging its rest took a
    request per page; only the rows between the two reads, if any, are paged."""
    top = page_rows(
        client.get(
            Query(
                plan.object,
                where=all_of(*inside),
                order_by_desc=(column,),
                offset=0,
                limit=plan.group_cap,
            )
        )
    )
    seen = {str(row[column]) for row in rows}
    if not top or any(str(row[column]) in seen for row in top):
        yield from (row for row in reversed(top) if str(row[column]) not in seen)
        return
    # The lowest row of the top read ends the scan of the rows between.
    between = Bound(rows[-1][column], inclusive=False)
    for item in scan(client, plan, inside, column, between, top[-1][column]):
        if not isinstance(item, Checkpoint):
            yield item
    yield from reversed(top[:-1])


def group_reads(plan: ScanPlan) -> bool:
    """Whether an equality read takes more rows than a page (not under a slow partition
    filter, api §4.7)."""
    return plan.group_cap > plan.page_size


def long_group_at_end(page: list[Row], column: str, first_last: int, page_size: int) -> bool:
    """Whether the rows of a full sorted page from ``first_last`` on (its last value's) likely
    begin a group of a page or more, so that the read goes on with that value's equality read
    rather than a page from it: such a page would hold that value alone and be thrown away
    (a flash sale's second: one request wasted per group). Half a page of the value or more
    says so (on a shorter group the equality read still takes half a page); so do four rows or
    more when no value before it in the page has half as many, a burst among sparse keys (on
    keys that are all tied alike, about as many as on the value before, it never fires)."""
    tail = len(page) - first_last
    if 2 * tail >= page_size:
        return True
    if tail < 4:
        return False
    before = Counter(row[column] for row in page[:first_last])
    return tail > 2 * max(before.values(), default=0)


def _digest_at(rows: list[Row], column: str, value: KeyValue | None) -> tuple[str, ...]:
    """Digests of the rows at ``value`` (at the end of the sorted ``rows``)."""
    found = []
    for row in reversed(rows):
        if row[column] != value:
            break
        found.append(row_digest(row))
    return tuple(sorted(found))


def _describe(prefix: tuple[Condition, ...]) -> str:
    return " & ".join(f"{c.column}{c.op}{c.value!r}" for c in prefix)


def page_rows(answer: Any) -> list[Row]:
    if not isinstance(answer, list) or not all(isinstance(r, dict) for r in answer):
        raise PersonyzeError(
            f"Personyze answered a read with {type(answer).__name__}, not a list of rows",
            operation="read",
        )
    return answer
