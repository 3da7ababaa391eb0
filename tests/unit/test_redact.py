"""redact() and RedactingFilter: the key in each of its leak forms becomes ***."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

import pytest

from connectors.api.redact import MASK, RedactingFilter, redact, secret_forms

KEY = "FD09908F25BECB09D78EBEA1DADFB618651F612D"
ODD_KEY = "k/e+y=w:i@th%s"
BASIC = base64.b64encode(f"api:{KEY}".encode()).decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {KEY} end", "key *** end"),
        (f"Authorization: Basic {BASIC}", "Authorization: Basic ***"),
        (f"header {BASIC}", "header ***"),
        (
            f"https://api:{KEY}@app.personyze.com/rest/users",
            "https://***@app.personyze.com/rest/users",
        ),
        ("https://someone:other@host/x", "https://***@host/x"),
        ("{'authorization': 'Basic dXNlcjpwYXNzd29yZA=='}", "{'authorization': 'Basic ***'}"),
        ("basic settings are fine", "basic settings are fine"),
        ("nothing secret here", "nothing secret here"),
        (f"{KEY}{KEY}", "******"),
    ],
)
def test_redact_forms(text: str, expected: str) -> None:
    assert redact(text, [KEY]) == expected


def test_percent_encoded_and_base64_of_odd_key() -> None:
    encoded = quote(ODD_KEY, safe="")
    b64 = base64.b64encode(f"api:{ODD_KEY}".encode()).decode()
    for text in (ODD_KEY, encoded, b64, f"https://api:{encoded}@h/rest"):
        out = redact(f"<{text}>", [ODD_KEY])
        assert ODD_KEY not in out and encoded not in out and b64 not in out
        assert MASK in out


def test_tiny_or_empty_secrets_are_ignored() -> None:
    assert secret_forms("") == ()
    assert redact("a b c", ["", "a"]) == "a b c"


def test_filter_redacts_message_args_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("personyze.test_redact")
    filt = RedactingFilter([KEY])
    log.addFilter(filt)
    try:
        with caplog.at_level(logging.DEBUG, logger="personyze.test_redact"):
            log.warning("sending %s with %r", f"https://api:{KEY}@h/rest", {"auth": BASIC})
            try:
                raise ValueError(f"bad key {KEY}")
            except ValueError:
                log.exception("failed for %s", KEY)
            log.info("broken %s %s", KEY)  # wrong arg count must not raise
    finally:
        log.removeFilter(filt)
    assert KEY not in caplog.text and BASIC not in caplog.text
    assert "https://***@h/rest" in caplog.text
    assert "bad key ***" in caplog.text
    assert all(r.args is None for r in caplog.records)
