"""The API key never touches the disk: airbyte-cdk copies the config to
``$TMPDIR/tmpXXXX/config.json`` for a run and removes it only on a clean exit, so a source killed
mid-read (SIGKILL, SIGTERM) used to leave the key there in plain text. The source writes no copy:
after a kill no file under TMPDIR holds the key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.airbyte import protocol
from tests.airbyte.conftest import sandbox_config

pytestmark = pytest.mark.integration

SOURCE = str(Path(sys.executable).with_name("source-personyze"))


@pytest.fixture(scope="module")
def slow_sandbox() -> Iterator[RunningSandbox]:
    """Every answer 20 ms late, so a full read is still running when the test kills it."""
    with running_sandbox("demo", scale=1, seed=41, latency_ms=20) as sb:
        yield sb


def files_holding(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_read_leaves_no_file_holding_the_key(
    slow_sandbox: RunningSandbox, tmp_path: Path, sig: signal.Signals
) -> None:
    inputs, tmpdir = tmp_path / "inputs", tmp_path / "tmpdir"
    inputs.mkdir()
    tmpdir.mkdir()
    config = sandbox_config(slow_sandbox, max_concurrency=1)
    discovered = protocol.run("discover", config).catalog()
    (inputs / "config.json").write_text(json.dumps(config))
    (inputs / "catalog.json").write_text(json.dumps(protocol.configured_catalog(discovered)))
    proc = subprocess.Popen(
        [SOURCE, "read", "--config", str(inputs / "config.json"),
         "--catalog", str(inputs / "catalog.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmpdir)},
    )  # fmt: skip
    assert proc.stdout is not None
    records = 0
    deadline = time.monotonic() + 120
    while records < 200 and time.monotonic() < deadline:  # well into the read
        line = proc.stdout.readline()
        assert line, "the source ended before it was killed"
        records += b'"type":"RECORD"' in line
    assert records == 200
    proc.send_signal(sig)
    proc.wait(timeout=60)
    proc.stdout.close()
    assert proc.returncode != 0
    assert files_holding(tmpdir, slow_sandbox.api_key) == []
