"""``source-personyze spec`` answers without loading the Airbyte CDK, and says exactly what the
CDK's own entrypoint says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from airbyte_cdk.entrypoint import AirbyteEntrypoint

from source_personyze import SourcePersonyze

BIN = Path(sys.executable).parent


def test_spec_is_the_message_the_cdk_prints() -> None:
    done = subprocess.run(
        [str(BIN / "source-personyze"), "spec"], capture_output=True, text=True, check=True
    )
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    entrypoint = AirbyteEntrypoint(SourcePersonyze())
    from_cdk = [json.loads(m) for m in entrypoint.run(entrypoint.parse_args(["spec"]))]
    assert printed == [m for m in from_cdk if m["type"] == "SPEC"]


def test_spec_loads_no_framework() -> None:
    probe = (
        "import sys; sys.argv = ['source-personyze', 'spec']\n"
        "from source_personyze.run import run\n"
        "run()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('airbyte_cdk', 'httpx'))\n"
        "print(loaded, file=sys.stderr)\n"
        "assert not loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["type"] == "SPEC"
