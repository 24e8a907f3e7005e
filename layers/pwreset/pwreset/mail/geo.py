"""Where a request came from, as a person reads it: ``Berlin, Germany`` / ``Berlin, Deutschland``.

First from the ``CloudFront-Viewer-*`` headers the confirm path recorded (CloudFront names the
country in English; a reader of another language gets CLDR's name for its ISO code, through Babel,
which is imported and loads its data only for the first such mail); else, when
``GEOIP_DATABASE_PATH`` names a MaxMind-format database (GeoLite2/GeoIP2 City or Country, or any
``.mmdb`` with the same record layout), from the source IP, in the reader's language where the
database has it; else ``None`` (the mails say "unknown"). ``maxminddb`` is imported and the
database opened only on the first lookup that needs it.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping
from typing import Any

from pwreset.core.config import settings
from pwreset.core.i18n import SUPPORTED_LOCALES, normalise_locale
from pwreset.core.observability import logger

__all__ = ["country_name", "from_database", "from_headers", "locate", "prepare", "reset_database"]

# CloudFront-Viewer-Country: an ISO 3166-1 alpha-2 code.
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")

_lock = threading.Lock()
_reader: Any = None
_opened_path: str | None = None
_failed_path: str | None = None


def _join(*parts: str | None) -> str | None:
    seen: list[str] = []
    for part in parts:
        text = (part or "").strip()
        # "Berlin, Berlin, Germany" reads like a mistake: a city-state's region repeats its city.
        if text and text.casefold() not in (s.casefold() for s in seen):
            seen.append(text)
    return ", ".join(seen) or None


def from_headers(detail: Mapping[str, Any], locale: str | None = None) -> str | None:
    """``city, region, country`` from the recorded CloudFront headers. City and region stay as
    CloudFront sends them (English); the country is named in ``locale`` by its ISO code where that
    is not English, else as CloudFront named it (or its bare code)."""
    code = str(detail.get("country") or "").strip().upper()
    country = detail.get("country_name") or detail.get("country")
    lang = normalise_locale(locale)
    if lang != "en":
        country = country_name(code, lang) or country
    return _join(detail.get("city"), detail.get("region"), country)


@functools.lru_cache(maxsize=512)
def country_name(code: str, locale: str) -> str | None:
    """CLDR's name of the country with ISO code ``code`` in ``locale`` (``DE``, ``de``:
    ``Deutschland``), or ``None`` for anything that is not a code CLDR knows."""
    if not _COUNTRY_CODE.fullmatch(code):
        return None
    # Babel's import and the language's data are paid for once, by the first such mail.
    try:
        # deferred: only a mail in a language other than English needs CLDR's country names
        from babel import Locale
    except ImportError:  # a layer built without it: the mail still goes, with CloudFront's name
        logger.warning("babel missing: country names stay in English")
        return None
    name = Locale.parse(locale).territories.get(code)
    return str(name) if name else None


def prepare() -> None:
    """Babel imported and CLDR's country names loaded for every language that is not English, so
    the first mail naming a country does not: a SnapStart warm-up (``pwreset.runtime.snapstart``)."""
    for lang in SUPPORTED_LOCALES:
        if lang != "en":
            country_name("DE", lang)


def _database() -> Any:
    """The open reader for the configured path, or ``None`` (not configured, or it cannot be read:
    logged once per path; notifications go on without a location)."""
    global _reader, _opened_path, _failed_path
    path = settings().geoip_database_path
    if not path:
        return None
    with _lock:
        if _opened_path == path:
            return _reader
        if _failed_path == path:
            return None
        try:
            # deferred: only when a database is configured
            import maxminddb

            _reader = maxminddb.open_database(path)
        except (OSError, ValueError, RuntimeError, ImportError) as exc:  # missing, not an mmdb, no package
            logger.warning("geoip database unusable", extra={"path": path, "error": type(exc).__name__})
            _failed_path = path
            return None
        _opened_path = path
        return _reader


def reset_database() -> None:
    """Forget the open database (tests switch ``GEOIP_DATABASE_PATH``)."""
    global _reader, _opened_path, _failed_path
    with _lock:
        if _reader is not None:
            _reader.close()
        _reader, _opened_path, _failed_path = None, None, None


def _name(record: Any, locale: str) -> str | None:
    if not isinstance(record, Mapping):
        return None
    names = record.get("names")
    if not isinstance(names, Mapping):
        return None
    value = names.get(locale) or names.get("en")
    return str(value) if value else None


def from_database(ip: str, locale: str | None) -> str | None:
    """``city, region, country`` for ``ip`` in ``locale`` (``de``/``en``), or ``None``."""
    reader = _database()
    if reader is None:
        return None
    lang = normalise_locale(locale)
    try:
        record = reader.get(ip)
    except (ValueError, TypeError):  # "unknown" or otherwise not an IP address
        return None
    if not isinstance(record, Mapping):
        return None
    subdivisions = record.get("subdivisions") or [None]
    return _join(
        _name(record.get("city"), lang),
        _name(subdivisions[0], lang),
        _name(record.get("country"), lang),
    )


def locate(detail: Mapping[str, Any], locale: str | None) -> str | None:
    """Headers first (they are what CloudFront saw), then the database, else ``None``."""
    return from_headers(detail, locale) or from_database(str(detail.get("source_ip") or ""), locale)
