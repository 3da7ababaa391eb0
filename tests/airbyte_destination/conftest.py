"""Fixtures of the Airbyte destination tests.

The standard suite collects its scenarios before any fixture runs, so their config files live at
paths fixed at import time (``SCENARIO_DIR``); the session fixture below starts a sandbox and
writes them once its port is known. Tests that write get a sandbox of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox

SCENARIO_DIR = Path(tempfile.gettempdir()) / f"destination-personyze-scenarios-{os.getpid()}"
GOOD_CONFIG = SCENARIO_DIR / "config.json"
BAD_KEY_CONFIG = SCENARIO_DIR / "invalid_api_key.json"
UNREACHABLE_CONFIG = SCENARIO_DIR / "unreachable_base_url.json"
BAD_MAPPING_CONFIG = SCENARIO_DIR / "invalid_stream_mapping.json"
# Long enough, with digits, so that the suite's secret-leak check really searches for it.
BAD_KEY = "0BADC0FFEE0BADC0FFEE0BADC0FFEE0BADC0FFEE"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sandbox_config(sb: RunningSandbox, tmp: Path, **extra: Any) -> dict[str, Any]:
    """A destination config for ``sb`` whose rejects and ledger files live in ``tmp``."""
    return {
        "api_key": sb.api_key,
        "base_url": sb.base_url,
        "rejects_path": str(tmp / "rejects.jsonl"),
        "ledger_path": str(tmp / "ledger.sqlite"),
        **extra,
    }


@pytest.fixture(scope="session")
def destination_sandbox() -> Iterator[RunningSandbox]:
    """A demo sandbox for the standard suite (check only: nothing is written to it)."""
    with running_sandbox("demo", scale=1, seed=7) as sb:
        yield sb


@pytest.fixture(scope="session", autouse=True)
def scenario_configs(destination_sandbox: RunningSandbox) -> Iterator[Path]:
    SCENARIO_DIR.mkdir(parents=True, exist_ok=True)
    sb = destination_sandbox
    configs = {
        GOOD_CONFIG: sandbox_config(sb, SCENARIO_DIR),
        BAD_KEY_CONFIG: sandbox_config(sb, SCENARIO_DIR, api_key=BAD_KEY),
        UNREACHABLE_CONFIG: sandbox_config(
            sb, SCENARIO_DIR, base_url=f"http://127.0.0.1:{closed_port()}/rest", max_retries=0
        ),
        BAD_MAPPING_CONFIG: sandbox_config(
            sb, SCENARIO_DIR, streams={"customers": {"object": "users", "mode": "mirror"}}
        ),
    }
    for path, config in configs.items():
        path.write_text(json.dumps(config))
    yield SCENARIO_DIR
    shutil.rmtree(SCENARIO_DIR, ignore_errors=True)


@pytest.fixture
def writable_sandbox() -> Iterator[RunningSandbox]:
    """A demo sandbox of its own, for a test that writes."""
    with running_sandbox("demo", scale=1, seed=11) as sb:
        yield sb
