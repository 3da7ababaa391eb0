"""The PyAirbyte examples of the docs pages run as written: each ```python block is run unchanged
in the PyAirbyte virtualenv, from a directory whose `.venv` is the project's (as in a checkout
after `make venv`), with the environment variables the page names pointing at sandboxes."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.airbyte.rows import sqlite_rows
from tests.airbyte_destination import protocol as p
from tests.e2e.pyairbyte_env import pyairbyte_python

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(2400)]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "integrations"


def pyairbyte_example(page: Path) -> str:
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", page.read_text(), re.S) if "ab." in b]
    return str(block)


def run_example(code: str, tmp_path: Path, env: dict[str, str]) -> str:
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [str(pyairbyte_python()), str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=1800,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "DO_NOT_TRACK": "1",
            "AIRBYTE_LOGGING_ROOT": str(tmp_path / "logs"),
            **env,
        },
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def empty_target() -> Iterator[RunningSandbox]:
    with running_sandbox("empty") as sb:
        yield sb


def test_the_source_example_reads_the_streams_it_names(
    demo_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    env = {"PERSONYZE_API_KEY": demo_sandbox.api_key, "PERSONYZE_BASE_URL": demo_sandbox.base_url}
    stdout = run_example(pyairbyte_example(DOCS / "sources" / "personyze.md"), tmp_path, env)
    streams = ("users", "products", "products_interactions")
    printed = re.findall(rf"^({'|'.join(streams)}) (\d+)$", stdout, re.M)  # PyAirbyte prints too
    expected = {stream: sqlite_rows(demo_sandbox.db_path, stream).total() for stream in streams}
    assert {name: int(count) for name, count in printed} == expected


def test_the_destination_example_copies_users_and_products(
    demo_sandbox: RunningSandbox, empty_target: RunningSandbox, tmp_path: Path
) -> None:
    env = {
        "PERSONYZE_SOURCE_API_KEY": demo_sandbox.api_key,
        "PERSONYZE_SOURCE_BASE_URL": demo_sandbox.base_url,
        "PERSONYZE_API_KEY": empty_target.api_key,
        "PERSONYZE_BASE_URL": empty_target.base_url,
    }
    run_example(pyairbyte_example(DOCS / "destinations" / "personyze.md"), tmp_path, env)
    with sqlite3.connect(demo_sandbox.db_path) as db:
        emails = sorted(e for (e,) in db.execute("SELECT email FROM users WHERE email != ''"))
        skus = sorted(k for (k,) in db.execute("SELECT internal_id FROM products"))
    assert len(emails) > 1000 and len(skus) > 100
    users = {
        email
        for i in range(0, len(emails), 100)
        for email in p.users_by_email(empty_target, emails[i : i + 100])
    }
    products = {
        sku
        for i in range(0, len(skus), 100)
        for sku in p.products_by_id(empty_target, skus[i : i + 100])
    }
    assert sorted(users) == emails and sorted(products) == skus
