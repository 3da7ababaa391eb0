"""Code run by a new interpreter, for tests of what a process imports at start-up (nothing is
imported before the code runs, unlike in the test process)."""

from __future__ import annotations

import subprocess
import sys


def run_python(code: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``code`` run by ``python -c`` with ``args``; it must exit 0 (its stderr otherwise)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done
