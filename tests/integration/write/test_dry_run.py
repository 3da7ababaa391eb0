"""A dry run sends nothing and prints the calls it plans, never the key."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from connectors.write import (
    WriteEngine,
    WriteOptions,
    parse_targets,
)
from personyze_sandbox.process import RunningSandbox
from tests.integration.write.runs import CONFIG, all_modes_input
from tests.readback import (
    make_client,
    table_counts,
)

pytestmark = pytest.mark.integration


def test_dry_run_sends_nothing_and_prints_calls_without_the_key(
    demo_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    before = table_counts(demo_sandbox)
    out = io.StringIO()
    records = all_modes_input()
    with make_client(demo_sandbox) as client:
        engine = WriteEngine(
            client,
            parse_targets(CONFIG, records),
            WriteOptions(dry_run=True, plan_out=out, ledger_path=tmp_path / "ledger.db"),
        )
        for stream, rows in records.items():
            for row in rows:
                engine.add(stream, row)
        summary = engine.finish()
        assert client.stats.requests_sent == 0
    assert table_counts(demo_sandbox) == before
    plan = out.getvalue()
    assert demo_sandbox.api_key not in plan and "Authorization" not in plan
    assert "POST do " in plan and "POST products " in plan and "DELETE products/where/" in plan
    assert len(plan.splitlines()) == summary.total("calls") > 10
    assert not (tmp_path / "ledger.db").exists()
