"""Which failures the user fixes, and what a failed credential check tells them: one answer for
every adapter (Airbyte failure types, Singer exit messages)."""

from __future__ import annotations

from connectors.api.errors import PersonyzeError, RetriesExhausted, RetryableError
from connectors.settings import SettingsError


def user_fixable(exc: BaseException) -> bool:
    """Settings, key, role, base_url, stream mappings (``SettingsError`` and its
    ``WriteConfigError``), and input rejected beyond max_error_rate (errors marked
    ``user_fixable``)."""
    return isinstance(exc, SettingsError) or (isinstance(exc, PersonyzeError) and exc.user_fixable)


def check_failure_text(exc: BaseException, base_url: str | None) -> str:
    """Why a credential check failed, naming the setting to look at."""
    if user_fixable(exc):
        return str(exc)
    if isinstance(exc, RetriesExhausted | RetryableError):
        return (
            f"Could not reach Personyze at base_url {base_url}: {exc}. Check base_url and that "
            "the host is reachable from this machine"
        )
    if isinstance(exc, PersonyzeError):
        return f"Personyze at base_url {base_url} refused the credential check: {exc}"
    return f"The credential check against base_url {base_url} failed: {exc}"
