"""An unknown setting fails and is named, with a "did you mean" (a misspelled ``ledger_path``
used to be ignored), in the core and in every adapter that calls it; the keys the frameworks
add to a config on their own are accepted, as the installed frameworks list them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import singer_sdk.helpers.capabilities as sdk_capabilities
from airbyte_cdk.models import Status
from airbyte_cdk.sources.utils.schema_helpers import InternalConfig
from singer_sdk.exceptions import ConfigValidationError

from connectors.settings import ConnectionSettings, SettingsError
from connectors.settings.known_keys import FRAMEWORK_KEYS, SINGER_SDK_KEYS
from source_personyze import SourcePersonyze
from tap_personyze import TapPersonyze
from target_personyze.destination import DestinationPersonyze
from target_personyze.target import TargetPersonyze

KEY = "0123456789ABCDEF0123456789ABCDEF01234567"
BASE = {"api_key": KEY, "base_url": "http://127.0.0.1:9/rest"}
LOGGER = logging.getLogger("test")


@pytest.mark.parametrize(
    ("extra", "side", "expected"),
    [
        ({"ledgr_path": "x"}, None, "ledgr_path: is not a setting (did you mean ledger_path?)"),
        ({"strat_date": "2024-01-01"}, "read", "strat_date: is not a setting (did you mean start_"),
        ({"API_KEY": "x"}, "read", "API_KEY: is not a setting (did you mean api_key?)"),
        ({"max_retry": 3}, None, "max_retry: is not a setting (did you mean max_retries?)"),
        ({"ledgr_path": "x"}, "read", "(did you mean ledger_path, a setting of the writers"),
        ({"dry_run": True}, "read", "dry_run: is a setting of the writers, target-personyze and"),
        ({"start_date": "2024-01-01"}, "write", "start_date: is a setting of the readers"),
        ({"zzz": 1}, None, "zzz: is not a setting; rename or remove it. The settings are: api_key"),
        ({"a1": 1, "ledgr_path": 2}, None, "a1: is not a setting; ledgr_path: is not a setting"),
    ],
)  # fmt: skip
def test_an_unknown_setting_is_named_with_a_suggestion(
    extra: dict[str, Any], side: Any, expected: str
) -> None:
    with pytest.raises(SettingsError) as err:
        ConnectionSettings.from_config({**BASE, **extra}, side=side)
    assert expected in str(err.value)
    assert KEY not in str(err.value)


def test_the_framework_keys_are_the_installed_frameworks_keys() -> None:
    sdk = {
        name
        for value in vars(sdk_capabilities).values()
        if isinstance(value, dict) and isinstance(value.get("properties"), dict)
        for name in value["properties"]
    }
    assert sdk == SINGER_SDK_KEYS
    assert set(InternalConfig.KEYWORDS) <= FRAMEWORK_KEYS
    for adapter in (TapPersonyze, TargetPersonyze):
        schema: dict[str, Any] = {"type": "object", "properties": {}}
        adapter.append_builtin_config(schema)
        assert set(schema["properties"]) <= FRAMEWORK_KEYS


@pytest.mark.parametrize("key", sorted(FRAMEWORK_KEYS))
def test_a_framework_key_is_accepted_on_both_sides(key: str) -> None:
    for side in ("read", "write", None):
        ConnectionSettings.from_config({**BASE, key: None}, side=side)


def test_the_tap_names_an_unknown_setting() -> None:
    with pytest.raises(ConfigValidationError) as err:
        TapPersonyze(config={**BASE, "strat_date": "2024-01-01"}, parse_env_config=False)
    assert any("did you mean start_date?" in e for e in err.value.errors)
    TapPersonyze(
        config={**BASE, "stream_maps": {}, "flattening_enabled": False},
        parse_env_config=False,
        setup_mapper=False,
    )


def test_the_source_names_an_unknown_setting() -> None:
    status = SourcePersonyze().check(LOGGER, {**BASE, "strat_date": "2024-01-01"})
    assert status.status == Status.FAILED
    assert "did you mean start_date?" in str(status.message)


def test_the_target_names_an_unknown_setting() -> None:
    with pytest.raises(ConfigValidationError) as err:
        TargetPersonyze(config={**BASE, "ledgr_path": "x.sqlite"}, parse_env_config=False)
    assert any("did you mean ledger_path?" in e for e in err.value.errors)
    TargetPersonyze(
        config={**BASE, "add_record_metadata": False, "validate_records": True, "stream_maps": {}},
        parse_env_config=False,
    )


def test_the_destination_names_an_unknown_setting() -> None:
    status = DestinationPersonyze().check(LOGGER, {**BASE, "ledgr_path": "x.sqlite"})
    assert status.status == Status.FAILED
    assert "did you mean ledger_path?" in str(status.message)


READ_ONLY = "start_date: is a setting of the readers, source-personyze and tap-personyze, not of"
READ_MISSPELLED = "strat_date: is not a setting (did you mean start_date, a setting of the readers"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [({"start_date": "2024-01-01"}, READ_ONLY), ({"strat_date": "2024-01-01"}, READ_MISSPELLED)],
)
def test_the_target_refuses_a_setting_of_the_readers(extra: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigValidationError) as err:
        TargetPersonyze(config={**BASE, **extra}, parse_env_config=False)
    assert any(expected in e for e in err.value.errors), err.value.errors


@pytest.mark.parametrize(
    ("extra", "expected"),
    [({"start_date": "2024-01-01"}, READ_ONLY), ({"strat_date": "2024-01-01"}, READ_MISSPELLED)],
)
def test_the_destination_refuses_a_setting_of_the_readers(
    extra: dict[str, Any], expected: str
) -> None:
    status = DestinationPersonyze().check(LOGGER, {**BASE, **extra})
    assert status.status == Status.FAILED
    assert expected in str(status.message)
