"""tap-personyze imports only the singer-sdk modules it uses (not the SDK's package ``__init__``,
which loads targets, mappers, sinks and REST/GraphQL streams), and the SDK still answers every
name when asked."""

from __future__ import annotations

import json

from tests.fresh_python import run_python
from tests.singer.tapruns import tap_cli


def test_about_loads_no_target_sink_or_rest_stream() -> None:
    probe = (
        "import json, sys\n"
        "sys.argv = ['tap-personyze', '--about', '--format', 'json']\n"
        "from tap_personyze.tap import TapPersonyze\n"
        "try:\n"
        "    TapPersonyze.cli()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = run_python(probe)
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "singer_sdk.tap_base" in loaded
    heavy = {"singer_sdk.target_base", "singer_sdk.sinks", "singer_sdk.streams.rest", "joblib"}
    assert not heavy & loaded
    assert json.loads(done.stdout)["name"] == "tap-personyze"
    # the same as the console script prints
    assert json.loads(tap_cli("--about", "--format", "json").stdout) == json.loads(done.stdout)


def test_a_name_of_the_deferred_sdk_runs_its_init() -> None:
    probe = (
        "import sys\n"
        "import tap_personyze\n"
        "assert 'singer_sdk.target_base' not in sys.modules\n"
        "from singer_sdk import Target, Stream, typing\n"
        "from singer_sdk.streams import RESTStream\n"
        "import singer_sdk.streams.core, singer_sdk.tap_base\n"
        "assert Stream is singer_sdk.streams.core.Stream\n"
        "assert tap_personyze.TapPersonyze.__mro__[1] is singer_sdk.tap_base.Tap\n"
        "assert Target.__name__ == 'Target' and RESTStream.__name__ == 'RESTStream'\n"
        "assert 'singer_sdk.target_base' in sys.modules\n"
    )
    run_python(probe)
