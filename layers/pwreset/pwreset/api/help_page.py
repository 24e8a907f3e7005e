"""The client help article ``GET /help/reset-email``: what to do when a reset mail does not arrive.

It follows the help-desk article the product comes from: check the address for typos, look in the
spam folder, add the sender (the configured ``SENDER_ADDRESS``, shown verbatim) to the safe
senders, then ask for a new link with the form on the page. Reset mails, the hosted reset page and
the portal's "forgot password" confirmation link here (the URL from configuration:
:func:`pwreset.core.public_urls.reset_help_url`).

With ``?firm={firm_id}`` (the link in a mail to a firm's client, and the hosted page's once verify
named the firm) the article names how to reach that firm; an unknown firm gets the neutral article,
with the same status.

One jinja2 template (``templates/pages/help_reset_email.html``), one language per render (by
``?lang=`` or Accept-Language), with a link to the article in each other language. The article
reads without JavaScript; only the form needs ``help.js``. Its assets are served by the reset
page's asset route, content-hashed like the page's own (:mod:`pwreset.api.pages`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

# The hosted pages share one jinja2 environment (built on the first render) and one asset table.
from pwreset.api.pages import CONTACT_TEXTS, REQUEST_FORM_TEXTS, _environment, asset_url, page_texts
from pwreset.api.schemas import ID_PATTERN
from pwreset.core import i18n
from pwreset.core.config import settings
from pwreset.core.i18n import N_, negotiate_locale, normalise_locale
from pwreset.mail.brand import phone_uri

__all__ = [
    "HELP_PAGE_TEXTS",
    "LANGUAGE_NAME",
    "SCRIPT_TEXTS",
    "FirmContact",
    "firm_contact",
    "help_root",
    "page_locale",
    "render_help_page",
]

# Every text a person can read on the article, by the key the template uses (in English; the
# catalogs translate them).
HELP_PAGE_TEXTS: dict[str, str] = {
    "page_title": N_("No password reset e-mail?"),
    "brand": N_("Client portal"),
    "heading": N_("Didn't get the e-mail to reset your password?"),
    "intro": N_(
        "The e-mail with the link usually arrives within a few minutes. If it does not, please go "
        "through these steps:"
    ),
    "step_address_heading": N_("Check the address"),
    "step_address_text": N_(
        "Check the e-mail address you entered for typos, for example “gmial.com” instead of "
        "“gmail.com”. The link only ever goes to the address your firm has on file for your "
        "account."
    ),
    "step_spam_heading": N_("Look in your spam folder"),
    "step_spam_text": N_(
        "Look in the spam or junk folder and, if your mailbox sorts mail into tabs, in tabs such "
        "as “Promotions” or “Other”."
    ),
    "step_sender_heading": N_("Add the sender to your safe senders"),
    "step_sender_text": N_(
        "Add this sender to your contacts or to your mail program's list of safe senders, so that "
        "our e-mails no longer land in spam:"
    ),
    "step_new_link_heading": N_("Ask for a new link"),
    "step_new_link_text": N_(
        "Then request a new link below. Each link works only once and only for a limited time; "
        "the newest one is the one to use."
    ),
    **REQUEST_FORM_TEXTS,
    **CONTACT_TEXTS,
    "noscript": N_(
        "The form for a new link needs JavaScript. Without it, use “Forgot password?” on the "
        "portal's sign-in page, or ask your firm to send you a link."
    ),
    "still_nothing_heading": N_("Still nothing?"),
    "still_nothing_text": N_(
        "Contact your firm. They can see whether our e-mail reached your mailbox and, if not, "
        "why, and can send you a new link."
    ),
    "footer": N_("Your firm will never ask you for your password."),
}

# The firm ids the CRM gives; anything else names no firm.
_FIRM_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class FirmContact:
    """How the article's reader reaches their firm (``?firm=``)."""

    firm_id: str
    name: str
    email: str | None
    phone: str | None

    @property
    def phone_uri(self) -> str:
        return phone_uri(self.phone)


def firm_contact(firm_id: str | None) -> FirmContact | None:
    """The contact of firm ``firm_id``, or None (no such firm, or one without a contact): the
    neutral article."""
    if not firm_id or not _FIRM_ID.fullmatch(firm_id):
        return None
    # deferred: the page, asset and OpenAPI routes of the same function never read a table
    from pwreset.storage.accounts import get_or_none

    # deferred: as above (pynamodb comes with the models)
    from pwreset.storage.models import Firm

    firm = get_or_none(Firm, firm_id)
    if firm is None or not (firm.contact_email or firm.contact_phone):
        return None
    return FirmContact(firm.firm_id, firm.name, firm.contact_email, firm.contact_phone)


# Translators: the name of your language, written in it ("Deutsch" in German): the link to the article
# in your language on the article in every other language.
LANGUAGE_NAME = N_("English")

# The texts help.js writes into the page (the rest is rendered into the HTML).
SCRIPT_TEXTS = (
    "request_submit",
    "request_sending",
    "request_done",
    "request_invalid_email",
    "request_failed",
)


def page_locale(requested: str | None, accept_language: str | None) -> str:
    """``?lang=de|en`` when given and supported, else the browser's Accept-Language."""
    if requested in i18n.SUPPORTED_LOCALES:
        return requested
    return negotiate_locale(accept_language)


def help_root(request_path: str) -> str:
    """The relative prefix from the article to the API's root: ``/help/reset-email`` sits one
    folder down (plus one per trailing slash, as :func:`pwreset.api.pages.relative_root` explains)."""
    trailing = len(request_path) - len(request_path.rstrip("/"))
    return "../" * (1 + trailing)


@functools.lru_cache(maxsize=64)
def render_help_page(locale: str, root: str = "../", contact: FirmContact | None = None) -> str:
    """The article in ``locale`` with URLs relative to ``root``, naming ``contact`` when given.
    Cached: the output depends only on the arguments (a changed contact is another argument) and the
    deployed files and configuration."""
    lang = normalise_locale(locale)
    texts = page_texts(HELP_PAGE_TEXTS, lang)
    if contact is not None:
        texts["contact_heading"] = texts["contact_heading"] % {"firm": contact.name}
    others = [
        {"locale": code, "name": i18n.catalog(code).gettext(LANGUAGE_NAME)}
        for code in i18n.SUPPORTED_LOCALES
        if code != lang
    ]
    data: dict[str, Any] = {
        "locale": lang,
        "texts": {key: texts[key] for key in SCRIPT_TEXTS},
        "api": {"request": f"{root}v1/password-resets"},
    }
    return (
        _environment()
        .get_template("pages/help_reset_email.html")
        .render(
            locale=lang,
            other_languages=others,
            # The language links keep the firm: the article in another language names it too.
            firm_query=f"&firm={quote(contact.firm_id, safe='')}" if contact else "",
            contact=contact,
            t=texts,
            sender=settings().sender_address,
            data=data,
            script_url=asset_url("help.js", root),
            style_urls=[asset_url("reset.css", root), asset_url("help.css", root)],
        )
    )
