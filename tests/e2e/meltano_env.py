"""Meltano for the end-to-end tests: its own venv (.e2e/meltano, created once and reused), the
plugins' venvs in .e2e/meltano-project (MELTANO_SYS_DIR_ROOT, reused), and a copy of the
repository's meltano.yml in a temporary project whose ``${MELTANO_PROJECT_ROOT}`` points at
this repository, so a test run starts without bookmarks and the repository stays untouched."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
E2E = ROOT / ".e2e"
MELTANO_VENV = E2E / "meltano"
MELTANO_VERSION = "4.4.1"
SYS_DIR = E2E / "meltano-project" / ".meltano"
UV = Path(sys.executable).with_name("uv")


def meltano_executable() -> Path:
    """The meltano executable, installed into its own venv on first use."""
    python = MELTANO_VENV / "bin" / "python"
    done = MELTANO_VENV / f".installed-meltano-{MELTANO_VERSION}"
    E2E.mkdir(parents=True, exist_ok=True)
    with (E2E / "meltano.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers wait for one install
        if not done.exists():
            if not python.exists():
                subprocess.run(
                    [str(UV), "venv", "-q", "--python", sys.executable, str(MELTANO_VENV)],
                    check=True,
                )
            package = f"meltano=={MELTANO_VERSION}"
            subprocess.run(
                [str(UV), "pip", "install", "-q", "--python", str(python), package], check=True
            )
            done.touch()
    return MELTANO_VENV / "bin" / "meltano"


def project_copy(folder: Path) -> Path:
    """The repository's meltano.yml copied into ``folder``, its pip_urls pointing here."""
    committed = (ROOT / "meltano.yml").read_text()
    assert "${MELTANO_PROJECT_ROOT}" in committed
    project_file = folder / "meltano.yml"
    project_file.write_text(committed.replace("${MELTANO_PROJECT_ROOT}", str(ROOT)))
    return project_file


def meltano_environ(workdir: Path, drop_prefixes: tuple[str, ...]) -> dict[str, str]:
    """This process's environment without variables Meltano or the plugins would pick up
    (``drop_prefixes``), plus Meltano's system dir, a project database in ``workdir``, and no
    version check or telemetry."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith((*drop_prefixes, "MELTANO_", "VIRTUAL_ENV"))
    }
    return {
        **inherited,
        "MELTANO_SYS_DIR_ROOT": str(SYS_DIR),
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
