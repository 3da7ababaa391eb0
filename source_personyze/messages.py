"""How core errors become Airbyte errors: failure types for traces, texts for check.

The core's exception tree (``connectors.api.errors``) already says what went wrong and what to do;
this module only picks the Airbyte failure type and keeps the core's message.
"""

from __future__ import annotations

import logging
import time

import orjson
from airbyte_cdk.models import (  # type: ignore[attr-defined]
    AirbyteConnectionStatus,
    AirbyteErrorTraceMessage,
    AirbyteLogMessage,
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteTraceMessage,
    FailureType,
    Level,
    Status,
    TraceType,
    Type,
)
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors.api.failures import check_failure_text, user_fixable


class StateError(ValueError):
    """The state handed to a read does not fit its stream; resetting the stream fixes it."""


def failure_type(exc: BaseException) -> FailureType:
    if isinstance(exc, AirbyteTracedException):
        return exc.failure_type
    if user_fixable(exc) or isinstance(exc, StateError):
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
    return AirbyteConnectionStatus(status=Status.FAILED, message=text)


def user_error_lines(exc: AirbyteTracedException) -> list[str]:
    """A LOG line and an error TRACE for an error the user fixes: its message, no traceback."""
    message = str(exc) or "the run failed"
    log = AirbyteMessage(type=Type.LOG, log=AirbyteLogMessage(level=Level.ERROR, message=message))
    trace = AirbyteMessage(
        type=Type.TRACE,
        trace=AirbyteTraceMessage(
            type=TraceType.ERROR,
            emitted_at=time.time_ns() // 1_000_000,
            error=AirbyteErrorTraceMessage(
                message=message,
                internal_message=exc.internal_message or message,
                failure_type=exc.failure_type,
            ),
        ),
    )
    return [
        filter_secrets(orjson.dumps(AirbyteMessageSerializer.dump(m)).decode())
        for m in (log, trace)
    ]


class UserErrorsWithoutTraceback(logging.Filter):
    """Drops the traceback from a log record of an error the user fixes (the CDK logs a failed
    stream with ``logger.exception``): the message alone says what to do."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, AirbyteTracedException) and exc.failure_type == (
            FailureType.config_error
        ):
            record.msg = f"{record.getMessage()}: {exc}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
