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
from urllib.parse import urlsplit

from pwreset.core.config import settings
from pwreset.mail.brand import has_control_characters

MAX_URL_LENGTH = 2048
MAX_SENDER_NAME_LENGTH = 100
# Loopback hosts a local stack serves on; only with ALLOW_LOOPBACK_HTTP_URLS (never deployed).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# Digits, spaces and the usual separators; at least three digits.
PHONE = re.compile(r"\+?[0-9 ()./-]{3,40}")
# Characters RFC 3986 never allows in a URL (and that would end an HTML attribute or a header).
_NOT_IN_URLS = frozenset('"<>\\^`{|}')


def web_address(raw: str) -> str:
    """``raw`` when it is an absolute ``https://`` URL with a host and without credentials, a
    fragment, spaces or control characters (``http://127.0.0.1`` and ``http://localhost`` only where
    the local stack allows them); else ``ValueError`` saying what is wrong."""
    value = raw.strip()
    if not value or len(value) > MAX_URL_LENGTH:
        raise ValueError(f"an https:// address of at most {MAX_URL_LENGTH} characters")
    if has_control_characters(value) or any(char.isspace() or char in _NOT_IN_URLS for char in value):
        raise ValueError("no spaces, quotes, angle brackets or control characters in an address")
    parts = urlsplit(value)
    if "#" in value:
        raise ValueError("no fragment (#...) in an address")
    if "@" in parts.netloc:
        raise ValueError("no user name or password in an address")
    try:
        host, _port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise ValueError("not a valid host and port") from exc
    loopback = settings().allow_loopback_http_urls
    allowed = parts.scheme.lower() == "https" or (
        loopback and parts.scheme.lower() == "http" and host in LOOPBACK_HOSTS
    )
    if not allowed or not host:
        local = " (or http://127.0.0.1 or http://localhost on this local stack)" if loopback else ""
        raise ValueError(f"an absolute https:// address{local}")
    return value


def sender_name(raw: str) -> str:
    """A ``From`` display name: no quotes or backslashes (they would change what the header
    means), no control characters (CR and LF would start another header)."""
    value = raw.strip()
    if not value or len(value) > MAX_SENDER_NAME_LENGTH:
        raise ValueError(f"between 1 and {MAX_SENDER_NAME_LENGTH} characters")
    if '"' in value or "\\" in value:
        raise ValueError("no quotes or backslashes")
    if has_control_characters(value):
        raise ValueError("no line breaks or control characters")
    return value


def firm_name(raw: str) -> str:
    """A firm's name is the default ``From`` display name too: no line breaks or control characters
    (quotes are allowed here; the header escapes them)."""
    value = raw.strip()
    if has_control_characters(value):
        raise ValueError("no line breaks or control characters")
    return value


def brand_color(raw: str) -> str:
    """``#rrggbb`` (hexadecimal), lower-cased."""
    if not COLOR.fullmatch(raw):
        raise ValueError("a colour as #rrggbb, e.g. #1d4f91")
    return raw.lower()


def phone_number(raw: str) -> str:
    value = raw.strip()
    if not PHONE.fullmatch(value) or sum(char.isdigit() for char in value) < 3:
        raise ValueError("a phone number: digits, spaces and + ( ) - / .")
    return value
