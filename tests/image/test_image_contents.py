"""Both images are what Airbyte expects and hold nothing of the build or the tests: the entrypoint
and AIRBYTE_ENTRYPOINT are the connector's console script, they run as the non-root user
`airbyte` (uid 1000) of Airbyte's own bases, and no CA bundle, index setting, config, database
or test module of the build reached them."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.image.docker_run import METADATA, image_of, require_image

pytestmark = pytest.mark.image_tests

CONNECTORS = ["source-personyze", "destination-personyze"]
# Files that would mean a secret, the build's settings or test data got into the image.
FORBIDDEN = (
    "-name pip-ca.pem -o -name pip.conf -o -name '*.sqlite' -o -name '*.db' "
    "-o -name connectionConfiguration.json -o -name config.json -o -name '.env' "
    "-o -path '*/site-packages/tests' -o -path /tmp/build"
)


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


@pytest.mark.parametrize("connector", CONNECTORS)
def test_the_image_runs_its_console_script_as_airbyte(connector: str) -> None:
    image = require_image(image_of(connector))
    (inspected,) = json.loads(docker("image", "inspect", image))
    config = inspected["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert config["Entrypoint"] == [f"/opt/personyze/bin/{connector}"]
    assert env["AIRBYTE_ENTRYPOINT"] == " ".join(config["Entrypoint"])
    assert config["User"] == "airbyte"
    assert docker("run", "--rm", "--entrypoint", "id", image).split()[0] == "uid=1000(airbyte)"
    metadata = yaml.safe_load(METADATA[connector].read_text())["data"]
    assert config["Labels"]["io.airbyte.name"] == metadata["dockerRepository"]
    assert config["Labels"]["io.airbyte.version"] == metadata["dockerImageTag"]
    assert not [name for name in env if name.startswith("PIP_")]


@pytest.mark.parametrize("connector", CONNECTORS)
def test_nothing_of_the_build_or_the_tests_is_in_the_image(connector: str) -> None:
    image = require_image(image_of(connector))
    found = docker(
        "run", "--rm", "--user", "root", "--entrypoint", "sh", image, "-c",
        f"find / -xdev \\( {FORBIDDEN} \\) -print",
    )  # fmt: skip
    assert found.split() == []
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
    assert "PIP_INDEX_URL" not in history and "pip-ca.pem" not in history
