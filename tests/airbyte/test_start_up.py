"""``source-personyze spec`` answers without loading the Airbyte CDK, and says exactly what the
CDK's own entrypoint says."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from airbyte_cdk.entrypoint import AirbyteEntrypoint

from source_personyze import SourcePersonyze
from tests.fresh_python import run_python

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
    done = run_python(probe)
    assert json.loads(done.stdout)["type"] == "SPEC"


def test_check_reads_without_the_declarative_framework(demo_config: dict[str, object]) -> None:
    """check, discover and read import only the CDK modules they use (not airbyte_cdk's
    __init__, which loads the declarative framework), and still answer as the CDK does."""
    probe = (
        "import json, sys\n"
        "sys.argv = ['source-personyze', 'check', '--config', sys.argv[1]]\n"
        "from source_personyze.run import run\n"
        "run()\n"
        "cdk = [m for m in sys.modules if m.split('.')[0] in ('airbyte_cdk', 'requests_cache')]\n"
        "print(json.dumps(sorted(cdk)), file=sys.stderr)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps(demo_config))
        done = run_python(probe, str(config))
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert "airbyte_cdk.entrypoint" in loaded
    assert not [m for m in loaded if ".declarative" in m or m.startswith("airbyte_cdk.destin")]
    # nor the HTTP streams (and requests-cache with them): abstract_source has a stand-in
    assert not [m for m in loaded if ".streams.http" in m or m.startswith("requests_cache")]
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    assert messages[-1] == {
        "type": "CONNECTION_STATUS",
        "connectionStatus": {"status": "SUCCEEDED"},
    }


def test_a_name_of_the_deferred_package_runs_its_init() -> None:
    probe = (
        "import sys\n"
        "from source_personyze.cdk_loading import load_cdk_for_verbs\n"
        "load_cdk_for_verbs()\n"
        "import airbyte_cdk.models\n"
        "assert 'airbyte_cdk.legacy.sources.declarative.declarative_stream' not in sys.modules\n"
        "from airbyte_cdk import DeclarativeStream, launch\n"
        "import airbyte_cdk.entrypoint\n"
        "assert launch is airbyte_cdk.entrypoint.launch\n"
        "assert DeclarativeStream.__name__ == 'DeclarativeStream'\n"
        "assert isinstance(airbyte_cdk.__version__, str)\n"
    )
    run_python(probe)


def test_the_http_stream_stand_in_answers_as_the_class_once_it_is_loaded() -> None:
    """abstract_source is imported without the HTTP streams; its ``isinstance(s, HttpStream)``
    is False for every stream before that module is loaded (none can be an HttpStream), and
    the real class's answer after; importing the HTTP streams later gives the real module."""
    probe = (
        "import sys\n"
        "from source_personyze.cdk_loading import load_cdk_for_verbs\n"
        "load_cdk_for_verbs()\n"
        "import airbyte_cdk.sources.abstract_source as a\n"
        "assert 'airbyte_cdk.sources.streams.http.http' not in sys.modules\n"
        "from source_personyze.stream import PersonyzeStream\n"
        "assert not isinstance(object(), a.HttpStream)\n"
        "assert not issubclass(PersonyzeStream, a.HttpStream)\n"
        "from airbyte_cdk.sources.streams.http import HttpStream, HttpSubStream\n"
        "assert HttpStream is not a.HttpStream and HttpStream.__module__.endswith('http.http')\n"
        "class Pages(HttpStream):\n"
        "    url_base = 'http://127.0.0.1:9/'\n"
        "    primary_key = None\n"
        "    def path(self, **kw): return 'x'\n"
        "    def parse_response(self, response, **kw): return []\n"
        "    def next_page_token(self, response): return None\n"
        "assert isinstance(Pages(), a.HttpStream) and issubclass(HttpSubStream, a.HttpStream)\n"
        "assert not issubclass(PersonyzeStream, a.HttpStream)\n"
    )
    run_python(probe)


def test_serializers_without_attribute_docs_write_the_same_messages() -> None:
    """The models are imported with serpyco-rs's docstring lookup answering nothing: the
    serializers must write and read every message exactly as with the docstrings."""
    probe = (
        "import json, sys\n"
        "from source_personyze.cdk_loading import load_cdk_for_verbs\n"
        "load_cdk_for_verbs()\n"
        "from serpyco_rs import Serializer\n"
        "import airbyte_cdk.models as m\n"
        "from airbyte_cdk.models.airbyte_protocol_serializers import custom_type_resolver\n"
        "full = Serializer(m.AirbyteMessage, omit_none=True,"
        " custom_type_resolver=custom_type_resolver)\n"
        "fast = m.AirbyteMessageSerializer\n"
        "messages = [json.loads(line) for line in sys.stdin]\n"
        "for message in messages:\n"
        "    a, b = full.load(message), fast.load(message)\n"
        "    assert a == b, (a, b)\n"
        "    assert full.dump(a) == fast.dump(a) == fast.dump(b), message\n"
        "print(len(messages))\n"
    )
    messages = [
        {
            "type": "RECORD",
            "record": {"stream": "users", "data": {"a": 1, "b": None, "c": [1.5]}, "emitted_at": 1},
        },
        {
            "type": "STATE",
            "state": {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": "users"},
                    "stream_state": {"data_last_modified": 5, "emitted_row_digests": ["ab"]},
                },
                "sourceStats": {"recordCount": 2.0},
            },
        },
        {"type": "LOG", "log": {"level": "INFO", "message": "x"}},
        {
            "type": "TRACE",
            "trace": {
                "type": "ERROR",
                "emitted_at": 1.0,
                "error": {
                    "message": "m",
                    "failure_type": "config_error",
                    "stream_descriptor": {"name": "s"},
                },
            },
        },
        {
            "type": "TRACE",
            "trace": {
                "type": "STREAM_STATUS",
                "emitted_at": 2.0,
                "stream_status": {"stream_descriptor": {"name": "users"}, "status": "COMPLETE"},
            },
        },
        {"type": "CONNECTION_STATUS", "connectionStatus": {"status": "FAILED", "message": "no"}},
        {
            "type": "CATALOG",
            "catalog": {
                "streams": [
                    {
                        "name": "users",
                        "json_schema": {"type": "object"},
                        "supported_sync_modes": ["full_refresh", "incremental"],
                        "source_defined_cursor": True,
                        "default_cursor_field": ["data_last_modified"],
                        "source_defined_primary_key": [["user_id"]],
                        "is_resumable": True,
                    }
                ]
            },
        },
        {
            "type": "SPEC",
            "spec": {"connectionSpecification": {"type": "object"}, "supportsIncremental": True},
        },
    ]
    done = run_python(probe, stdin="\n".join(json.dumps(m) for m in messages))
    assert done.stdout.strip() == str(len(messages))
