"""End to end with Meltano: ``meltano install`` and ``meltano run tap-personyze target-jsonl``
with the repository's meltano.yml, against a sandbox, offline apart from the package index.

Meltano lives in its own venv (.e2e/meltano, created once and reused) and the plugins' venvs in
.e2e/meltano-project (MELTANO_SYS_DIR_ROOT, reused). The project itself is a copy of meltano.yml
in a temporary directory, with ``${MELTANO_PROJECT_ROOT}`` in pip_url pointing at this
repository: Meltano writes to its project file and keeps the state in the project's system
database, so each test run starts without bookmarks and the repository stays untouched.
The key reaches Meltano only through the environment (TAP_PERSONYZE_API_KEY).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from personyze_sandbox.process import RunningSandbox, running_sandbox
from tests.e2e.meltano_env import meltano_environ, project_copy
from tests.singer.tapruns import (
    SPECS,
    comparable_columns,
    keys,
    multiset,
    reference_rows,
    table_specs,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

STATE_ID = "dev:tap-personyze-to-target-jsonl"
Row = dict[str, Any]


class Project:
    """The repository's Meltano project, with its state and output in ``workdir``."""

    def __init__(self, meltano: Path, sandbox: RunningSandbox, workdir: Path) -> None:
        self.meltano = meltano
        self.sandbox = sandbox
        self.root = workdir / "project"
        self.root.mkdir()
        self.project_file = project_copy(self.root)
        self.output = workdir / "output"
        self.output.mkdir()
        self.env = {
            **meltano_environ(workdir, ("TAP_PERSONYZE_", "TARGET_JSONL_")),
            "TAP_PERSONYZE_API_KEY": sandbox.api_key,
            "TAP_PERSONYZE_BASE_URL": sandbox.base_url,
            "TARGET_JSONL_DESTINATION_PATH": str(self.output),
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.meltano), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"meltano {' '.join(args)} failed:\n{done.stderr[-4000:]}"
        assert self.sandbox.api_key not in done.stdout + done.stderr
        return done

    def rows(self, stream: str) -> list[Row]:
        path = self.output / f"{stream}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def state(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self("state", "get", STATE_ID).stdout)
        return value["singer_state"]


@pytest.fixture(scope="module")
def project(meltano: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    with running_sandbox("demo", scale=1, seed=7) as sb:
        project = Project(meltano, sb, tmp_path_factory.mktemp("meltano"))
        project("install", "tap-personyze", "target-jsonl")  # the project holds others too
        written = project.project_file.read_text()
        yield project
        # Meltano rewrites a project file that is not in its own form (comments lost, kinds
        # renamed); the committed one is kept in that form, so a run leaves it as it was.
        assert project.project_file.read_text() == written


def test_meltano_run_loads_every_row_then_nothing_twice(project: Project) -> None:
    sb = project.sandbox
    project("run", "tap-personyze", "target-jsonl")
    first = {spec.name: project.rows(spec.name) for spec in table_specs()}
    for spec in table_specs():
        rows, reference = first[spec.name], reference_rows(spec, sb.db_path)
        columns = comparable_columns(spec, sb.db_path)
        assert multiset(rows, columns) == multiset(reference, columns), spec.name
        if spec.primary_key:
            assert sorted(keys(rows, spec.primary_key)) == sorted(
                keys(reference, spec.primary_key)
            ), spec.name
    assert len(project.rows("tracker_code")) == 1
    assert not project.rows("recommendations")  # no users configured

    state = project.state()["bookmarks"]
    project("run", "tap-personyze", "target-jsonl")
    for spec in table_specs():
        added = project.rows(spec.name)[len(first[spec.name]) :]
        if spec.read.mode != "incremental":
            assert len(added) == len(first[spec.name]), spec.name  # full refresh: all again
            continue
        key = spec.read.key
        mark = state[spec.name]["replication_key_value"]
        assert type(mark) is int
        assert mark == max(r[key] for r in first[spec.name])
        # the state names the rows already emitted at the bookmark: none comes again
        assert added == [], spec.name
    assert project.state()["bookmarks"] == state


def test_meltano_sees_the_declared_settings(project: Project) -> None:
    listed = project("config", "list", "--all", "tap-personyze").stdout  # the key: redacted
    for setting in SPECS.connection.settings:
        if "read" in setting.applies_to:
            assert setting.name in listed
