"""`/rest/account` and `/rest/tracker_code`: the account the sandbox pretends to be."""

from __future__ import annotations

from typing import Any

from personyze_sandbox.store import Store

DEFAULT_ACCOUNT = {
    "id": 5919,
    "name": "Sandbox account",
    "hosts": "example.com www.example.com",
    "async": 1,
    "no_hide": 0,
}


def _account(store: Store) -> dict[str, Any]:
    row = store.conn().execute("SELECT * FROM _account LIMIT 1").fetchone()
    return dict(row) if row is not None else dict(DEFAULT_ACCOUNT)


def account_info(store: Store) -> dict[str, Any]:
    """The response shape is undocumented (api U12): a small object naming the account."""
    acct = _account(store)
    return {"account_id": acct["id"], "name": acct["name"], "hosts": acct["hosts"].split()}


def tracker_code_html(store: Store) -> str:
    """The embeddable snippet: account id and allowed host names baked in (api §5.18)."""
    acct = _account(store)
    flags = "\n        _S_T.async = true;" if acct["async"] else ""
    flags += "\n        _S_T.noHide = true;" if acct["no_hide"] else ""
    return (
        "<script>(function(s){\n"
        "    s.async = true;\n"
        "    s.src = '//lcounter.personyze.com/stat-track-lib.js';\n"
        "    s.onload = function() {" + flags + "\n"
        f'        _S_T.setup({int(acct["id"])}, "{acct["hosts"]}");\n'
        "    };\n"
        "    (document.querySelector('head') || document.documentElement).appendChild(s);\n"
        "}(document.createElement('script')))</script>"
    )
