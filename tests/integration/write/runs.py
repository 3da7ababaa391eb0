"""What the write tests share: one engine run over real HTTP, one through a transport that loses
answers, and the input that writes every object and mode (the modes test and the dry-run test
use the same input)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx

from connectors.api.client import PersonyzeClient
from connectors.settings import ConnectionSettings
from connectors.write import (
    RunSummary,
    WriteEngine,
    WriteOptions,
    parse_targets,
)
from personyze_sandbox.process import RunningSandbox
from tests.readback import (
    make_client,
)
from tests.write_cases import LIST_MODES, PRODUCT_MODES, T0, USER_MODES

Records = dict[str, list[dict[str, Any]]]


def write(
    sb: RunningSandbox, config: dict[str, Any], records: Records, tmp: Path, **options: Any
) -> RunSummary:
    opts = {
        "rejects_path": tmp / "rejects.jsonl",
        "ledger_path": tmp / "ledger.db",
        "min_records_for_error_rate": 10_000,
        **options,
    }
    with make_client(sb) as client:
        return run_engine(client, config, records, WriteOptions(**opts))


class LosingTransport(httpx.BaseTransport):
    """Real HTTP to the sandbox; the answers that ``loses`` picks are lost, after the sandbox
    applied the request or before it was sent."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lock = threading.Lock()

    def loses(self, request: httpx.Request) -> tuple[bool, bool]:
        """Whether the answer to ``request`` is lost, and whether the sandbox applies the
        request first; called under ``lock``."""
        raise NotImplementedError

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            lose, applied = self.loses(request)
        if lose:
            if applied:
                response = self.inner.handle_request(request)
                response.read()
                response.close()
            raise httpx.ReadError("connection reset before the answer", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def write_losing_answers(
    sb: RunningSandbox,
    config: dict[str, Any] | None,
    records: Records,
    transport: LosingTransport,
    tmp: Path,
    **options: Any,
) -> RunSummary:
    """``records`` written through ``transport``: two retries, without sleeping."""
    settings = ConnectionSettings.from_config(
        {"api_key": sb.api_key, "base_url": sb.base_url, "max_retries": 2}
    )
    with PersonyzeClient(settings, transport=transport, sleep=lambda s: None) as client:
        opts = WriteOptions(rejects_path=tmp / "rejects.jsonl", **options)
        return run_engine(client, config, records, opts)


def run_engine(
    client: PersonyzeClient,
    config: dict[str, Any] | None,
    records: Records,
    options: WriteOptions,
) -> RunSummary:
    engine = WriteEngine(client, parse_targets(config, records), options)
    for stream, rows in records.items():
        for row in rows:
            engine.add(stream, row)
    return engine.finish()


CONFIG: dict[str, Any] = {
    **USER_MODES,
    **PRODUCT_MODES,
    **LIST_MODES,
    "events": {"object": "products_interactions"},
    "reads": {"object": "articles_interactions"},
}
NEW = [f"new{i}@example.com" for i in range(12)]


def all_modes_input() -> Records:
    return {
        "users": [
            {"email": e, "first_name": f"N{i}", "custom_t_1": "vip", "_sdc_seq": i}
            for i, e in enumerate(NEW)
        ]
        + [{"email": "omar.chen.1@example.com", "last_name": "Chen-Updated"}],
        "crm_update": [
            {"email": "tara.ivanova.2@example.com", "custom_i_1": 7},
            {"email": "nobody@example.com", "custom_i_1": 1},
        ],
        "crm_insert": [
            {"email": "fresh@example.com", "first_name": "F"},
            {"email": "rosa.ivanova.3@example.com", "first_name": "R"},
        ],
        "crm_delete": [{"user_id": 10}, {"user_id": 999_999}],
        "products": [
            {
                "internal_id": f"P-{i}",
                "title": f"Item {i}",
                "price": 10 + i,
                "image_1": f"https://cdn.example.com/{i}.jpg",
                "is_in_stock": "yes",
            }
            for i in range(8)
        ],
        "articles": [
            {"internal_id": f"A-{i}", "title": f"Post {i}", "is_published": "yes"} for i in range(3)
        ],
        "price_update": [
            {"internal_id": "SKU-00001", "price": 1.25},
            {"internal_id": "P-NOPE", "price": 2},
        ],
        "discontinued": [{"internal_id": "SKU-00002"}],
        "lists": [{"name": "Reverse ETL"}],
        "vip_add": [{"email": NEW[0]}, {"email": NEW[1]}, {"email": "omar.chen.1@example.com"}],
        "vip_remove": [],  # filled in by the test from the data
        "newsletter": [{"email": e} for e in NEW[:5]],
        "events": [
            {
                "email": NEW[i],
                "product_internal_id": f"P-{i}",
                "status": "goal",
                "quantity": 2,
                "amount": 20 + i,
                "transaction_time": T0 + i,
            }
            for i in range(8)
        ]
        + [{"email": NEW[0], "product_internal_id": "P-1", "status": "delivered"}],
        "reads": [
            {"email": NEW[i], "article_internal_id": f"A-{i}", "status": "liked"} for i in range(3)
        ],
        "do": [
            {"key": NEW[9], "command": "Product added to cart", "item": "P-7", "quantity": 3},
            {
                "key_type": "email",
                "key": NEW[9],
                "command": "User profile",
                "fields": {"custom_t_2": "from do"},
            },
        ],
    }
