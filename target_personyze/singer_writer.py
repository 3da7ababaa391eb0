"""The target's one write engine, shared by every sink, and the bookkeeping STATE depends on.

Records go into the engine as they arrive, whatever their stream, so the engine keeps the input's
order across streams (a product before the interactions that name it). ``flush`` returns when
every record added before it was accepted by Personyze or rejected; only then may the target
emit a STATE message it received before those records.

The engine is built once per run with a write target for every stream the configuration names
and for every stream named like a writable Personyze object. A stream that is neither, or that
cannot be written under ``load_method``, fails when its SCHEMA arrives, before any record of
it is read.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import BaseJSONSchemaValidator

from connectors.api.client import PersonyzeClient
from connectors.spec import Specs
from connectors.write import (
    RunSummary,
    StreamTarget,
    WriteConfigError,
    WriteEngine,
    operations,
    parse_targets,
)
from connectors.write.settings import WriteSetup, write_setup
from target_personyze.singer_settings import json_native, load_method, streams_for_load_method

logger = logging.getLogger("target-personyze")


class SingerWriter:
    def __init__(self, config: Mapping[str, Any], specs: Specs) -> None:
        config = json_native(dict(config))
        self.setup: WriteSetup = write_setup(config, plan_out=sys.stderr)
        self.specs = specs
        self.method = load_method(config)
        self.targets, self._refused = self._resolve_targets()
        # A dry run reads too (lookups, existence, members), so that its summary is the real one's.
        self.client: PersonyzeClient | None = PersonyzeClient(self.setup.connection)
        self.engine = WriteEngine(self.client, self.targets, self.setup.options, specs)
        self._opened: list[str] = []
        self._unflushed = 0
        self._summary: RunSummary | None = None

    def _resolve_targets(self) -> tuple[dict[str, StreamTarget], dict[str, str]]:
        """Targets of configured streams (an error stops the run at start) and of streams named
        like writable objects (an error is kept until such a stream shows up)."""
        configured = dict(self.setup.streams_config)
        targets: dict[str, StreamTarget] = {}
        refused: dict[str, str] = {}
        for name in configured:
            entry = streams_for_load_method(self.method, configured, name, self.specs)
            targets.update(parse_targets({name: entry or {}}, [name], self.specs))
        for name in dict.fromkeys(op.object for op in operations(self.specs)):
            if name in targets:
                continue
            try:
                entry = streams_for_load_method(self.method, configured, name, self.specs)
                targets.update(parse_targets({name: entry} if entry else {}, [name], self.specs))
            except WriteConfigError as exc:
                refused[name] = str(exc)
        return targets, refused

    # -- streams and records --------------------------------------------------------------------

    def open_stream(self, stream: str) -> StreamTarget:
        """The stream's write target; raises ``WriteConfigError`` saying how to configure it."""
        if stream in self._refused:
            raise WriteConfigError(self._refused[stream])
        target = self.targets.get(stream)
        if target is None:
            raise WriteConfigError(
                f"stream {stream!r}: no write target; map it onto a Personyze object in the "
                "setting 'streams', e.g. "
                f'{{"{stream}": {{"object": "users", "mode": "upsert", "match_key": "email"}}}}'
                ", or name the stream like a writable object ("
                + ", ".join(sorted(self.targets.keys() - self.setup.streams_config.keys()))
                + ")"
            )
        if stream not in self._opened:
            self._opened.append(stream)
        return target

    def add(
        self,
        stream: str,
        record: dict[str, Any],
        validator: BaseJSONSchemaValidator | None,
    ) -> None:
        if validator is not None:
            try:
                validator.validate(record)
            except InvalidRecord as exc:
                self.reject(
                    stream,
                    f"does not match the stream's SCHEMA: {exc.error_message}; fix the value in "
                    "the source, or the tap's SCHEMA (validate_records false skips this check)",
                    record,
                )
                return
        self._unflushed += 1
        self.engine.add(stream, json_native(record))

    def reject(self, stream: str, reason: str, record: Any, *, line: int | None = None) -> None:
        """Input that never reaches the engine's ``add``: counted as read and rejected for
        ``stream`` (toward max_error_rate), in the rejects file and the log."""
        self.engine.reject_input(stream, reason, json_native(record), line=line)

    @property
    def settled(self) -> bool:
        """True when no record added so far is still waiting in the engine."""
        return self._unflushed == 0

    def flush(self) -> None:
        """Return when every record added so far was accepted or rejected (all streams, in the
        order the input gave them)."""
        self.engine.flush()
        self._unflushed = 0

    def finish(self) -> RunSummary:
        """Flush, run the end-of-run work (mirror removals) and close; only at the end of input."""
        if self._summary is None:
            self._summary = self.engine.finish()
            self._unflushed = 0
            self.close()
        return self._summary

    def close(self) -> None:
        self.engine.close()
        if self.client is not None:
            self.client.close()

    # -- reporting ------------------------------------------------------------------------------

    def report(self, summary: RunSummary | None = None) -> str:
        """The summary table of the streams this run saw, and the requests sent."""
        full = summary or self.engine.summary()
        names = [
            *self._opened,
            *(n for n, c in full.streams.items() if c.read and n not in self._opened),
        ]
        shown = RunSummary(
            streams={n: full.streams[n] for n in names if n in full.streams},
            dry_run=full.dry_run,
        )
        text = shown.render()
        if self.client is not None:
            stats = self.client.stats
            text += f"\nrequests sent: {stats.requests_sent}, retries: {stats.retries}"
        return text
