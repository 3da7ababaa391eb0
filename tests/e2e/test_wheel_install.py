"""The wheel, built from the working tree and installed into a fresh virtualenv with nothing else,
gives every console script, and each one runs from outside the repository: the specs ship in
the wheel, stdout carries only protocol messages (Airbyte) or the text asked for."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.spec import default_specs
from source_personyze.spec import connection_specification as read_specification
from target_personyze.destination_spec import connection_specification as write_specification

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
UV = str(Path(sys.executable).with_name("uv"))
TESTED = {
    "source-personyze",
    "destination-personyze",
    "tap-personyze",
    "target-personyze",
    "personyze-sandbox",
    "personyze-recommend",
}


def project_version() -> str:
    (version,) = re.findall(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    return version


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bin/`` of a new virtualenv holding the wheel and its dependencies only."""
    tmp = tmp_path_factory.mktemp("wheel-install")
    subprocess.run(
        [UV, "build", "--wheel", "--out-dir", str(tmp / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp / "dist").glob("personyze_connectors-*.whl")
    venv = tmp / "venv"
    subprocess.run([UV, "venv", "--python", sys.executable, str(venv)], check=True, timeout=120)
    subprocess.run(
        [UV, "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    return venv / "bin"


def run(bin_dir: Path, *args: str) -> str:
    """The script's stdout; it must exit 0. Run from an empty directory, not the repository."""
    cwd = bin_dir.parent / "cwd"
    cwd.mkdir(exist_ok=True)
    done = subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(cwd)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def protocol(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]  # every line a message


def test_every_console_script_is_installed_and_tested_here(installed: Path) -> None:
    scripts = (ROOT / "pyproject.toml").read_text().split("[project.scripts]\n")[1].split("\n\n")[0]
    declared = {line.split(" = ")[0] for line in scripts.splitlines()}
    assert declared == TESTED
    assert all((installed / script).is_file() for script in declared)


def test_the_package_comes_from_the_virtualenv(installed: Path) -> None:
    stdout = run(installed, "python", "-c", "import connectors, sys; print(connectors.__file__)")
    assert Path(stdout.strip()).is_relative_to(installed.parent)


def test_the_airbyte_connectors_print_their_specs(installed: Path) -> None:
    for script, expected in (
        ("source-personyze", read_specification(default_specs())),
        ("destination-personyze", write_specification(default_specs())),
    ):
        messages = protocol(run(installed, script, "spec"))
        (spec,) = [m["spec"] for m in messages if m["type"] == "SPEC"]
        assert isinstance(spec, dict) and spec["connectionSpecification"] == expected, script
        assert {m["type"] for m in messages} <= {"SPEC", "LOG"}


def test_the_singer_plugins_describe_themselves(installed: Path) -> None:
    for script in ("tap-personyze", "target-personyze"):
        lines = [line.strip() for line in run(installed, script, "--about").splitlines()]
        assert f"Name: {script}" in lines and f"Version: {project_version()}" in lines, script
        assert "- Name: api_key" in lines, script


def test_the_command_line_tools_print_their_usage(installed: Path) -> None:
    for script in ("personyze-sandbox", "personyze-recommend"):
        assert run(installed, script, "--help").startswith(f"usage: {script} "), script
