"""The writers' crash matrix (issue 11 point 5): target-personyze and destination-personyze, as
real processes, are killed with SIGKILL after the sandbox answered a given number of their
requests, then run again on what Airbyte and Meltano would send after the last STATE the killed
run echoed (incremental streams from their bookmark, the full-refresh mirror stream whole),
until a run completes; without faults and with faults at rate 0.2. Each chain kills at several
points (the counts of requests below), about 30 kills in all. The end state is read back: no
row the API lets us confirm lost, nothing twice (write_checks.py says exactly what is checked).

The cells run concurrently; each cell is one test, reporting every problem at once."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.matrix.write_cells import Run, Writer
from tests.matrix.write_checks import cell_sandbox, problems, run_cells, selected_cells

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]

WRITERS = ("target-personyze", "destination-personyze")
RATES = (0.0, 0.2)
# requests answered before each SIGKILL, one run after another; a run that completes before its
# kill point ends the chain
CHAINS = {"early": (6, 21, 37, 13), "late": (72, 28, 50, 90)}
CELLS = [f"{w}-rate{r}-{c}" for w in WRITERS for r in RATES for c in CHAINS]


def crash_cell(writer: str, rate: float, kills: tuple[int, ...], tmp: Path) -> list[str]:
    seed = sum(kills)
    with cell_sandbox(tmp, rate, seed) as (sb, log):
        runner = Writer(writer, sb, tmp)
        runs: list[Run] = []
        for kill_after in kills:
            runs.append(runner.run(log, kill_after=kill_after))
            if not runs[-1].killed:
                break
        else:
            runs.append(runner.run(log))
    out = problems(tmp, sb.api_key, runs)
    if sum(r.killed for r in runs) == 0:
        out.append(f"no run was killed (kill points {kills}): the cell proves nothing")
    return out


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[str]]:
    """The cells selected in this session, run once for all their tests."""
    wanted = selected_cells(request)
    cells: dict[str, Callable[[Path], list[str]]] = {}
    for writer in WRITERS:
        for rate in RATES:
            for chain, kills in CHAINS.items():
                name = f"{writer}-rate{rate}-{chain}"
                if name in wanted:
                    cells[name] = partial(crash_cell, writer, rate, kills)
    return run_cells(cells, tmp_path_factory.mktemp("write-crashes"))


@pytest.mark.parametrize("cell", CELLS)
def test_a_writer_killed_and_rerun_loses_and_doubles_nothing(
    outcomes: dict[str, list[str]], cell: str
) -> None:
    assert outcomes[cell] == [], "\n".join(outcomes[cell])
