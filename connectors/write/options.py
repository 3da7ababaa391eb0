"""The options of one write run, as the adapters set them from the user's settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    rejects_path: Path | None = None
    ledger_path: Path | None = None
    max_error_rate: float = 0.1
    min_records_for_error_rate: int = 100
    batch_size: int = 500
    max_batch_age_seconds: float = 60.0
    concurrency: int = 4
    skip_unchanged: bool = True
    plan_out: TextIO | None = None
    log_rejected_records: bool = False  # a reject's log line shows the record's columns too
