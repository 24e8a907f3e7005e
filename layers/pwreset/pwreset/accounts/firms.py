"""The rules of a firm's white-label fields, as the CRM provisions them.

What a firm may set (all optional; without them a firm looks as the platform does; how they are
used: :mod:`pwreset.mail.brand`):

* ``portal_url``: where its clients land after a confirm (never taken from a request);
* ``sender_name``: the display name of the ``From`` of its clients' mails (default: its name);
* ``contact`` (``email``, ``phone``): ``Reply-To`` of those mails and the "contact your firm" line
  of the mails, the hosted page and the help article;
* ``brand`` (``logo_url``, ``color``): the mails' header and button and the hosted page.

The rules every value must meet are here, as plain functions that raise ``ValueError`` with what
is wrong (the API's models turn that into a ``400`` naming the field), so the checks do not depend
on where a value comes from. Mails check again where a header is built
(:mod:`pwreset.mail.brand`): a value that got into the table some other way never reaches one.
"""

from __future__ import annotations

import re

from pwreset.core.config import settings
from pwreset.mail.brand import has_control_characters

MAX_URL_LENGTH = 2048
MAX_SENDER_NAME_LENGTH = 100

# Each rule is one regular expression, and the OpenAPI document states it as the field's pattern
# (pwreset.api.schemas.provisioning): what the document calls valid is accepted, and only that.

# Characters no name may hold: ASCII and C1 controls (CR and LF among them), the invisible ones
# that make a name read otherwise than it is (soft hyphen, zero-width characters, bidirectional
# controls, the byte-order mark), and Unicode's line and paragraph separators. (Where a header is
# built, every control or format character is blanked again: pwreset.mail.brand.display_name.)
_CONTROLS = r"\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
# A firm's name (the default From display name): no such character, and more than spaces.
FIRM_NAME_PATTERN = rf"^[^{_CONTROLS}]*[^ {_CONTROLS}][^{_CONTROLS}]*$"
# A From display name: neither, nor quotes or backslashes (they would change what the header
# means), and no space at either end.
_NAME_CHAR = rf'"\\{_CONTROLS}'
_INNER = MAX_SENDER_NAME_LENGTH - 2
SENDER_NAME_PATTERN = rf"^[^ {_NAME_CHAR}](?:[^{_NAME_CHAR}]{{0,{_INNER}}}[^ {_NAME_CHAR}])?$"
# An absolute https:// URL: a host name (or IPv4 address), a port that is one, a path and a query
# of the characters RFC 3986 allows there (anything else percent-encoded, as %hh); no user name or
# password (no "@" before the path), no fragment (no "#"), no spaces or quotes.
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
_PATH_AND_QUERY = r"(?:[/?](?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?"
WEB_ADDRESS_PATTERN = rf"^https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?{_PORT}{_PATH_AND_QUERY}$"
# Only where the local stack allows it (ALLOW_LOOPBACK_HTTP_URLS, never in the template).
LOOPBACK_ADDRESS_PATTERN = rf"^http://(?:127\.0\.0\.1|localhost){_PORT}{_PATH_AND_QUERY}$"
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
# Digits, spaces and the usual separators, at least three digits.
_SEPARATORS = r"[ ()./-]*"
PHONE_PATTERN = rf"^\+?{_SEPARATORS}[0-9]{_SEPARATORS}[0-9]{_SEPARATORS}[0-9][0-9 ()./-]*$"
MAX_PHONE_LENGTH = 40

_WEB_ADDRESS = re.compile(WEB_ADDRESS_PATTERN)
_LOOPBACK_ADDRESS = re.compile(LOOPBACK_ADDRESS_PATTERN)
_SENDER_NAME = re.compile(SENDER_NAME_PATTERN)
_FIRM_NAME = re.compile(FIRM_NAME_PATTERN)
_COLOR = re.compile(COLOR_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)


def web_address(raw: str) -> str:
    """``raw`` when it is an absolute ``https://`` URL (:data:`WEB_ADDRESS_PATTERN`;
    ``http://127.0.0.1`` and ``http://localhost`` too where the local stack allows them); else
    ``ValueError`` saying what is wrong."""
    if _WEB_ADDRESS.fullmatch(raw) and len(raw) <= MAX_URL_LENGTH:
        return raw
    loopback = settings().allow_loopback_http_urls
    if loopback and _LOOPBACK_ADDRESS.fullmatch(raw) and len(raw) <= MAX_URL_LENGTH:
        return raw
    raise ValueError(_what_is_wrong_with(raw, loopback))


def _what_is_wrong_with(url: str, loopback: bool) -> str:
    parts = url.split("#", 1)[0].split("/", 3)
    authority = parts[2] if len(parts) > 2 else ""
    if len(url) > MAX_URL_LENGTH:
        return f"an https:// address of at most {MAX_URL_LENGTH} characters"
    if "#" in url:
        return "no fragment (#...) in an address"
    if "@" in authority:
        return "no user name or password in an address"
    if has_control_characters(url) or any(char.isspace() or char in "\"'<>\\^`{|}" for char in url):
        return "no spaces, quotes, angle brackets or control characters in an address"
    if url.startswith("https://") and ":" in authority:
        return "not a valid host and port"
    local = " (or http://127.0.0.1 or http://localhost on this local stack)" if loopback else ""
    return f"an absolute https:// address with a host{local}"


def sender_name(raw: str) -> str:
    """A ``From`` display name (:data:`SENDER_NAME_PATTERN`)."""
    if _SENDER_NAME.fullmatch(raw):
        return raw
    if not raw.strip() or len(raw) > MAX_SENDER_NAME_LENGTH:
        raise ValueError(f"between 1 and {MAX_SENDER_NAME_LENGTH} characters, no space at either end")
    if '"' in raw or "\\" in raw:
        raise ValueError("no quotes or backslashes")
    if raw != raw.strip(" "):
        raise ValueError("no space at either end")
    raise ValueError("no line breaks or control characters")


def firm_name(raw: str) -> str:
    """A firm's name (:data:`FIRM_NAME_PATTERN`) is the default ``From`` display name too: no line
    breaks or control characters (quotes are allowed here; the header escapes them)."""
    if not _FIRM_NAME.fullmatch(raw):
        raise ValueError("no line breaks or control characters, and more than spaces")
    return raw.strip()


def brand_color(raw: str) -> str:
    """``#rrggbb`` (hexadecimal), lower-cased."""
    if not _COLOR.fullmatch(raw):
        raise ValueError("a colour as #rrggbb, e.g. #1d4f91")
    return raw.lower()


def phone_number(raw: str) -> str:
    """Digits, spaces and ``+ ( ) - / .`` (:data:`PHONE_PATTERN`), at least three digits."""
    if not _PHONE.fullmatch(raw) or len(raw) > MAX_PHONE_LENGTH:
        raise ValueError("a phone number: digits, spaces and + ( ) - / .")
    return raw
