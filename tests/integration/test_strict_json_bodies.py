"""Every request body the client sends is strict JSON: a NaN or an Infinity never goes on the
wire as a bare ``NaN``/``Infinity`` token (which a strict server refuses for the whole
request). The write engine refuses such records before they reach the client, naming the
column; this is the client's own guard, proved against a running sandbox (which today accepts
the bare tokens, so a body that got through would leave a row behind)."""

from __future__ import annotations

import math

import pytest

from connectors.api.query import Query, all_of, cond
from personyze_sandbox.process import RunningSandbox
from tests.readback import get, make_client

pytestmark = pytest.mark.integration


def test_a_body_holding_nan_or_infinity_is_never_sent(fresh_sandbox: RunningSandbox) -> None:
    with make_client(fresh_sandbox) as client:
        for value in (math.nan, math.inf, -math.inf):
            sent = client.stats.requests_sent
            with pytest.raises(ValueError, match="JSON"):
                client.post("products", {"internal_id": "NAN-BODY", "price": value})
            assert client.stats.requests_sent == sent
    rows = get(fresh_sandbox, Query("products", where=all_of(cond("internal_id", "=", "NAN-BODY"))))
    assert rows == []
