"""connectors.loading: a package registered without its ``__init__`` imports its submodules
alone and runs the real ``__init__`` once, the first time one of its own names is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fresh_python import run_python

PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
from connectors.loading import defer_package_init
defer_package_init("pkg")
defer_package_init("pkg.sub")
import pkg.sub.leaf as leaf                  # a module two levels down
from pkg import plain                        # a submodule by from-import
assert leaf.VALUE == 1 and plain.VALUE == 2
assert "pkg.heavy" not in sys.modules and "pkg.sub.heavy" not in sys.modules
assert "INIT_RAN" not in sys.modules["pkg"].__dict__
from pkg import NAME, COUNT
assert NAME == "from init" and COUNT == [1]
import pkg
assert pkg.plain is plain and pkg.heavy.VALUE == 3
try:
    pkg.missing
except AttributeError as exc:
    assert "missing" in str(exc)
else:
    raise AssertionError("pkg.missing should not exist")
from pkg.sub import THING                    # the sub-package's own name runs its init
assert THING == "sub init" and "pkg.sub.heavy" in sys.modules
print("ok")
"""


def make_package(root: Path) -> None:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text(
        "COUNT = globals().setdefault('COUNT', [])\nCOUNT.append(1)\n"
        "from pkg import heavy\nNAME = 'from init'\nINIT_RAN = True\n"
    )
    (root / "pkg" / "heavy.py").write_text("VALUE = 3\n")
    (root / "pkg" / "plain.py").write_text("VALUE = 2\n")
    (root / "pkg" / "sub" / "__init__.py").write_text(
        "from pkg.sub import heavy\nTHING = 'sub init'\n"
    )
    (root / "pkg" / "sub" / "heavy.py").write_text("VALUE = 4\n")
    (root / "pkg" / "sub" / "leaf.py").write_text("VALUE = 1\n")


def test_submodules_import_alone_and_a_name_runs_the_init_once(tmp_path: Path) -> None:
    make_package(tmp_path)
    done = run_python(PROBE, str(tmp_path))
    assert done.stdout.strip() == "ok"


def test_an_imported_package_is_left_as_it_is(tmp_path: Path) -> None:
    make_package(tmp_path)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import pkg\n"
        "from connectors.loading import defer_package_init\n"
        "defer_package_init('pkg')\n"
        "assert sys.modules['pkg'] is pkg and pkg.COUNT == [1]\n"
        "defer_package_init('not_a_package_anywhere')\n"
        "assert 'not_a_package_anywhere' not in sys.modules\n"
    )
    run_python(probe, str(tmp_path))


def test_hidden_optional_modules_come_back_after_the_block(tmp_path: Path) -> None:
    """A library importing an optional module in ``try/except ImportError`` carries on without
    it inside the block; outside, the module imports as usual; one already imported is left."""
    (tmp_path / "lib.py").write_text("try:\n    import opt\nexcept ImportError:\n    opt = None\n")
    (tmp_path / "opt.py").write_text("VALUE = 7\n")
    probe = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import json\n"
        "from connectors.loading import optional_modules_absent\n"
        "with optional_modules_absent('opt', 'json'):\n"
        "    import lib\n"
        "    import json as again\n"
        "assert lib.opt is None and 'opt' not in sys.modules and again is json\n"
        "import opt\n"
        "assert opt.VALUE == 7\n"
    )
    run_python(probe, str(tmp_path))


def test_connectors_import_httpx_without_its_command_line_client() -> None:
    probe = (
        "import sys\n"
        "import tap_personyze\n"
        "from source_personyze.cdk_loading import load_cdk_for_verbs\n"
        "load_cdk_for_verbs()\n"
        "import httpx\n"
        "assert 'httpx._main' not in sys.modules and 'rich' not in sys.modules, "
        "sorted(m for m in sys.modules if m.startswith(('httpx._main', 'rich')))\n"
        "client = httpx.Client()\n"  # the library itself is whole
        "client.close()\n"
        "import httpx._main\n"  # and its CLI still imports if asked for
        "assert callable(httpx._main.main)\n"
    )
    run_python(probe)


@pytest.mark.parametrize("verb", ["check", "discover", "read"])
def test_the_source_entry_point_imports_httpx_without_its_command_line_client(verb: str) -> None:
    """Through ``run()`` as the console script calls it (the head start imports the client
    before the CDK loads): a missing config file ends the run after the imports."""
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write("
        'f\'cli={sorted(m for m in sys.modules if m.startswith(("httpx._main", "rich")))}\\n\'))\n'
        f"sys.argv = ['source-personyze', {verb!r}, '--config', '/nonexistent/config.json'"
        + (", '--catalog', '/nonexistent/catalog.json']\n" if verb == "read" else "]\n")
        + "from source_personyze.run import run\n"
        "try:\n"
        "    run()\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert "cli=[]" in run_python(probe).stderr


CHECK_AT_EXIT = (
    "import atexit, gc, sys\n"
    # registered first, so it runs last: after the entry point's own exit handlers
    "atexit.register(lambda: sys.stderr.write(f'frozen={gc.get_freeze_count() > 0}\\n'))\n"
)


@pytest.mark.parametrize(
    ("module", "call", "argv"),
    [
        ("source_personyze.run", "run()", ["spec"]),
        ("target_personyze.destination_run", "run()", ["spec"]),
        ("tap_personyze", "TapPersonyze.cli()", ["--about"]),
        ("target_personyze.target", "TargetPersonyze.cli()", ["--about"]),
    ],
)
def test_every_connector_exits_without_a_last_garbage_collection(
    module: str, call: str, argv: list[str]
) -> None:
    """Interpreter shutdown collected garbage over every object the CDK and the SDKs had
    created: 0.2 s of each connector run. Each entry point leaves it out, and still prints."""
    name = call.split("(")[0].split(".")[0]
    code = (
        CHECK_AT_EXIT
        + f"sys.argv = ['connector', *{argv!r}]\n"
        + f"from {module} import {name}\n"
        + f"{call}\n"
    )
    done = run_python(code)
    assert done.stdout.strip(), "the entry point printed nothing"
    assert "frozen=True" in done.stderr, done.stderr[-2000:]


def test_exit_without_collecting_freezes_only_at_exit() -> None:
    code = (
        CHECK_AT_EXIT
        + "from connectors.loading import exit_without_collecting\n"
        + "exit_without_collecting()\n"
        + "print(gc.get_freeze_count())\n"
    )
    done = run_python(code)
    assert done.stdout.strip() == "0"  # nothing frozen while the connector runs
    assert "frozen=True" in done.stderr
