"""One stream's sync as both read adapters run it: records, and stream state that never runs
ahead of them.

State is plain JSON per stream:
- incremental streams: ``{"<cursor>": <int>}`` — every row with a cursor value up to it was
  emitted; the next sync starts AT it (inclusive), so rows sharing the bookmark's value are
  re-emitted rather than risked (and objects whose recent days keep changing start a lookback
  window earlier);
- child streams (user_list_users, one partition per list) are full refresh, resumable: while a
  sync runs the state says where it is (``{"resume": {"user_list_id": 17, "user_id": 1234}}``);
  a completed sync ends with ``{}`` so the next one reads every partition again;
- the recommendations stream keeps the tracker session of each user,
  ``{"sessions": {"<user_id>": "<session_id>"}}`` (connectors/read/recommendations.py);
- other full-refresh streams keep no state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.read import Checkpoint, QueryClient, partitions, read_records, start_for
from connectors.read.recommendations import SessionsCheckpoint, read_recommendations
from connectors.read.streams import StreamDefinition, html_record
from connectors.settings import MAX_UNIX_SECONDS, ConnectionSettings
from connectors.spec import ObjectSpec, Specs

RESUME = "resume"


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
        for item in read_records(client, spec, concurrency=options.concurrency):
            if not isinstance(item, Checkpoint):
                yield item
        return
    bookmark = bookmark_of(stream, state)
    yield from _read_incremental(client, spec, stream.cursor_field, bookmark, options)


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
    options: ReadOptions,
) -> Iterator[dict[str, Any] | StateUpdate]:
    start = start_for(spec, bookmark, options.start_date, options.lookback_window_days)
    last = bookmark
    for item in read_records(client, spec, start=start, concurrency=options.concurrency):
        if isinstance(item, Checkpoint):
            # a lookback re-read must not move the bookmark backwards
            if last is None or item.value >= last:
                last = item.value
                yield StateUpdate({cursor: last})
        else:
            yield item
    if last is not None:
        yield StateUpdate({cursor: last})


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
        for item in read_records(
            client, spec, start=start, prefix=(partition,), concurrency=options.concurrency
        ):
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
