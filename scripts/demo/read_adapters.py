"""Demo steps 2 and 3: the sandbox synced by the Airbyte source into JSONL files, and by the
Singer tap through Meltano (its own venv under .e2e/meltano, created on first use and shared
with the end-to-end tests)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from steps import BIN, OUT, ROOT, run, step

from personyze_sandbox.process import RunningSandbox

MELTANO_VENV = ROOT / ".e2e" / "meltano"
MELTANO_SYS_DIR = ROOT / ".e2e" / "meltano-project" / ".meltano"


def source_to_files(sb: RunningSandbox) -> None:
    step("Airbyte source: source-personyze read → demo-output/source/*.jsonl")
    work = OUT / "source"
    work.mkdir(parents=True)
    config = work / "config.json"
    config.write_text(json.dumps({"api_key": sb.api_key, "base_url": sb.base_url}))
    config.chmod(0o600)
    found = run([str(BIN / "source-personyze"), "discover", "--config", str(config)])
    streams = []
    for line in found.stdout.splitlines():
        message = json.loads(line)
        for stream in message.get("catalog", {}).get("streams", []):
            incremental = "incremental" in stream["supported_sync_modes"]
            streams.append(
                {
                    "stream": stream,
                    "sync_mode": "incremental" if incremental else "full_refresh",
                    "destination_sync_mode": "append",
                    "cursor_field": stream.get("default_cursor_field", []),
                }
            )
    catalog = work / "catalog.json"
    catalog.write_text(json.dumps({"streams": streams}))
    read = run(
        [str(BIN / "source-personyze"), "read", "--config", str(config), "--catalog", str(catalog)]
    )
    files: dict[str, Any] = {}
    states = 0
    for line in read.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            name = message["record"]["stream"]
            if name not in files:
                files[name] = (work / f"{name}.jsonl").open("w")
            files[name].write(json.dumps(message["record"]["data"]) + "\n")
        elif message["type"] == "STATE":
            states += 1
    for handle in files.values():
        handle.close()
    config.unlink()
    print_counts(work)
    print(f"  ({states} STATE messages)")


def print_counts(folder: Path) -> None:
    for path in sorted(folder.glob("*.jsonl")):
        rows = sum(1 for _ in path.open())
        print(f"  {path.stem:<26} {rows:>7} records")


def meltano_executable() -> Path:
    python = MELTANO_VENV / "bin" / "python"
    if not python.exists():
        print("  (first run: installing Meltano into .e2e/meltano)", flush=True)
        run([str(BIN / "uv"), "venv", "-q", "--python", sys.executable, str(MELTANO_VENV)])
        run([str(BIN / "uv"), "pip", "install", "-q", "--python", str(python), "meltano==4.4.1"])
    return MELTANO_VENV / "bin" / "meltano"


def tap_through_meltano(sb: RunningSandbox) -> None:
    step("Singer tap through Meltano: meltano run tap-personyze target-jsonl → demo-output/tap/")
    meltano = meltano_executable()
    output = OUT / "tap"
    output.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        text = (ROOT / "meltano.yml").read_text().replace("${MELTANO_PROJECT_ROOT}", str(ROOT))
        (project / "meltano.yml").write_text(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "TAP_"))}
        env.update(
            {
                "MELTANO_SYS_DIR_ROOT": str(MELTANO_SYS_DIR),
                "MELTANO_DATABASE_URI": f"sqlite:///{project / 'meltano.db'}",
                "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "TAP_PERSONYZE_API_KEY": sb.api_key,
                "TAP_PERSONYZE_BASE_URL": sb.base_url,
                "TARGET_JSONL_DESTINATION_PATH": str(output),
            }
        )
        run([str(meltano), "install", "tap-personyze", "target-jsonl"], cwd=project, env=env)
        run([str(meltano), "run", "tap-personyze", "target-jsonl"], cwd=project, env=env)
    print_counts(output)
