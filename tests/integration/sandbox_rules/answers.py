"""How the sandbox-rules tests talk to a sandbox and check its answers.

Each test reads its data back through the API. Reads that need many rows use the demo dataset
(2,000 users, 400 products at scale 1); tests that need exact result sets use an empty sandbox
where they own every row of the object they query.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from personyze_sandbox.process import RunningSandbox

WHOLE_TABLE = "Cannot do this operation on whole table"


def _client(sb: RunningSandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.base_url + "/", auth=("api", sb.api_key), timeout=30)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json() if response.content else None


def refused(response: httpx.Response, text: str | None = None) -> str:
    assert response.status_code == 400, (response.status_code, response.text)
    if text is not None:
        assert response.text == text
    return response.text


def enc(value: str) -> str:
    """encodeURIComponent."""
    return quote(value, safe="-_.!~*'()")


def enc_comma(value: str) -> str:
    """encodeURIComponent with commas double-encoded (%252C), as the Android SDK sends them."""
    return enc(value.replace(",", "%2C"))


def ids(rows: Any, key: str = "user_id") -> list[int]:
    assert isinstance(rows, list)
    return [r[key] for r in rows]
