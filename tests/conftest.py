"""Shared fixtures: sandboxes running as real HTTP servers on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox


@pytest.fixture(scope="session")
def demo_sandbox() -> Iterator[RunningSandbox]:
    """The demo dataset at scale 1. Tests that write must not use it: use `fresh_sandbox`."""
    with running_sandbox("demo", scale=1, seed=7) as sb:
        yield sb


@pytest.fixture
def fresh_sandbox() -> Iterator[RunningSandbox]:
    """A new sandbox with the demo dataset, for a test that changes data."""
    with running_sandbox("demo", scale=1, seed=11) as sb:
        yield sb


@pytest.fixture
def empty_sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("empty") as sb:
        yield sb
