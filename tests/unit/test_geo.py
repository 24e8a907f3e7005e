"""The location line of the mails: CloudFront headers, else a MaxMind-format database, else unknown."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pwreset.core.config import settings
from pwreset.mail import geo
from support.geoip import write_city_database


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("GEOIP_DATABASE_PATH", raising=False)
    settings.cache_clear()
    geo.reset_database()
    yield
    geo.reset_database()
    settings.cache_clear()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_city_database(tmp_path / "city.mmdb")
    monkeypatch.setenv("GEOIP_DATABASE_PATH", str(path))
    settings.cache_clear()
    return path


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (
            {"city": "Berlin", "region": "Berlin", "country": "DE", "country_name": "Germany"},
            "Berlin, Germany",
        ),
        ({"city": "Munich", "region": "Bavaria", "country_name": "Germany"}, "Munich, Bavaria, Germany"),
        ({"country": "AT", "country_name": "Austria"}, "Austria"),
        ({"country": "CH"}, "CH"),
        ({"city": "  ", "country_name": ""}, None),
        ({}, None),
    ],
)
def test_from_headers(detail: dict[str, str], expected: str | None) -> None:
    assert geo.from_headers(detail) == expected


@pytest.mark.parametrize(
    ("detail", "locale", "expected"),
    [
        (
            {"city": "Berlin", "region": "Berlin", "country": "DE", "country_name": "Germany"},
            "de",
            "Berlin, Deutschland",
        ),
        (
            {"city": "Berlin", "region": "Berlin", "country": "DE", "country_name": "Germany"},
            "en",
            "Berlin, Germany",
        ),
        ({"city": "Vienna", "country": "AT", "country_name": "Austria"}, "de", "Vienna, Österreich"),
        ({"country": "US", "country_name": "United States"}, "de", "Vereinigte Staaten"),
        ({"country": "GB", "country_name": "United Kingdom"}, "de-DE", "Vereinigtes Königreich"),
        ({"country": "ch"}, "de", "Schweiz"),  # a code in lower case is still the code
        ({"country": "CH"}, "en", "CH"),  # English readers get what CloudFront sent
        ({"country": "XX", "country_name": "Nowhere"}, "de", "Nowhere"),  # no such code: CloudFront's name
        ({"country": "<b>", "country_name": "Germany"}, "de", "Germany"),  # not a code at all
        ({"country_name": "Germany"}, "de", "Germany"),  # no code to translate by
    ],
)
def test_german_readers_get_the_country_in_german_by_its_iso_code(
    detail: dict[str, str], locale: str, expected: str
) -> None:
    assert geo.from_headers(detail, locale) == expected
    assert geo.locate({"source_ip": "198.51.100.7", **detail}, locale) == expected


def test_babel_is_imported_only_for_a_mail_that_needs_a_translated_country() -> None:
    """Importing the module and locating for English readers loads no CLDR data (a cold start of
    the notifier that sends only English mail never pays for it); the first German mail does."""
    probe = (
        "import sys\n"
        "from pwreset.mail import geo\n"
        "berlin = {'city': 'Berlin', 'country': 'DE', 'country_name': 'Germany'}\n"
        "assert geo.locate(berlin, 'en') == 'Berlin, Germany'\n"
        "assert 'babel' not in sys.modules, 'imported for an English mail'\n"
        "assert geo.locate(berlin, 'de') == 'Berlin, Deutschland'\n"
        "assert 'babel' in sys.modules\n"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_without_headers_or_database_the_location_is_unknown() -> None:
    assert geo.locate({"source_ip": "198.51.100.7"}, "de") is None


def test_the_database_names_places_in_the_readers_language(database: Path) -> None:
    detail = {"source_ip": "198.51.100.7"}
    assert geo.locate(detail, "de") == "München, Bayern, Deutschland"
    assert geo.locate(detail, "en") == "Munich, Bavaria, Germany"
    assert geo.locate({"source_ip": "192.0.2.9"}, "de") == "Österreich"  # a country-only record


def test_headers_win_over_the_database(database: Path) -> None:
    assert geo.locate({"source_ip": "198.51.100.7", "city": "Berlin", "country_name": "Germany"}, "de") == (
        "Berlin, Germany"
    )


@pytest.mark.parametrize("ip", ["203.0.113.1", "2001:db8::1", "unknown", "", "999.1.1.1"])
def test_addresses_the_database_does_not_know_are_unknown(database: Path, ip: str) -> None:
    assert geo.locate({"source_ip": ip}, "en") is None


def test_an_unreadable_database_is_logged_once_and_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a maxmind database")
    for path in (broken, tmp_path / "missing.mmdb"):
        monkeypatch.setenv("GEOIP_DATABASE_PATH", str(path))
        settings.cache_clear()
        caplog.clear()
        assert geo.locate({"source_ip": "198.51.100.7"}, "de") is None
        assert geo.locate({"source_ip": "198.51.100.8"}, "de") is None
        assert [r.message for r in caplog.records].count("geoip database unusable") == 1
