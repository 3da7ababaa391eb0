"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.meltano_env import meltano_executable


@pytest.fixture(scope="module")
def meltano() -> Path:
    """The meltano executable of the shared Meltano venv (.e2e/meltano)."""
    return meltano_executable()
