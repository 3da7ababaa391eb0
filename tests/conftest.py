"""Shared fixtures: sandboxes running as real HTTP servers on free loopback ports; and tests
marked ``image_tests`` skipped where no Docker daemon answers."""

from __future__ import annotations

import shutil
import subprocess
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


def docker_daemon_reachable() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return False
    return info.returncode == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    images = [item for item in items if item.get_closest_marker("image_tests")]
    if images and not docker_daemon_reachable():
        skip = pytest.mark.skip(reason="Docker daemon not reachable: image tests skipped")
        for item in images:
            item.add_marker(skip)
