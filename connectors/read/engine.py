"""The read engine: every readable table object as a stream of rows and checkpoints.

Adapters (Airbyte source, Singer tap) call ``read_records`` with the start of a sync (from
``start_for``) and, for child objects, once per partition of ``partitions``. They turn rows into
records and ``Checkpoint`` values into state; nothing here knows about a framework.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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
    group_reads,
    group_rows,
    long_group_at_end,
    page_query,
    page_rows,
    scan,
)
from connectors.read.pace import is_far
from connectors.read.probes import (
    RAMP_LEAST_PAGES,
    Cut,
    Group,
    Preread,
    cut_fan,
    fan_offsets,
    guided_pages,
    page_advance,
    preread_items,
    probe_offset,
    probe_query,
    ramp_pages,
)
from connectors.read.windows import ProbeChain, WindowSource, run_windows
from connectors.spec.loader import Specs, default_specs
from connectors.spec.models import ApiLimits, ObjectSpec

DAY = 86_400


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
    ``end`` fixes its end at the current maximum, so that rows arriving during the read go
    to the next sync and a busy table cannot keep the read going: it reads the last page of
    the range, sorted down, and that page's rows are records too (one request, not one more
    than the pages); with
    ``concurrency`` above 1 probe pages, sent alongside, start cutting the rest into windows
    (small ones first, then about a thousand rows each) that are then read concurrently
    (``connectors.read.probes``: the probe pages' rows are records too). ``start`` is
    inclusive, so a resumed sync re-reads the rows at its bookmark and none before; with
    ``start_group`` (a sync resumed at its bookmark) those rows are read first by one equality
    read, however many share the value, so that a read finding nothing new costs two
    requests. Rows whose key is NULL cannot be paged by key and are not read.
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
        yield from _group_items(client, plan, prefix, key, low)
        lower = Bound(low, inclusive=False)
        if isinstance(low, int):
            low, lower = low + 1, Bound(low + 1, inclusive=True)
    first = page_rows(client.get(page_query(plan, prefix, key, lower, end)))
    windows: ProbeChain[Cut] | None = None
    tail: Preread | None = None
    if len(first) == plan.page_size and integer and (snapshot or concurrency > 1):
        assert isinstance(low, int) and (end is None or isinstance(end, int))
        windows, end, tail = _plan_rest(
            client, spec, plan, prefix, low, end, first, concurrency, limits
        )
    items: Iterator[Item]
    if windows is None:
        items = _then(
            scan(
                client,
                plan,
                prefix,
                key,
                lower,
                end,
                split_column=plan.tie_breaker,
                first_page=first,
            ),
            tail,
            key,
        )
    else:
        page_end = int(first[-1][key])

        def scan_window(cut: Cut) -> Iterator[Item]:
            if isinstance(cut, Preread):
                return preread_items(cut, key)
            if isinstance(cut, Group):
                return _group_items(client, plan, prefix, key, cut.value)
            return scan(
                client,
                plan,
                prefix,
                key,
                Bound(cut[0], inclusive=True),
                cut[1],
                split_column=plan.tie_breaker,
                # the page already read, unless rows went away since and it ends past the cut
                first_page=first if cut[0] == low and cut[1] >= page_end else None,
            )

        source: WindowSource[Cut] = windows
        items = run_windows(source, scan_window, concurrency=concurrency, far=is_far(client))
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
        if windows is not None:  # closed by run_windows, waiting as it should; this only stops
            windows.close(wait=False)  # a chain whose run_windows never started


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
    plan: ScanPlan,
    prefix: tuple[Condition, ...],
    low: int,
    end: int | None,
    first: list[Row],
    concurrency: int,
    limits: ApiLimits,
) -> tuple[ProbeChain[Cut] | None, int | None, Preread | None]:
    """After a full first page: the end of the read (the current maximum, unless given) and,
    with ``concurrency`` above 1, the chain of probe pages that cuts the rest into windows
    (``connectors.read.probes``). The end probe is the range's last page, sorted down: its
    rows above its lowest value are records (the returned ``Preread``, read last), and the
    rest of the read ends below them. The end probe and the first round of probe pages go out
    together; while the read ramps up, a round sends several (``ramp_pages``)."""
    key = spec.read.key
    assert key is not None
    unique = key in plan.unique
    advance = page_advance(first, key, plan.page_size, unique=unique)
    # the pages of a window cut by a probe as far as it reaches
    most_pages = (
        probe_offset(plan.page_size, limits.max_offset_plus_limit, advance=advance) + 1
    ) // advance

    def probe(start: int, upper: int | None, at: int) -> Query:
        return probe_query(spec.name, prefix, key, start, upper, offset=at, limit=plan.page_size)

    # Probes sent blind at short offsets land inside long groups of tied keys and cut nothing
    # there: the ramp fans out only while no probe page is one value.
    # The first page ending in a long group (a burst) says the same: the fan would land in it.
    tied = next(i for i, row in enumerate(first) if row[key] == first[-1][key])
    burst = not unique and (tied == 0 or long_group_at_end(first, key, tied, plan.page_size))
    ramp = {"on": advance >= plan.page_size - 2 and not burst}

    def fan(rows_cut: int, probes: int, pages: int, first_pages: int = 1) -> list[int]:
        """Offsets of the next round's probe pages, at most ``probes`` of them (``ramp_pages``,
        ``fan_offsets``)."""
        if not ramp["on"]:
            return [
                probe_offset(
                    plan.page_size, limits.max_offset_plus_limit, advance=advance, pages=pages
                )
            ]
        sizes = ramp_pages(
            rows_cut,
            probes,
            advance=advance,
            page_size=plan.page_size,
            max_offset_plus_limit=limits.max_offset_plus_limit,
            pages=pages,
        )
        ramp["on"] = len(sizes) > 1
        sizes[0] = max(sizes[0], first_pages)
        return fan_offsets(
            sizes,
            advance=advance,
            page_size=plan.page_size,
            max_offset_plus_limit=limits.max_offset_plus_limit,
            unique=unique,
        )

    queries: dict[str, Query] = {}
    if end is None:  # the last page of the range, sorted down: its end, and rows of the read
        queries["end"] = Query(
            spec.name,
            where=all_of(*prefix, cond(key, ">=", low)),
            order_by_desc=(key,),
            offset=0,
            limit=plan.page_size,
        )
    # The first round shares the requests in flight with the end probe; its first window
    # holds the first page (a page moves a scan on by fewer rows than it holds on ties).
    first_round = (
        fan(len(first), concurrency - len(queries), most_pages, 1 if unique else 2)
        if concurrency > 1
        else []
    )
    for i, at in enumerate(first_round):
        queries[f"window{i}"] = probe(low, end, at)
    answers = _get_all(client, queries)
    page_end = int(first[-1][key])
    tail: Preread | None = None
    if "end" in queries:
        top = page_rows(answers["end"])
        # no row found: they went away since the page; the page ends it
        end = max(int(top[0][key]), page_end) if top else page_end
        tail = _tail(top, key, page_end, plan.page_size)
        if tail is not None:
            end = tail.low - 1
    if not first_round or end is None:
        return None, end, tail
    read_end = end

    # Rows per key value, from the last round: the rows left to cut are estimated from it,
    # and windows shrink toward the end so that the workers finish together.
    last = {"start": low, "rows": first_round[-1] + plan.page_size}
    cut_rows = [len(first) + last["rows"]]

    def step(start: int) -> tuple[list[Cut], int | None]:
        density = last["rows"] / max(1, start - last["start"])
        # While the read ramps up, ``pages`` caps the ramp's windows, and a density taken from
        # the first rounds' short key spans can be far off: a cap under the ramp's windows
        # would end the ramp early. Past it, windows shrink down to a page toward the end.
        pages = guided_pages(
            (read_end - start + 1) * density,
            concurrency,
            plan.page_size,
            least=RAMP_LEAST_PAGES if ramp["on"] else 1,
        )
        offsets = fan(cut_rows[0], concurrency, min(pages, most_pages))
        last.update(start=start, rows=offsets[-1] + plan.page_size)
        cut_rows[0] += last["rows"]
        found = _get_all(
            client, {str(i): probe(start, read_end, at) for i, at in enumerate(offsets)}
        )
        return cuts_of(start, [page_rows(found[str(i)]) for i in range(len(offsets))])

    def cuts_of(start: int, pages: list[list[Row]]) -> tuple[list[Cut], int | None]:
        if any(len(p) == plan.page_size and p[0][key] == p[-1][key] for p in pages):
            ramp["on"] = False
        cuts, after = cut_fan(
            start,
            read_end,
            pages,
            key=key,
            unique=unique,
            page_size=plan.page_size,
            long_groups=group_reads(plan),
        )
        return (cuts if after is not None or tail is None else [*cuts, tail]), after

    cuts, after = cuts_of(low, [page_rows(answers[f"window{i}"]) for i in range(len(first_round))])
    return ProbeChain(cuts, after, step, ahead=4 * concurrency), end, tail


def _tail(top: list[Row], key: str, page_end: int, page_size: int) -> Preread | None:
    """The rows of the last page of a range, read sorted down (``top``), that need no other
    request: those above its lowest value (whose group may go on below the page). None when
    the page is not full (the range shrank since its first page), holds one value, or reaches
    back into the first page."""
    if len(top) < page_size:
        return None
    lowest, highest = int(top[-1][key]), int(top[0][key])
    if lowest == highest or lowest < page_end:
        return None
    return Preread(lowest + 1, highest, tuple(r for r in reversed(top) if int(r[key]) > lowest))


def _then(items: Iterator[Item], tail: Preread | None, key: str) -> Generator[Item, None, None]:
    yield from items
    if tail is not None:
        yield from preread_items(tail, key)


def _group_items(
    client: QueryClient,
    plan: ScanPlan,
    prefix: tuple[Condition, ...],
    key: str,
    value: KeyValue,
) -> Iterator[Item]:
    """Every row at ``value`` (one equality read, split by the tie-breaker past its cap), then
    the checkpoint on it."""
    digests = []
    for row in group_rows(client, plan, prefix, key, value, plan.tie_breaker):
        digests.append(row_digest(row))
        yield row
    yield Checkpoint(value, tuple(sorted(digests)))


def _get_all(client: QueryClient, queries: dict[str, Query]) -> dict[str, Any]:
    """The answer of each query, the queries sent together."""
    if len(queries) > 1:
        with ThreadPoolExecutor(len(queries), thread_name_prefix="personyze-probe") as pool:
            futures = {name: pool.submit(client.get, q) for name, q in queries.items()}
            return {name: f.result() for name, f in futures.items()}
    return {name: client.get(q) for name, q in queries.items()}


def _slow(spec: ObjectSpec, c: Condition, limits: ApiLimits) -> bool:
    indexed = spec.has_column(c.column) and spec.column(c.column).indexed
    return c.op in limits.slow_operators or not indexed


def _day_start(value: int) -> int:
    return max(0, value - value % DAY)
