"""How the destination talks Airbyte: failure types for errors, the summary log, state stats,
and one writer for stdout so that nothing but whole protocol messages ever reaches it.

The core's exception tree already says what went wrong and what to do; this module only picks
the Airbyte failure type (``config_error``: only the user can fix it; ``system_error``: anything
else) and keeps the core's message as the user-facing text.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

import orjson
from airbyte_cdk.logger import AirbyteLogFormatter
from airbyte_cdk.models import (  # type: ignore[attr-defined]
    AirbyteConnectionStatus,
    AirbyteLogMessage,
    AirbyteMessage,
    AirbyteMessageSerializer,
    FailureType,
    Level,
    Status,
    Type,
)
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors.api.failures import check_failure_text, user_fixable
from connectors.write import RunSummary

QUIET_LOGGERS = ("httpx", "httpcore")


def failure_type(exc: BaseException) -> FailureType:
    if isinstance(exc, AirbyteTracedException):
        return exc.failure_type or FailureType.system_error
    if user_fixable(exc):
        return FailureType.config_error
    return FailureType.system_error


def traced(exc: BaseException) -> AirbyteTracedException:
    """The Airbyte error for ``exc``; the core's message is the user-facing text."""
    if isinstance(exc, AirbyteTracedException):
        return exc
    message = str(exc) or type(exc).__name__
    return AirbyteTracedException(
        message=message,
        internal_message=f"{type(exc).__name__}: {message}",
        failure_type=failure_type(exc),
        exception=exc if isinstance(exc, Exception) else None,
    )


def failed_check(exc: Exception, base_url: str | None) -> AirbyteConnectionStatus:
    """A FAILED check status whose message says which setting to look at."""
    text = check_failure_text(exc, base_url)
    return AirbyteConnectionStatus(status=Status.FAILED, message=filter_secrets(text))


def log_message(text: str, level: Level = Level.INFO) -> AirbyteMessage:
    return AirbyteMessage(type=Type.LOG, log=AirbyteLogMessage(level=level, message=text))


def summary_message(summary: RunSummary, *, complete: bool = True) -> AirbyteMessage:
    text = summary.render()
    if not complete:
        text = "The write stopped early; counts so far.\n" + text
    return log_message(text, Level.INFO if complete else Level.WARN)


class ProtocolOut:
    """stdout, one whole line per message, flushed at once: a STATE line reaches the platform
    the moment it is emitted, and log lines from worker threads never split a message."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(text + "\n")
            stream.flush()

    def message(self, message: AirbyteMessage) -> None:
        self.line(orjson.dumps(AirbyteMessageSerializer.dump(message)).decode())

    def json(self, value: dict[str, Any]) -> None:
        self.line(orjson.dumps(value).decode())


class _ProtocolLogHandler(logging.Handler):
    def __init__(self, out: ProtocolOut) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.setFormatter(AirbyteLogFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.out.line(self.format(record))  # the formatter filters secrets
        except Exception:
            self.handleError(record)


def route_logs(out: ProtocolOut) -> None:
    """Every log record (the core's warnings included) as an Airbyte LOG message on stdout,
    through ``out`` only. Importing airbyte_cdk installs a root handler writing to a buffer
    flushed on a timer, straight to the real stdout: it would interleave with ``out``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_ProtocolLogHandler(out))
    root.setLevel(logging.INFO)
    # One line per request, with the record keys (emails) in the URL: not for a sync log.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
