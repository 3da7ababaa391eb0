"""The read engine: every readable table object as a stream of rows and checkpoints.

Adapters (Airbyte source, Singer tap) call ``read_records`` with the start of a sync (from
``start_for``) and, for child objects, once per partition of ``partitions``. They turn rows into
records and ``Checkpoint`` values into state; nothing here knows about a framework.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor

from connectors.api.query import Condition, Query, all_of, cond
from connectors.read.digest import row_digest
from connectors.read.keyset import (
    Bound,
    Checkpoint,
    Item,
    KeyValue,
    QueryClient,
    Row,
    ScanPlan,
    group_rows,
    page_query,
    page_rows,
    scan,
)
from connectors.read.windows import ProbedWindows, Window, run_windows
from connectors.spec.loader import Specs, default_specs
from connectors.spec.models import ApiLimits, ObjectSpec

DAY = 86_400
# Pages per concurrent window. A window ends at the key a probe reads WINDOW_PAGES pages of new
# rows after its start (at most the 1000th row: offset + 1 may not exceed 1000, api §4.7):
# 980 rows, as a page re-reads the last key of the one before (999 on a unique key, paged on
# '>'), so that the window's last page is short by one row and ends it, and the window costs
# its pages and its probe, about 5% more requests than one keyset loop over the same rows.
WINDOW_PAGES = 20


def read_records(
    client: QueryClient,
    spec: ObjectSpec,
    *,
    start: KeyValue | None = None,
    end: KeyValue | None = None,
    prefix: tuple[Condition, ...] = (),
    concurrency: int = 1,
    limits: ApiLimits | None = None,
    snapshot: bool = True,
    start_group: bool = False,
) -> Generator[Item, None, None]:
    """Rows of ``spec`` with ``start <= key <= end`` (and ``prefix``), in key order, with a
    ``Checkpoint`` after each completed group or page.

    The plan spends nothing beyond the pages: a read whose first page is not full ends there
    (one request). Past a full first page, a ``snapshot`` read with an integer key and no
    ``end`` fixes its end at the current maximum (one request), so that rows arriving during
    the read go to the next sync and a busy table cannot keep the read going; with
    ``concurrency`` above 1 a second probe, sent alongside, reads the key of the 1000th row to
    size windows that are then read concurrently. ``start`` is inclusive, so a resumed sync
    re-reads the rows at its bookmark and none before; with ``start_group`` (a sync resumed at
    its bookmark) those rows are read first by one equality read, however many share the
    value, so that a read finding nothing new costs two requests. Rows whose key is NULL
    cannot be paged by key and are not read.
    """
    if spec.kind != "table" or not spec.readable or spec.read.key is None:
        raise ValueError(f"Personyze {spec.name} is not a readable table (kind {spec.kind!r})")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    limits = limits or default_specs().connection.limits
    key = spec.read.key
    integer = spec.column(key).type == "integer"
    slow_prefix = any(_slow(spec, c, limits) for c in prefix)
    plan = ScanPlan(
        object=spec.name,
        tie_breaker=spec.read.tie_breaker,
        page_size=limits.max_slow_rows,
        # An equality read is not slow unless the partition filter is.
        group_cap=limits.max_slow_rows if slow_prefix else limits.max_offset_plus_limit,
        unique=frozenset(spec.primary_key) if len(spec.primary_key) == 1 else frozenset(),
    )
    if integer:
        start = int(start) if start is not None else None
        end = int(end) if end is not None else None
    # Without a start the floor 0 (or "") stands in: some objects refuse a read without a
    # where on the key, and it leaves out NULL keys, which keyset paging cannot reach anyway.
    low: KeyValue = start if start is not None else (0 if integer else "")
    lower = Bound(low, inclusive=True)
    if start_group and start is not None:
        digests = []
        for row in group_rows(client, plan, prefix, key, low, plan.tie_breaker):
            digests.append(row_digest(row))
            yield row
        yield Checkpoint(low, tuple(sorted(digests)))
        lower = Bound(low, inclusive=False)
        if isinstance(low, int):
            low, lower = low + 1, Bound(low + 1, inclusive=True)
    first = page_rows(client.get(page_query(plan, prefix, key, lower, end)))
    windows: ProbedWindows | None = None
    if len(first) == plan.page_size and integer and (snapshot or concurrency > 1):
        assert isinstance(low, int) and (end is None or isinstance(end, int))
        unique = key in plan.unique
        window_rows = (
            WINDOW_PAGES * plan.page_size - 1 if unique else WINDOW_PAGES * (plan.page_size - 1)
        )
        windows, end = _plan_rest(client, spec, prefix, low, end, first, concurrency, window_rows)
    items: Iterator[Item]
    if windows is None:
        items = scan(
            client, plan, prefix, key, lower, end, split_column=plan.tie_breaker, first_page=first
        )
    else:

        def scan_window(window: Window) -> Iterator[Item]:
            return scan(
                client,
                plan,
                prefix,
                key,
                Bound(window[0], inclusive=True),
                window[1],
                split_column=plan.tie_breaker,
                first_page=first if window[0] == low else None,
            )

        items = run_windows(windows, scan_window, concurrency=concurrency)
    try:
        for item in items:
            # The API may send integers as numeric strings (api §2.3); state holds integers.
            if integer and isinstance(item, Checkpoint) and isinstance(item.value, str):
                item = Checkpoint(int(item.value), item.digest)
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
        if windows is not None:
            windows.close()


def start_for(
    spec: ObjectSpec,
    bookmark: KeyValue | None,
    start_date: int | None,
    lookback_days: int,
) -> KeyValue | None:
    """Where a sync of ``spec`` starts (inclusive): the bookmark, else ``start_date``.

    Objects whose recent rows keep changing (``read.lookback``) re-read ``lookback_days`` before
    the bookmark, aligned to 00:00 UTC; a ``start_date`` on them is aligned to its day so that
    day is read whole. ``start_date`` means nothing to an id key and is ignored there.
    """
    if bookmark is not None:
        if not spec.read.lookback or not isinstance(bookmark, int):
            return bookmark
        return _day_start(bookmark - lookback_days * DAY)
    if start_date is None or spec.read.key_kind == "id":
        return None
    return _day_start(start_date) if spec.read.lookback else start_date


def partitions(client: QueryClient, specs: Specs, spec: ObjectSpec) -> Iterator[Condition]:
    """One filter per parent row for a child object (``read.parent``), each parent once."""
    link = spec.read.parent
    if link is None:
        raise ValueError(f"Personyze {spec.name} has no parent object")
    seen: set[object] = set()
    for item in read_records(client, specs.object(link.object), snapshot=False):
        if isinstance(item, Checkpoint):
            continue
        value = item.get(link.parent_key)
        if value is None or value in seen:
            continue
        seen.add(value)
        yield cond(link.filter_column, "=", value)


def _plan_rest(
    client: QueryClient,
    spec: ObjectSpec,
    prefix: tuple[Condition, ...],
    low: int,
    end: int | None,
    first: list[Row],
    concurrency: int,
    window_rows: int,
) -> tuple[ProbedWindows | None, int | None]:
    """After a full first page: the end of the read (the current maximum, unless given) and,
    with ``concurrency`` above 1, windows of ``window_rows`` rows each (None when fewer rows
    are left than that). The first two probes go out together."""
    key = spec.read.key
    assert key is not None
    probes: dict[str, Query] = {}
    if end is None:
        probes["end"] = _probe(spec, prefix, key, low, offset=0, descending=True)
    if concurrency > 1:
        probes["window"] = _probe(spec, prefix, key, low, offset=window_rows - 1)
    answers = _get_all(client, probes)
    page_end = int(first[-1][key])
    if "end" in probes:  # no row found: they went away since the page; the page ends it
        end = max(int(answers["end"]), page_end) if "end" in answers else page_end
    window = answers.get("window")
    if window is None or end is None:
        return None, end

    def window_end(start: int) -> int | None:
        query = _probe(spec, prefix, key, start, offset=window_rows - 1)
        found = _get_all(client, {"window": query}).get("window")
        return int(found) if found is not None else None

    # The first window's first page is the page already read.
    first_end = min(max(int(window), page_end), end)
    windows = ProbedWindows(low, end, window_end, first=first_end, ahead=2 * concurrency)
    return windows, end


def _probe(
    spec: ObjectSpec,
    prefix: tuple[Condition, ...],
    key: str,
    low: KeyValue,
    *,
    offset: int,
    descending: bool = False,
) -> Query:
    """The key of one row at or above ``low``: the ``offset``-th in order, or the largest."""
    return Query(
        spec.name,
        where=all_of(*prefix, cond(key, ">=", low)),
        column=key,
        order_by=() if descending else (key,),
        order_by_desc=(key,) if descending else (),
        offset=offset,
        limit=1,
    )


def _get_all(client: QueryClient, queries: dict[str, Query]) -> dict[str, KeyValue]:
    """The one key each query reads (absent when it finds none), the queries sent together."""
    if len(queries) > 1:
        with ThreadPoolExecutor(len(queries), thread_name_prefix="personyze-probe") as pool:
            futures = {name: pool.submit(client.get, q) for name, q in queries.items()}
            answers = {name: f.result() for name, f in futures.items()}
    else:
        answers = {name: client.get(q) for name, q in queries.items()}
    found: dict[str, KeyValue] = {}
    for name, answer in answers.items():
        value = answer[0] if isinstance(answer, list) and answer else None
        if isinstance(value, dict):  # a whole row instead of the one column
            value = value.get(queries[name].column or "")
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value).isdigit():
            found[name] = int(value)
    return found


def _slow(spec: ObjectSpec, c: Condition, limits: ApiLimits) -> bool:
    indexed = spec.has_column(c.column) and spec.column(c.column).indexed
    return c.op in limits.slow_operators or not indexed


def _day_start(value: int) -> int:
    return max(0, value - value % DAY)
