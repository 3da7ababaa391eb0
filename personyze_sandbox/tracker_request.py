"""What a tracker-v1 request must hold (api §7.2), checked as the tracker does: a refused request
is an HTTP 500 whose plain-text body is the reason (api §7.6)."""

from __future__ import annotations

from typing import Any

from personyze_sandbox.schema import SandboxApiError

DEVICE_TYPES = ("regular", "tablet", "phone")
_TEXT_FIELDS = ("languages", "screen", "os", "platform", "device_type")


def failure(text: str) -> SandboxApiError:
    return SandboxApiError(500, text)


def checked_request(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise failure("The request must be a JSON object with user_id and commands")
    user_id = payload.get("user_id")
    if (
        not isinstance(user_id, int)
        or isinstance(user_id, bool)
        or not -(2**31) <= user_id <= 2**32 - 1
    ):
        raise failure(f"user_id must be a signed or unsigned 32-bit integer, got {user_id!r}")
    session_id = payload.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise failure("session_id must be a text or null")
    commands = payload.get("commands")
    if not isinstance(commands, list):
        raise failure("commands must be an array of command arrays")
    for name in _TEXT_FIELDS:
        if payload.get(name) is not None and not isinstance(payload[name], str):
            raise failure(f"{name} must be a text")
    if payload.get("device_type") not in (None, *DEVICE_TYPES):
        raise failure(f"device_type must be one of {', '.join(DEVICE_TYPES)}")
    zone = payload.get("time_zone")
    if zone is not None and (isinstance(zone, bool) or not isinstance(zone, int | float)):
        raise failure("time_zone must be a number of hours")
    return payload
