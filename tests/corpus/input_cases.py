"""The bad input that source-personyze and tap-personyze both get: one table of cases, run
against the source by ``test_source_inputs.py`` and against the tap by ``test_tap_inputs.py``,
each of which adds the cases of its own executable. A case names the file it breaks and what
the error must say; where the two executables word it differently it gives both (``Wording``).
A catalog or state that only a protocol can write (``Selecting``, ``Bookmark``) is written by
each test file in its protocol's shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

MS = 1_704_067_200_000  # 2024-01-01 in milliseconds
Config = dict[str, Any]
Executable = Literal["source", "tap"]


class Raw(str):
    """File content written as is (not JSON-encoded)."""


MISSING = Raw("\0missing")


@dataclass(frozen=True)
class Wording:
    """What the error says, where the source and the tap say it differently."""

    source: str
    tap: str


@dataclass(frozen=True)
class Selecting:
    """The good catalog with the stream ``name`` selected too."""

    name: str


@dataclass(frozen=True)
class Bookmark:
    """A state of one stream: its ``key`` at ``value``."""

    stream: str
    key: str
    value: Any


@dataclass(frozen=True)
class Case:
    id: str
    expected: str | Wording
    config: Callable[[Config], Any] = lambda c: c
    state: Any = None  # the file's content, or a Bookmark
    catalog: Callable[[dict[str, Any]], Any] | Selecting | None = None
    # a problem of one stream: the other stream of the catalog still syncs
    per_stream: bool = False
    exit_code: int = 1  # the tap's; 2: a usage error click reports itself

    def expected_of(self, executable: Executable) -> str:
        if not isinstance(self.expected, Wording):
            return self.expected
        return self.expected.source if executable == "source" else self.expected.tap


SHARED = [
    # --config
    Case("config-missing", "config file", config=lambda c: MISSING),
    Case("config-array", "holds a JSON array, not an object", config=lambda c: [c]),
    Case("config-short-key", "api_key: the given value is not a valid api key",
         config=lambda c: {**c, "api_key": "abc"}),
    Case("config-misspelled", "strat_date: is not a setting (did you mean start_date?)",
         config=lambda c: {**c, "strat_date": "2024-01-01"}),
    Case("config-write-setting-misspelled",
         "ledgr_path: is not a setting (did you mean ledger_path, a setting of the writers",
         config=lambda c: {**c, "ledgr_path": "x.sqlite"}),
    Case("config-start-date-words",
         Wording(source="start_date: 'yesterday' is not a valid start date",
                 tap="start_date: 'yesterday' is not a valid start date; use e.g."),
         config=lambda c: {**c, "start_date": "yesterday"}),
    Case("config-plain-http",
         Wording(source="uses plain http; Personyze requires https",
                 tap="base_url: 'http://app.personyze.com/rest' uses plain http"),
         config=lambda c: {**c, "base_url": "http://app.personyze.com/rest"}),
    Case("config-opt-in-not-bool",
         Wording(source="record_recommendation_page_views: 'maybe' is not true or",
                 tap="record_recommendation_page_views: 'maybe' is not true or false"),
         config=lambda c: {**c, "record_recommendation_page_views": "maybe"}),
    # --catalog
    Case("catalog-missing",
         Wording(source="catalog file",
                 tap="Invalid value for '--catalog': 'nonexistent-catalog.json': No such"),
         catalog=lambda c: MISSING, exit_code=2),
    Case("catalog-writing-stream-without-opt-in",
         Wording(source="stream 'recommendations' writes to your account: every read of it "
                        "records a page view per configured user",
                 tap="catalog: stream 'recommendations' writes to your account: every read of "
                     "it records a page view"),
         catalog=Selecting("recommendations")),
    # --state
    Case("state-missing",
         Wording(source="state file",
                 tap="Invalid value for '--state': 'nonexistent-state.json': No such file"),
         state=MISSING, exit_code=2),
    Case("state-milliseconds",
         "state of stream users: data_last_modified 1704067200000 is too large for unix seconds "
         "(milliseconds?); set it to 1704067200 or reset the stream's state",
         state=Bookmark("users", "data_last_modified", MS), per_stream=True),
    Case("state-words",
         Wording(source="state of stream users: data_last_modified must be an integer (unix "
                        "seconds or an id), not 'yesterday'; reset the stream's state",
                 tap="data_last_modified must be an integer (unix seconds or an id), not "
                     "'yesterday'; reset the stream's state"),
         state=Bookmark("users", "data_last_modified", "yesterday"), per_stream=True),
]  # fmt: skip
