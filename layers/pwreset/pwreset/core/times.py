"""Locale-aware date, time and duration formatting for e-mails, without Babel at run time.

The words and the format come from the catalogs (:mod:`pwreset.core.i18n`), so a new language brings
its own. Also the one machine format: :func:`iso` (ISO-8601 UTC), used in every API answer and every
stored timestamp that must sort.

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

from pwreset.core.i18n import N_, catalog

__all__ = ["format_datetime", "format_duration", "iso", "resolve_zone"]

_MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)


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
    texts = catalog(locale or "")
    zone, zone_name = resolve_zone(timezone)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(zone)
    # Translators: "12" for a 12-hour clock (3:05 pm), "24" for a 24-hour one (15:05): how
    # %(hour)s is written in the date format below.
    twelve_hours = texts.pgettext("hour cycle", "12") == "12"
    # Translators: after the time on a 12-hour clock, before noon.
    before_noon = texts.pgettext("time of day", "am")
    # Translators: after the time on a 12-hour clock, from noon on.
    from_noon = texts.pgettext("time of day", "pm")
    values = {
        "day": local.day,
        "month": texts.gettext(_MONTHS[local.month - 1]),
        "year": local.year,
        "hour": str(local.hour % 12 or 12) if twelve_hours else f"{local.hour:02d}",
        "minute": f"{local.minute:02d}",
        "am_pm": before_noon if local.hour < 12 else from_noon,
        "zone": zone_name,
    }
    # Translators: a date and time in a mail, e.g. "27 November 2026, 3:05 pm (Europe/Berlin)". Leave
    # out %(am_pm)s where the "hour cycle" text is 24.
    return texts.gettext("%(day)s %(month)s %(year)s, %(hour)s:%(minute)s %(am_pm)s (%(zone)s)") % values


def format_duration(seconds: int, locale: str | None) -> str:
    """Write a duration out in words, e.g. ``24 hours``/``24 Stunden``, ``30 minutes``/``30 Minuten``.

    Whole days are used only from 48 hours on and only when exact (``3 days``); otherwise hours and
    minutes (``1 hour 30 minutes``/``1 Stunde 30 Minuten``). Seconds are rounded up to whole minutes,
    so a positive duration never reads as ``0 minutes``; zero or negative gives ``0 minutes``.
    The result carries no preposition, so it fits German accusative phrases such as
    ``24 Stunden lang gültig``.
    """
    texts = catalog(locale or "")
    total_minutes = max(0, -(-int(seconds) // 60))
    if total_minutes >= 2 * 24 * 60 and total_minutes % (24 * 60) == 0:
        days = total_minutes // (24 * 60)
        return texts.ngettext("%(num)s day", "%(num)s days", days) % {"num": days}
    hours, minutes = divmod(total_minutes, 60)
    parts = []
    if hours:
        parts.append(texts.ngettext("%(num)s hour", "%(num)s hours", hours) % {"num": hours})
    if minutes or not hours:
        parts.append(texts.ngettext("%(num)s minute", "%(num)s minutes", minutes) % {"num": minutes})
    return " ".join(parts)
