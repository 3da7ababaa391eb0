"""Run the connector images that `make image` built, as Airbyte runs them: the config, catalog
and state as files in a directory mounted read-only at ``/config`` (Airbyte's pods mount them
there too), the verb and its flags as arguments, stdout read as protocol messages.

The sandbox the images talk to listens on the host's loopback, so every container joins the
host's network (``--network host``): the connector then reaches ``http://127.0.0.1:PORT``, the
one plain-HTTP address its client accepts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
METADATA = {
    "source-personyze": ROOT / "source_personyze" / "metadata.yaml",
    "destination-personyze": ROOT / "target_personyze" / "destination_metadata" / "metadata.yaml",
}
CONFIG_DIR = "/config"
FILES = {"--config": "connectionConfiguration.json", "--catalog": "catalog.json"}
STATE_FILE = "inputState.json"

Message = dict[str, Any]


def image_of(connector: str) -> str:
    """``dockerRepository:dockerImageTag`` of the connector's metadata.yaml: the image under test
    is the one the metadata names."""
    data = yaml.safe_load(METADATA[connector].read_text())["data"]
    return f"{data['dockerRepository']}:{data['dockerImageTag']}"


def require_image(image: str) -> str:
    found = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    if found.returncode != 0:
        pytest.fail(f"image {image} not found: run `make image` first")
    return image


@dataclass
class Run:
    messages: list[Message]
    returncode: int
    stderr: str

    def of_type(self, kind: str) -> list[Message]:
        return [m for m in self.messages if m["type"] == kind]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]["data"]
            for m in self.of_type("RECORD")
            if stream is None or m["record"]["stream"] == stream
        ]

    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    def text(self) -> str:
        return "\n".join(json.dumps(m) for m in self.messages) + "\n" + self.stderr


def run_image(
    image: str,
    verb: str,
    *,
    config: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Any] | None = None,
    state: Iterable[Message] | None = None,
    stdin: Iterable[Message] = (),
    timeout: float = 600,
) -> Run:
    """One ``docker run --rm`` of the image; every stdout line must be a protocol message."""
    with tempfile.TemporaryDirectory(prefix="personyze-image-run-") as tmp:
        directory = Path(tmp)
        args = [verb]
        for flag, value in (("--config", config), ("--catalog", catalog)):
            if value is not None:
                (directory / FILES[flag]).write_text(json.dumps(value))
                args += [flag, f"{CONFIG_DIR}/{FILES[flag]}"]
        if state is not None:
            (directory / STATE_FILE).write_text(json.dumps(list(state)))
            args += ["--state", f"{CONFIG_DIR}/{STATE_FILE}"]
        # The connector runs as the image's user (uid 1000), not as the owner of these files.
        for path in (directory, *directory.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        command = ["docker", "run", "--rm", "-i", "--network", "host"]
        command += ["-v", f"{directory}:{CONFIG_DIR}:ro", image, *args]
        done = subprocess.run(
            command,
            input="".join(json.dumps(m) + "\n" for m in stdin),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    messages = []
    for line in done.stdout.splitlines():
        try:
            messages.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a protocol message on stdout: {line!r}") from None
    return Run(messages, done.returncode, done.stderr)


def host_network_docker(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Put a ``docker`` first on PATH that adds ``--network host`` to ``docker run``.

    airbyte-cdk's standard image tests run ``docker run --rm IMAGE check ...`` on Docker's
    default bridge network, from where the sandbox on the host's loopback cannot be reached;
    every other argument passes through unchanged."""
    real = shutil.which("docker")
    assert real is not None, "docker client not on PATH"
    wrapper = directory / "docker"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = run ]; then shift; exec {real} run --network host "$@"; fi\n'
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")


def cdk_suite_image(connector: str, monkeypatch: pytest.MonkeyPatch, directory: Path) -> str:
    """The image for the CDK suites' ``connector_image_override``: the one `make image` built,
    never a build of the CDK's own (it needs buildx and a registry), run on the host's network."""
    image = require_image(image_of(connector))
    host_network_docker(monkeypatch, directory)
    return image
