"""One stream's sync as both read adapters run it: records, and stream state that never runs
ahead of them.

State is plain JSON per stream:
- incremental streams: ``{"<cursor>": <int>, "emitted_row_digests": ["<16 hex>", ...]}`` —
  every row with a cursor value up to the bookmark was emitted, and the digests name the rows
  emitted at the bookmark's value (connectors/read/digest.py). The next sync starts AT the
  bookmark (inclusive), because rows sharing its value may still arrive, and skips the rows
  the digests name, so it emits exactly the rows not emitted before. Objects whose recent days
  keep changing (``read.lookback``) start a lookback window earlier and keep the digests of
  every row in that window: a row there is emitted again only when it changed. A state with
  the bookmark alone (written before the digests) re-emits the rows at the bookmark;
- child streams (user_list_users, one partition per list) are full refresh, resumable: while a
  sync runs the state says where it is (``{"resume": {"user_list_id": 17, "user_id": 1234}}``);
  a completed sync ends with ``{}`` so the next one reads every partition again;
- the recommendations stream keeps the tracker session of each user,
  ``{"sessions": {"<user_id>": "<session_id>"}}`` (connectors/read/recommendations.py);
- other full-refresh streams keep no state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.read import Checkpoint, QueryClient, partitions, read_records, start_for
from connectors.read.digest import EmittedRows, digests_of, row_digest
from connectors.read.recommendations import SessionsCheckpoint, read_recommendations
from connectors.read.streams import StreamDefinition, html_record
from connectors.settings import MAX_UNIX_SECONDS, ConnectionSettings
from connectors.spec import ObjectSpec, Specs

RESUME = "resume"
DIGESTS = "emitted_row_digests"


class TextClient(QueryClient, Protocol):
    """A client that can also fetch a text body (the html endpoint)."""

    def get_text(self, path: str) -> str: ...


@dataclass(frozen=True)
class StateUpdate:
    """The whole state of one stream, valid once every record yielded before it is emitted."""

    value: dict[str, Any]


@dataclass(frozen=True)
class ReadOptions:
    start_date: int | None = None
    lookback_window_days: int = 2
    concurrency: int = 1
    recommendation_user_ids: tuple[int, ...] = ()
    recommendation_user_list_id: int | None = None
    recommendation_document: str = "Default"

    @classmethod
    def from_settings(cls, settings: ConnectionSettings) -> ReadOptions:
        return cls(
            settings.start_date,
            settings.lookback_window_days,
            settings.max_concurrency,
            recommendation_user_ids=settings.recommendation_user_ids,
            recommendation_user_list_id=settings.recommendation_user_list_id,
            recommendation_document=settings.recommendation_document,
        )


def reads_one_table(spec: ObjectSpec) -> bool:
    """Whether ``read_stream`` reads ``spec`` as one keyset read of its own table: not
    recommendations (whose read writes), not an HTML answer, not a child object's partitions."""
    return spec.kind == "table" and spec.read.parent is None


def read_stream(
    client: TextClient,
    specs: Specs,
    stream: StreamDefinition,
    state: Mapping[str, Any] | None,
    options: ReadOptions,
) -> Iterator[dict[str, Any] | StateUpdate]:
    spec = stream.spec
    if spec.kind == "recommendations":
        for entry in read_recommendations(client, specs, state, options):
            yield StateUpdate(entry.value) if isinstance(entry, SessionsCheckpoint) else entry
        return
    if spec.kind == "html":
        yield html_record(spec, client.get_text(spec.path))
        return
    if spec.read.parent is not None:
        yield from _read_partitions(client, specs, spec, state or {}, options)
        return
    if stream.cursor_field is None:
        # a full refresh costs one request per page of rows: no probes, no windows
        for item in read_records(client, spec, snapshot=False):
            if not isinstance(item, Checkpoint):
                yield item
        return
    bookmark = bookmark_of(stream, state)
    yield from _read_incremental(client, spec, stream.cursor_field, bookmark, state, options)


def bookmark_of(stream: StreamDefinition, state: Mapping[str, Any] | None) -> Any:
    """The stream's bookmark in a state value, checked to be of the cursor's type."""
    if not state or stream.cursor_field is None:
        return None
    value = state.get(stream.cursor_field)
    if value is None:
        return None
    column = stream.spec.column(stream.cursor_field)
    if column.type == "integer":
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(
                f"state of stream {stream.name}: {stream.cursor_field} must be an integer "
                f"(unix seconds or an id), not {value!r}; reset the stream's state"
            )
        if column.format == "unix_seconds" and value > MAX_UNIX_SECONDS:
            # a bookmark in milliseconds would read nothing and stay there forever
            raise ValueError(
                f"state of stream {stream.name}: {stream.cursor_field} {value} is too large for "
                f"unix seconds (milliseconds?); set it to {value // 1000} or reset the "
                "stream's state"
            )
    return value


def _read_incremental(
    client: TextClient,
    spec: ObjectSpec,
    cursor: str,
    bookmark: Any,
    state: Mapping[str, Any] | None,
    options: ReadOptions,
) -> Iterator[dict[str, Any] | StateUpdate]:
    emitted = EmittedRows(digests_of(dict(state or {}), DIGESTS))
    lookback = spec.read.lookback
    # lookback objects: (key, digest) of each row read, back to the next sync's start
    window: deque[tuple[int, str]] = deque()
    start = start_for(spec, bookmark, options.start_date, options.lookback_window_days)
    last = bookmark
    current: dict[str, Any] | None = None
    if bookmark is not None:
        current = _state(cursor, bookmark, digests_of(dict(state or {}), DIGESTS))
    items = read_records(
        client,
        spec,
        start=start,
        concurrency=options.concurrency,
        start_group=bookmark is not None and start == bookmark,
    )
    for item in items:
        if isinstance(item, Checkpoint):
            # a lookback re-read must not move the bookmark backwards
            if last is None or item.value >= last:
                last = item.value
                digests = list(item.digest)
                if lookback and isinstance(last, int):
                    keep = start_for(spec, last, None, options.lookback_window_days)
                    while window and isinstance(keep, int) and window[0][0] < keep:
                        window.popleft()
                    digests = sorted(d for _, d in window)
                current = _state(cursor, last, digests)
                yield StateUpdate(current)
            continue
        if lookback or (emitted and _key(item, cursor) == bookmark):
            digest = row_digest(item)
            if lookback:
                window.append((_key(item, cursor), digest))
            if emitted and emitted.take(digest):
                continue  # emitted by an earlier sync, unchanged
        yield item
    if current is not None:
        yield StateUpdate(current)


def _state(cursor: str, bookmark: Any, digests: list[str]) -> dict[str, Any]:
    """No digests and an empty list mean the same (nothing to skip): keep the state small."""
    return {cursor: bookmark, DIGESTS: digests} if digests else {cursor: bookmark}


def _key(row: Mapping[str, Any], cursor: str) -> Any:
    """The row's cursor value; the API may send an integer as a numeric string (api §2.3)."""
    value = row.get(cursor)
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _read_partitions(
    client: TextClient,
    specs: Specs,
    spec: ObjectSpec,
    state: Mapping[str, Any],
    options: ReadOptions,
) -> Iterator[dict[str, Any] | StateUpdate]:
    link = spec.read.parent
    key = spec.read.key
    assert link is not None and key is not None
    resume = state.get(RESUME) or {}
    resume_partition = resume.get(link.filter_column)
    for partition in partitions(client, specs, spec):
        value = partition.value
        start = None
        if resume_partition is not None:
            if _before(value, resume_partition):
                continue  # finished by the interrupted sync this one resumes
            if value == str(resume_partition):
                start = resume.get(key)
        for item in read_records(client, spec, start=start, prefix=(partition,), snapshot=False):
            if isinstance(item, Checkpoint):
                where = {link.filter_column: _number(value), key: item.value}
                yield StateUpdate({RESUME: where})
            else:
                yield item
    yield StateUpdate({})


def _before(partition: object, resume: object) -> bool:
    try:
        return float(str(partition)) < float(str(resume))
    except ValueError:
        return str(partition) < str(resume)


def _number(text: object) -> object:
    return int(text) if isinstance(text, str) and text.isdigit() else text
