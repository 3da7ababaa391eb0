"""The write adapters' configuration: connection settings plus the write settings of
specs/connection.json, turned into what the write engine takes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from connectors.settings import ConnectionSettings, SettingsError, setting_values
from connectors.spec import Specs, default_specs
from connectors.write.options import WriteOptions
from connectors.write.targets import StreamTarget, parse_targets


@dataclass(frozen=True)
class WriteSetup:
    connection: ConnectionSettings
    options: WriteOptions
    streams_config: Mapping[str, Mapping[str, Any]]

    def targets(
        self, stream_names: Iterable[str], specs: Specs | None = None
    ) -> dict[str, StreamTarget]:
        return parse_targets(self.streams_config, stream_names, specs or default_specs())


def write_setup(config: Mapping[str, Any], *, plan_out: TextIO | None = None) -> WriteSetup:
    """Validate a target's or destination's config; errors name the setting. A setting of the
    readers (``start_date``) is refused as such, an unknown one with a "did you mean"."""
    connection = ConnectionSettings.from_config(config, side="write")
    values = setting_values(config)
    streams = values.get("streams") or {}
    for name, entry in streams.items():
        if not isinstance(entry, Mapping):
            raise SettingsError(
                f"streams.{name}: must be an object such as "
                '{"object": "users", "mode": "upsert", "match_key": "email"}'
            )
    options = WriteOptions(
        dry_run=bool(values["dry_run"]),
        rejects_path=_path(values["rejects_path"]),
        ledger_path=_path(values["ledger_path"]),
        max_error_rate=float(values["max_error_rate"]),
        batch_size=int(values["batch_size_rows"]),
        max_batch_age_seconds=float(values["max_batch_age_seconds"]),
        concurrency=connection.max_concurrency,
        skip_unchanged=bool(values["skip_unchanged"]),
        log_rejected_records=bool(values["log_rejected_records"]),
        plan_out=plan_out,
    )
    return WriteSetup(connection, options, streams)


def _path(value: Any) -> Path | None:
    return Path(str(value)) if value not in (None, "") else None
