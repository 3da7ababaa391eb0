"""Sandboxes of the sandbox-rules tests: one of each per module, each a real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.integration.sandbox_rules.answers import _client


@pytest.fixture(scope="module")
def demo() -> Iterator[httpx.Client]:
    with running_sandbox("demo", seed=3) as sb, _client(sb) as c:
        yield c


@pytest.fixture(scope="module")
def empty_sb() -> Iterator[RunningSandbox]:
    with running_sandbox("empty") as sb:
        yield sb


@pytest.fixture(scope="module")
def empty(empty_sb: RunningSandbox) -> Iterator[httpx.Client]:
    with _client(empty_sb) as c:
        yield c


@pytest.fixture(scope="module")
def observed() -> Iterator[httpx.Client]:
    with (
        running_sandbox("empty", extra_args=["--behaviour", "observed"]) as sb,
        _client(sb) as c,
    ):
        yield c
