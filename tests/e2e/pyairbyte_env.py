"""The PyAirbyte virtualenv of the end-to-end test: created on first use under .e2e/pyairbyte
(PyAirbyte pins SQLAlchemy and rich, so it cannot share the project's venv) and reused after."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".e2e" / "pyairbyte"
PYAIRBYTE = "airbyte==0.71.3"
INSTALL_TIMEOUT = 1800


def pyairbyte_python() -> Path:
    """The venv's interpreter, installing PyAirbyte first if this version is not there yet."""
    python = VENV / "bin" / "python"
    done = VENV / f".installed-{PYAIRBYTE}"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with (VENV.parent / "pyairbyte.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers wait for one install
        if not done.exists():
            uv = str(Path(sys.executable).with_name("uv"))
            if not python.exists():
                subprocess.run([uv, "venv", "--python", "3.11", str(VENV)], check=True)
            subprocess.run(
                [uv, "pip", "install", "--python", str(python), PYAIRBYTE],
                check=True,
                timeout=INSTALL_TIMEOUT,
            )
            done.touch()
    return python
