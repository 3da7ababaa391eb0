"""The writers' fault matrix (issue 11 point 5): target-personyze and destination-personyze, as
real processes, write profiles, products, articles, list members (added and mirrored), product
interactions and article interactions into a sandbox failing at rate 0.2 and 0.35 (500, 503,
dropped connections, slow answers, and answers lost after the request was applied), three seeds
each. Every run must complete, and what it wrote is read back: no row the API lets us confirm
lost, nothing twice (write_checks.py says exactly what is checked).

The cells run concurrently (they mostly wait on backoff and on processes starting); each cell is
one test, reporting every problem of its end state at once."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.matrix.write_cells import Run, Writer
from tests.matrix.write_checks import cell_sandbox, problems, run_cells, selected_cells

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]

WRITERS = ("target-personyze", "destination-personyze")
RATES = (0.2, 0.35)
SEEDS = (1, 2, 3)
CELLS = [f"{w}-rate{r}-seed{s}" for w in WRITERS for r in RATES for s in SEEDS]


def fault_cell(writer: str, rate: float, seed: int, tmp: Path) -> list[str]:
    with cell_sandbox(tmp, rate, seed) as (sb, log):
        runs: list[Run] = [Writer(writer, sb, tmp).run(log)]
    out = problems(tmp, sb.api_key, runs)
    if " fault:" not in log.read_text():
        out.append("no fault was injected: the cell proves nothing")
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
            for seed in SEEDS:
                name = f"{writer}-rate{rate}-seed{seed}"
                if name in wanted:
                    cells[name] = partial(fault_cell, writer, rate, seed)
    return run_cells(cells, tmp_path_factory.mktemp("write-faults"))


@pytest.mark.parametrize("cell", CELLS)
def test_a_writer_under_faults_loses_and_doubles_nothing(
    outcomes: dict[str, list[str]], cell: str
) -> None:
    assert outcomes[cell] == [], "\n".join(outcomes[cell])
