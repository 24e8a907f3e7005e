"""How a firm shows itself to its clients (white-label, the fields' rules in
:mod:`pwreset.accounts.firms`): the letterhead of every mail, the hosted page's ``firm`` and where a
client lands after a confirm (:func:`portal_url_for`).

Whose mail it is: the letterhead every mail is rendered and sent with.

A mail to a firm's **client** comes from the firm (white-label, :mod:`pwreset.accounts.firms`):
``From: "<sender_name>" <configured sender>`` (the firm's name when it set none), ``Reply-To``
its contact address, its logo and colour on the header and the button, and a line saying how to
reach it. A mail to the firm's **staff** (owners, team members, also as account holders) keeps the
platform's look and the bare sender address: they are the firm. :func:`letterhead` makes that
choice, by the reader, for every mail; :func:`pwreset.mail.mailer.render` requires a letterhead,
so no mail can skip it.

The header values are built here and nowhere else (:func:`from_header`, :func:`reply_to`), and
they defend themselves: whatever is stored, a control character never reaches a header (a CR/LF
would start a header of its own, ``Bcc:`` say), a quote or backslash is escaped, a non-ASCII name
is an RFC 2047 encoded-word, and an address that does not validate is left out.

The text on the brand colour is black or white, whichever contrasts more with it (WCAG 2.2's
relative luminance; one of the two always reaches 4.5:1, see :func:`text_color_on`).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from email.charset import Charset
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pwreset.core.config import settings
from pwreset.mail.addresses import InvalidEmail, normalise_email

if TYPE_CHECKING:
    # only read, never built here: the page and mail modules that import this stay free of pynamodb
    from pwreset.storage.models import Account, Firm

# The platform's look (the colours the mails had before firms had brands).
PLATFORM_HEADER_BACKGROUND = "#ffffff"
PLATFORM_HEADER_TEXT = "#111827"
PLATFORM_BUTTON_BACKGROUND = "#1d4ed8"
PLATFORM_BUTTON_TEXT = "#ffffff"
BLACK, WHITE = "#000000", "#ffffff"
# WCAG 2.2 AA, normal text (success criterion 1.4.3).
MIN_CONTRAST = 4.5

MAX_DISPLAY_NAME = 100
_COLOR = re.compile(r"#[0-9a-f]{6}")
# RFC 2047: an encoded-word is at most 75 characters.
_ENCODED_WORD_LENGTH = 75
_UTF8 = Charset("utf-8")


# ---------------------------------------------------------------------------------------- colour


def relative_luminance(color: str) -> float:
    """WCAG 2.2's relative luminance of ``#rrggbb`` (0 for black, 1 for white)."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG's contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_color_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background``. The worse of the two is best
    where both are equal, at a luminance of about 0.18, and still about 4.58:1 there: so the
    chosen one always reaches 4.5:1."""
    return BLACK if contrast_ratio(background, BLACK) >= contrast_ratio(background, WHITE) else WHITE


# ---------------------------------------------------------------------------------------- headers

# Unicode categories no name may carry into a header: control characters (CR and LF among them),
# format characters (bidirectional overrides, zero-width characters: a name that reads otherwise
# than it is), and line and paragraph separators.
UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def has_control_characters(value: str) -> bool:
    """Whether ``value`` holds a control, format, line- or paragraph-separator character."""
    return any(unicodedata.category(char) in UNPRINTABLE_CATEGORIES for char in value)


def display_name(raw: str | None) -> str:
    """``raw`` fit for a ``From`` display name: every control, format or separator character is a
    space, runs of spaces are one, and it is cut to :data:`MAX_DISPLAY_NAME` characters."""
    if not raw:
        return ""
    spaced = "".join(" " if unicodedata.category(char) in UNPRINTABLE_CATEGORIES else char for char in raw)
    return " ".join(spaced.split())[:MAX_DISPLAY_NAME].strip()


def from_header(name: str | None, address: str) -> str:
    """The ``From`` value ``"<name>" <address>`` (RFC 5322), or the bare address without a name.

    An ASCII name is a quoted-string (``\\`` and ``"`` escaped); a name with other characters
    ("Müller") is a run of RFC 2047 encoded-words, which may not stand inside quotes. SES compares
    only the address part with the IAM condition ``ses:FromAddress`` (the display name is
    ``ses:FromDisplayName``), so a display name never affects what the policy allows."""
    cleaned = display_name(name)
    if not cleaned:
        return address
    if cleaned.isascii():
        quoted = cleaned.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'
    words = _UTF8.header_encode_lines(cleaned, itertools.repeat(_ENCODED_WORD_LENGTH))
    return f"{' '.join(word for word in words if word)} <{address}>"


def reply_to(addresses: tuple[str, ...]) -> list[str]:
    """The ``Reply-To`` addresses that are addresses (normalised); anything else is left out."""
    valid: list[str] = []
    for candidate in addresses:
        try:
            valid.append(normalise_email(candidate))
        except InvalidEmail:
            continue
    return valid


def phone_uri(number: str | None) -> str:
    """``tel:`` with the number's digits (and its leading +), as a phone dials it (RFC 3966)."""
    digits = "".join(char for char in number or "" if char.isdigit())
    return f"tel:{'+' if (number or '').lstrip().startswith('+') else ''}{digits}"


# ---------------------------------------------------------------------------------------- letterhead


@dataclass(frozen=True)
class Letterhead:
    """Who a mail comes from and how it looks. ``Letterhead(firm_name)`` is the platform's look
    (staff mails); :func:`letterhead` builds a client's from the firm."""

    firm_name: str
    # The From display name; None: the bare sender address.
    sender_name: str | None = None
    reply_to: tuple[str, ...] = ()
    logo_url: str | None = None
    color: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    # The firm whose help article the mail links (?firm=...); None: the neutral article.
    firm_id: str | None = None

    @property
    def header_background(self) -> str:
        return self.color or PLATFORM_HEADER_BACKGROUND

    @property
    def header_text(self) -> str:
        return text_color_on(self.color) if self.color else PLATFORM_HEADER_TEXT

    @property
    def button_background(self) -> str:
        return self.color or PLATFORM_BUTTON_BACKGROUND

    @property
    def button_text(self) -> str:
        return text_color_on(self.color) if self.color else PLATFORM_BUTTON_TEXT

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_email or self.contact_phone)

    @property
    def contact_phone_uri(self) -> str:
        return phone_uri(self.contact_phone)


def letterhead(firm: Firm | None, reader: Account) -> Letterhead:
    """The letterhead of a mail to ``reader``: the firm's (white-label) for a client, the
    platform's for staff (see the module's docstring). Stored values are checked again here: a
    colour that is not ``#rrggbb`` or a logo that is not a web address is left out."""
    name = firm.name if firm is not None else ""
    if firm is None or reader.role != "client":
        return Letterhead(firm_name=name)
    contact = tuple(reply_to((firm.contact_email,))) if firm.contact_email else ()
    color = (firm.brand_color or "").lower()
    return Letterhead(
        firm_name=name,
        sender_name=display_name(firm.sender_name or firm.name) or None,
        reply_to=contact,
        logo_url=firm.logo_url if firm.logo_url and _is_web_address(firm.logo_url) else None,
        color=color if _COLOR.fullmatch(color) else None,
        contact_email=contact[0] if contact else None,
        contact_phone=display_name(firm.contact_phone) or None,
        firm_id=firm.firm_id,
    )


def _is_web_address(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("https", "http") and bool(parts.netloc) and not any(c.isspace() for c in url)


# ---------------------------------------------------------------------------------------- portal and page


def portal_url_for(firm: Firm | None) -> str:
    """Where a client lands after a confirm: the firm's ``portal_url`` when it has one, else the
    configured portal. The one place that decides it (the firm may come from the link, or later
    from a choice at sign-in); never from a request."""
    if firm is not None and firm.portal_url:
        return str(firm.portal_url)
    return settings().portal_url


def contact_of(firm: Firm) -> dict[str, str | None] | None:
    """The firm's contact as the API shows it (``None`` when it has none)."""
    if not (firm.contact_email or firm.contact_phone):
        return None
    return {"email": firm.contact_email, "phone": firm.contact_phone}


def page_firm(firm: Firm | None) -> dict[str, Any] | None:
    """The ``firm`` of verify's answer: whose brand the hosted page shows (``None``: the neutral
    look)."""
    if firm is None:
        return None
    return {
        "firm_id": firm.firm_id,
        "name": firm.name,
        "logo_url": firm.logo_url,
        "color": firm.brand_color,
        "contact": contact_of(firm),
    }
