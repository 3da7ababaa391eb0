"""Fixtures of the Airbyte source tests: configs for the demo sandbox of tests/conftest.py.

The standard suite collects its scenarios before any fixture runs, so their config files live at
paths fixed at import time (``SCENARIO_DIR``); the session fixture below writes them once the
sandbox's port is known.
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

from personyze_sandbox.process import RunningSandbox
from tests.airbyte import protocol

SCENARIO_DIR = Path(tempfile.gettempdir()) / f"source-personyze-scenarios-{os.getpid()}"
GOOD_CONFIG = SCENARIO_DIR / "config.json"
BAD_KEY_CONFIG = SCENARIO_DIR / "invalid_api_key.json"
UNREACHABLE_CONFIG = SCENARIO_DIR / "unreachable_base_url.json"
# Long enough, with digits, so that the suite's secret-leak check really searches for it.
BAD_KEY = "0BADC0FFEE0BADC0FFEE0BADC0FFEE0BADC0FFEE"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sandbox_config(sb: RunningSandbox, **extra: Any) -> dict[str, Any]:
    return {"api_key": sb.api_key, "base_url": sb.base_url, **extra}


@pytest.fixture(scope="session", autouse=True)
def scenario_configs(demo_sandbox: RunningSandbox) -> Iterator[Path]:
    SCENARIO_DIR.mkdir(parents=True, exist_ok=True)
    configs = {
        GOOD_CONFIG: sandbox_config(demo_sandbox),
        BAD_KEY_CONFIG: sandbox_config(demo_sandbox, api_key=BAD_KEY),
        UNREACHABLE_CONFIG: sandbox_config(
            demo_sandbox, base_url=f"http://127.0.0.1:{closed_port()}/rest", max_retries=0
        ),
    }
    for path, config in configs.items():
        path.write_text(json.dumps(config))
    yield SCENARIO_DIR
    shutil.rmtree(SCENARIO_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_config(demo_sandbox: RunningSandbox) -> dict[str, Any]:
    return sandbox_config(demo_sandbox)


@pytest.fixture(scope="session")
def demo_catalog(demo_config: dict[str, Any]) -> dict[str, Any]:
    """The catalog discovered from the demo sandbox."""
    return protocol.run("discover", demo_config).catalog()
