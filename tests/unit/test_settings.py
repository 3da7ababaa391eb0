"""ConnectionSettings: validation against connection.json, start_date forms, the https rule."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.settings import ConnectionSettings, SettingsError, parse_start_date
from connectors.spec.loader import default_specs

KEY = "0123456789ABCDEF0123456789ABCDEF01234567"


def settings(**overrides: Any) -> ConnectionSettings:
    return ConnectionSettings.from_config({"api_key": KEY, **overrides})


def test_defaults_come_from_connection_json() -> None:
    spec = default_specs().connection
    s = settings()
    assert s.base_url == str(spec.setting("base_url").default).rstrip("/")
    assert s.request_timeout == spec.setting("request_timeout").default
    assert s.max_retries == spec.setting("max_retries").default
    assert s.max_concurrency == spec.setting("max_concurrency").default
    assert s.start_date is None


def test_numbers_as_numeric_strings_and_framework_keys_ignored() -> None:
    s = settings(request_timeout="12.5", max_retries=" 3 ", max_concurrency=8.0, stream_maps={})
    assert (s.request_timeout, s.max_retries, s.max_concurrency) == (12.5, 3, 8)
    assert isinstance(s.max_retries, int)


def test_blank_optional_values_take_the_default() -> None:
    assert settings(start_date="", max_retries=None).max_retries == 6


def test_trailing_slash_stripped() -> None:
    assert settings(base_url="https://example.com/rest/").base_url == "https://example.com/rest"


@pytest.mark.parametrize(
    ("config", "setting", "hint"),
    [
        ({"api_key": None}, "api_key", "required"),
        ({"api_key": "   "}, "api_key", "required"),
        ({"api_key": "short"}, "api_key", "not a valid"),
        ({"api_key": 12345678.5}, "api_key", "not a text"),
        ({"base_url": "ftp://example.com/rest"}, "base_url", "use e.g."),
        ({"base_url": 5}, "base_url", "not a valid"),
        ({"request_timeout": "soon"}, "request_timeout", "not a number"),
        ({"request_timeout": 0}, "request_timeout", "from 1 to 600"),
        ({"request_timeout": float("nan")}, "request_timeout", "not a number"),
        ({"max_retries": 2.5}, "max_retries", "not a whole number"),
        ({"max_retries": "2.5"}, "max_retries", "not a whole number"),
        ({"max_retries": 21}, "max_retries", "from 0 to 20"),
        ({"max_retries": -1}, "max_retries", "from 0 to 20"),
        ({"max_retries": True}, "max_retries", "boolean"),
        ({"max_concurrency": 0}, "max_concurrency", "from 1 to 32"),
        ({"max_concurrency": [4]}, "max_concurrency", "not a number"),
        ({"start_date": "2024-13-01"}, "start_date", "use e.g."),
        ({"start_date": "yesterday"}, "start_date", "use e.g."),
    ],
)
def test_each_problem_names_its_setting(config: dict[str, Any], setting: str, hint: str) -> None:
    full = {"api_key": KEY, **config}
    with pytest.raises(SettingsError) as info:
        ConnectionSettings.from_config(full)
    message = str(info.value)
    assert message.startswith(f"{setting}: ")
    assert hint in message


def test_start_date_message_is_actionable() -> None:
    with pytest.raises(SettingsError) as info:
        settings(start_date="2024-13-01")
    assert str(info.value) == (
        "start_date: '2024-13-01' is not an ISO date or unix seconds; "
        "use e.g. 2024-01-01 or 1704067200"
    )


@pytest.mark.parametrize("bad_key", ["short", "has space inside", 12345678.5])
def test_key_never_in_message(bad_key: object) -> None:
    with pytest.raises(SettingsError) as info:
        ConnectionSettings.from_config({"api_key": bad_key})
    assert str(bad_key) not in str(info.value)


def test_key_not_in_repr_or_str() -> None:
    s = settings()
    assert KEY not in repr(s)
    assert KEY not in str(s)
    assert "api_key='***'" in repr(s)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("2024-01-01", 1704067200),
        ("2024-01-01T00:00:00Z", 1704067200),
        ("2024-01-01T00:00:00", 1704067200),
        ("2024-01-01 00:00", 1704067200),
        ("2024-01-01T02:00:00+02:00", 1704067200),
        ("2024-01-01T02:00:00+0200", 1704067200),
        ("2023-12-31T19:00:00-05:00", 1704067200),
        ("2024-01-01T00:00:00.999Z", 1704067200),
        ("1704067200", 1704067200),
        (" 1704067200 ", 1704067200),
        (1704067200, 1704067200),
        (0, 0),
        ("1970-01-01", 0),
    ],
)
def test_start_date_forms(value: str | int | None, expected: int | None) -> None:
    assert parse_start_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2024-13-01",
        "2024-02-30",
        "2024-01-01T25:00:00Z",
        "2024-01-01T00:00:00+24:00",
        "01/02/2024",
        "2024-01-01T00:00:00z",
        "-5",
        -5,
        1704067200000,
        True,
    ],
)
def test_start_date_rejects(value: Any) -> None:
    with pytest.raises(SettingsError, match=r"^start_date: .*use e\.g\. 2024-01-01"):
        parse_start_date(value)


def test_start_date_normalised_in_settings() -> None:
    assert settings(start_date="2024-01-01").start_date == 1704067200
    assert settings(start_date=1704067200).start_date == 1704067200


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://app.personyze.com/rest", "https://app.personyze.com/rest"),
        ("https://app.personyze.com/rest/", "https://app.personyze.com/rest"),
        ("http://127.0.0.1:8765/rest", "http://127.0.0.1:8765/rest"),
        ("http://127.1.2.3:8765/rest/", "http://127.1.2.3:8765/rest"),
        ("http://[::1]:8765/rest", "http://[::1]:8765/rest"),
        ("http://localhost:8765/rest", "http://localhost:8765/rest"),
        ("http://LOCALHOST/rest", "http://LOCALHOST/rest"),
    ],
)
def test_https_or_loopback_accepted(url: str, expected: str) -> None:
    assert settings(base_url=url).base_url == expected


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("http://app.personyze.com/rest", "requires https"),
        ("http://10.0.0.1/rest", "requires https"),
        ("http://localhost.example.com/rest", "requires https"),
        ("http://128.0.0.1/rest", "requires https"),
        ("https://example.com/rest?x=1", "query"),
        ("https:///rest", "use e.g."),
    ],
)
def test_base_url_rule(url: str, hint: str) -> None:
    with pytest.raises(SettingsError, match=r"^base_url: ") as info:
        settings(base_url=url)
    assert hint in str(info.value)


def test_base_url_with_credentials_refused_without_echoing_them() -> None:
    with pytest.raises(SettingsError, match=r"^base_url: .*credentials") as info:
        settings(base_url=f"https://api:{KEY}@app.personyze.com/rest")
    assert KEY not in str(info.value)


def test_direct_construction_keeps_the_https_rule() -> None:
    with pytest.raises(SettingsError, match=r"^base_url: "):
        ConnectionSettings(
            api_key=KEY,
            base_url="http://example.com/rest",
            start_date=None,
            request_timeout=5,
            max_retries=0,
            max_concurrency=1,
        )


def test_missing_api_key_says_where_to_find_it() -> None:
    with pytest.raises(SettingsError, match=r"^api_key: is required; .*Integrations"):
        ConnectionSettings.from_config({"base_url": "https://example.com/rest"})
