"""Where the demo writes, and how it runs a step's command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OUT = ROOT / "demo-output"


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        sys.exit(f"{Path(cmd[0]).name} failed:\n{done.stderr[-3000:]}")
    return done
