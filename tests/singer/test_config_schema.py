"""The tap's config schema is generated from specs/connection.json, and validation is the
core's: what a config file or an environment variable can give is accepted as the core accepts
it, the SDK's schema checks only its own built-in settings."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from connectors.settings.schema import singer_settings_schema
from tap_personyze import TapPersonyze
from tests.singer.tapruns import SPECS

KEY = "FD09908F25BECB09D78EBEA1DADFB618651F612D"
BASE = {"api_key": KEY, "base_url": "http://127.0.0.1:9/rest"}


def test_schema_has_every_read_setting_and_no_write_setting() -> None:
    schema = singer_settings_schema(SPECS, "read")
    settings = SPECS.connection.settings
    read = [s.name for s in sorted(settings, key=lambda s: s.order) if "read" in s.applies_to]
    assert list(schema["properties"]) == read
    assert schema["required"] == [s.name for s in settings if s.required and s.name in read]
    for setting in settings:
        if setting.name not in read:
            continue
        prop = schema["properties"][setting.name]
        assert prop["type"] == [setting.type]
        assert prop["description"] == setting.description
        assert prop.get("default") == setting.default
        assert bool(prop.get("secret")) == setting.secret == bool(prop.get("writeOnly"))
        if setting.secret:
            assert "examples" not in prop


@pytest.mark.parametrize(
    "extra",
    [
        {"start_date": 1704067200},
        {"start_date": "1704067200"},
        {"start_date": "2024-01-01T00:00:00+02:00"},
        {"max_concurrency": "8"},
        {"request_timeout": 30},
    ],
)
def test_values_the_core_accepts_are_accepted(extra: dict[str, object]) -> None:
    tap = TapPersonyze(config={**BASE, **extra}, parse_env_config=False, setup_mapper=False)
    assert tap.settings is not None


def test_start_date_is_normalised_once_in_the_core() -> None:
    iso = TapPersonyze(
        config={**BASE, "start_date": "2024-01-01"}, parse_env_config=False, setup_mapper=False
    )
    unix = TapPersonyze(
        config={**BASE, "start_date": 1704067200}, parse_env_config=False, setup_mapper=False
    )
    assert iso.settings is not None and unix.settings is not None
    assert iso.settings.start_date == unix.settings.start_date == 1704067200


def test_sdk_builtin_settings_are_still_checked() -> None:
    with pytest.raises(ConfigValidationError) as failed:
        TapPersonyze(
            config={**BASE, "flattening_max_depth": "deep"},
            parse_env_config=False,
            setup_mapper=False,
        )
    assert "flattening_max_depth" in " ".join(failed.value.errors)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAP_PERSONYZE_API_KEY", KEY)
    monkeypatch.setenv("TAP_PERSONYZE_BASE_URL", "http://localhost:9/rest")
    monkeypatch.setenv("TAP_PERSONYZE_MAX_CONCURRENCY", "2")
    monkeypatch.setenv("TAP_PERSONYZE_RECOMMENDATION_USER_IDS", "22,32")
    tap = TapPersonyze(config={}, parse_env_config=True, setup_mapper=False)
    assert tap.settings is not None
    assert tap.settings.max_concurrency == 2
    assert tap.settings.base_url == "http://localhost:9/rest"
    assert tap.settings.recommendation_user_ids == (22, 32)


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_CONCURRENCY", "abc"), ("RECOMMENDATION_USER_IDS", "22,x"), ("START_DATE", "soon")],
)
def test_a_wrong_environment_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("TAP_PERSONYZE_API_KEY", KEY)
    monkeypatch.setenv(f"TAP_PERSONYZE_{name}", value)
    with pytest.raises(ConfigValidationError) as failed:
        TapPersonyze(config={}, parse_env_config=True, setup_mapper=False)
    assert " ".join(failed.value.errors).startswith(name.lower())
