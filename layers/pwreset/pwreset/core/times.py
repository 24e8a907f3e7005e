"""Locale-aware date, time and duration formatting for e-mails, without Babel.

Only the two locales the product supports are handled: ``de`` and ``en``; any other locale is
treated as ``en`` (:func:`pwreset.core.i18n.normalise_locale`). Also the one machine format:
:func:`iso` (ISO-8601 UTC), used in every API answer and every stored timestamp that must sort.

Formats (the reader's IANA zone name is always printed, so the time cannot be misread):

* ``de``: ``27. November 2026, 15:05 Uhr (Europe/Berlin)`` - day without leading zero, German month
  name, 24-hour clock with two-digit hours.
* ``en``: ``27 November 2026, 3:05 pm (Europe/Berlin)`` - day-month-year (no US/UK order
  ambiguity), 12-hour clock with lower-case ``am``/``pm``; noon is ``12:00 pm``, midnight ``12:00 am``.

Durations are written out in words: ``24 hours``/``24 Stunden``, ``1 hour``/``1 Stunde``,
``1 hour 30 minutes``/``1 Stunde 30 Minuten``, ``3 days``/``3 Tage``.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pwreset.core.i18n import normalise_locale

__all__ = ["format_datetime", "format_duration", "iso", "resolve_zone"]

_MONTHS = {
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}

# (singular, plural) per unit and locale.
_UNITS = {
    "de": {"day": ("Tag", "Tage"), "hour": ("Stunde", "Stunden"), "minute": ("Minute", "Minuten")},
    "en": {"day": ("day", "days"), "hour": ("hour", "hours"), "minute": ("minute", "minutes")},
}


def iso(at: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``: sorts as a string, reads everywhere."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resolve_zone(timezone: str | None) -> tuple[tzinfo, str]:
    """Return ``(tzinfo, display name)`` for an IANA zone name; unknown or invalid names give UTC.

    Never raises: a missing, malformed (``"../etc"``, ``""``) or unknown zone falls back to UTC.
    """
    if timezone:
        try:
            return ZoneInfo(timezone), timezone
        except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
            pass
    return UTC, "UTC"


def format_datetime(at: datetime, timezone: str | None, locale: str | None) -> str:
    """Format an instant in the reader's time zone and language.

    ``at`` should be timezone-aware; a naive value is taken to be UTC. ``timezone`` is an IANA name
    (``Europe/Berlin``); an unknown name falls back to UTC and the text then says ``(UTC)``.

    >>> from datetime import datetime, UTC
    >>> format_datetime(datetime(2026, 11, 27, 14, 5, tzinfo=UTC), "Europe/Berlin", "de")
    '27. November 2026, 15:05 Uhr (Europe/Berlin)'
    >>> format_datetime(datetime(2026, 11, 27, 14, 5, tzinfo=UTC), "Europe/Berlin", "en")
    '27 November 2026, 3:05 pm (Europe/Berlin)'
    """
    lang = normalise_locale(locale)
    zone, zone_name = resolve_zone(timezone)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(zone)
    month = _MONTHS[lang][local.month - 1]
    if lang == "de":
        return f"{local.day}. {month} {local.year}, {local.hour:02d}:{local.minute:02d} Uhr ({zone_name})"
    hour12 = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{local.day} {month} {local.year}, {hour12}:{local.minute:02d} {suffix} ({zone_name})"


def _unit(count: int, unit: str, lang: str) -> str:
    singular, plural = _UNITS[lang][unit]
    return f"{count} {singular if count == 1 else plural}"


def format_duration(seconds: int, locale: str | None) -> str:
    """Write a duration out in words, e.g. ``24 hours``/``24 Stunden``, ``30 minutes``/``30 Minuten``.

    Whole days are used only from 48 hours on and only when exact (``3 days``); otherwise hours and
    minutes (``1 hour 30 minutes``/``1 Stunde 30 Minuten``). Seconds are rounded up to whole minutes,
    so a positive duration never reads as ``0 minutes``; zero or negative gives ``0 minutes``.
    The result carries no preposition, so it fits German accusative phrases such as
    ``24 Stunden lang gültig``.
    """
    lang = normalise_locale(locale)
    total_minutes = max(0, -(-int(seconds) // 60))
    if total_minutes >= 2 * 24 * 60 and total_minutes % (24 * 60) == 0:
        return _unit(total_minutes // (24 * 60), "day", lang)
    hours, minutes = divmod(total_minutes, 60)
    parts = []
    if hours:
        parts.append(_unit(hours, "hour", lang))
    if minutes or not hours:
        parts.append(_unit(minutes, "minute", lang))
    return " ".join(parts)
