"""The sandbox every write test changes: a new one per test, with the demo dataset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("demo", scale=1, seed=11) as sb:
        yield sb
