"""The client help article ``GET /help/reset-email``: what to do when a reset mail does not arrive.

It follows the help-desk article the product comes from: check the address for typos, look in the
spam folder, add the sender (the configured ``SENDER_ADDRESS``, shown verbatim) to the safe
senders, then ask for a new link with the form on the page. Reset mails, the hosted reset page and
the portal's "forgot password" confirmation link here (the URL from configuration:
:attr:`pwreset.core.config.Settings.reset_help_url`).

One jinja2 template (``templates/pages/help_reset_email.html``), one language per render (German or
English, by ``?lang=`` or Accept-Language). The article reads without JavaScript; only the form
needs ``help.js``. Its assets are served by the reset page's asset route, content-hashed like the
page's own (:mod:`pwreset.api.pages`).
"""

from __future__ import annotations

import functools
from typing import Any

# The hosted pages share one jinja2 environment (built on the first render) and one asset table.
from pwreset.api.pages import _environment, asset_url
from pwreset.core.config import settings
from pwreset.core.i18n import SUPPORTED_LOCALES, negotiate_locale, normalise_locale

__all__ = ["HELP_PAGE_TEXTS", "SCRIPT_TEXTS", "help_root", "page_locale", "render_help_page"]

# Every text a person can read on the article, in both languages (a test checks both have every key).
HELP_PAGE_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "No password reset e-mail?",
        "brand": "Client portal",
        "other_language": "Deutsch",
        "heading": "Didn't get the e-mail to reset your password?",
        "intro": "The e-mail with the link usually arrives within a few minutes. If it does not, "
        "please go through these steps:",
        "step_address_heading": "Check the address",
        "step_address_text": "Check the e-mail address you entered for typos, for example "
        "“gmial.com” instead of “gmail.com”. The link only ever goes to the address your firm has "
        "on file for your account.",
        "step_spam_heading": "Look in your spam folder",
        "step_spam_text": "Look in the spam or junk folder and, if your mailbox sorts mail into tabs, "
        "in tabs such as “Promotions” or “Other”.",
        "step_sender_heading": "Add the sender to your safe senders",
        "step_sender_text": "Add this sender to your contacts or to your mail program's list of safe "
        "senders, so that our e-mails no longer land in spam:",
        "step_new_link_heading": "Ask for a new link",
        "step_new_link_text": "Then request a new link below. Each link works only once and only "
        "for a limited time; the newest one is the one to use.",
        "request_heading": "Request a new link",
        "request_email_label": "E-mail address",
        "request_submit": "Send new link",
        "request_sending": "Sending …",
        "request_done": "If there is an active account for this address, a new link is on its way. "
        "It can take a few minutes; please also check your spam folder.",
        "request_invalid_email": "Please enter a valid e-mail address.",
        "request_failed": "The request could not be sent. Please try again in a moment.",
        "noscript": "The form for a new link needs JavaScript. Without it, use “Forgot password?” "
        "on the portal's sign-in page, or ask your firm to send you a link.",
        "still_nothing_heading": "Still nothing?",
        "still_nothing_text": "Contact your firm. They can see whether our e-mail reached your "
        "mailbox and, if not, why, and can send you a new link.",
        "footer": "Your firm will never ask you for your password.",
    },
    "de": {
        "page_title": "Keine E-Mail zum Zurücksetzen erhalten?",
        "brand": "Mandantenportal",
        "other_language": "English",
        "heading": "Keine E-Mail zum Zurücksetzen Ihres Passworts erhalten?",
        "intro": "Die E-Mail mit dem Link kommt normalerweise innerhalb weniger Minuten an. Wenn "
        "nicht, gehen Sie bitte diese Schritte durch:",
        "step_address_heading": "Adresse prüfen",
        "step_address_text": "Prüfen Sie die eingegebene E-Mail-Adresse auf Tippfehler, zum "
        "Beispiel „gmial.com“ statt „gmail.com“. Der Link geht immer nur an die Adresse, die Ihre "
        "Kanzlei für Ihr Konto hinterlegt hat.",
        "step_spam_heading": "Im Spam-Ordner nachsehen",
        "step_spam_text": "Sehen Sie im Spam- oder Junk-Ordner nach und, falls Ihr Postfach E-Mails "
        "in Registerkarten sortiert, auch unter „Werbung“ oder „Sonstige“.",
        "step_sender_heading": "Absender als sicher eintragen",
        "step_sender_text": "Fügen Sie diesen Absender Ihren Kontakten oder der Liste sicherer "
        "Absender Ihres E-Mail-Programms hinzu, damit unsere E-Mails nicht mehr im Spam landen:",
        "step_new_link_heading": "Neuen Link anfordern",
        "step_new_link_text": "Fordern Sie danach unten einen neuen Link an. Jeder Link funktioniert "
        "nur einmal und nur für begrenzte Zeit; verwenden Sie immer den neuesten.",
        "request_heading": "Neuen Link anfordern",
        "request_email_label": "E-Mail-Adresse",
        "request_submit": "Neuen Link senden",
        "request_sending": "Wird gesendet …",
        "request_done": "Falls es zu dieser Adresse ein aktives Konto gibt, ist ein neuer Link "
        "unterwegs. Das kann einige Minuten dauern; bitte prüfen Sie auch Ihren Spam-Ordner.",
        "request_invalid_email": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
        "request_failed": "Die Anfrage konnte nicht gesendet werden. Bitte versuchen Sie es gleich "
        "noch einmal.",
        "noscript": "Das Formular für einen neuen Link benötigt JavaScript. Nutzen Sie sonst "
        "„Passwort vergessen?“ auf der Anmeldeseite des Portals, oder bitten Sie Ihre Kanzlei, "
        "Ihnen einen Link zu senden.",
        "still_nothing_heading": "Immer noch nichts?",
        "still_nothing_text": "Wenden Sie sich an Ihre Kanzlei. Sie sieht, ob unsere E-Mail Ihr "
        "Postfach erreicht hat und wenn nicht, warum, und kann Ihnen einen neuen Link senden.",
        "footer": "Ihre Kanzlei wird Sie nie nach Ihrem Passwort fragen.",
    },
}


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
    if requested in SUPPORTED_LOCALES:
        return requested
    return negotiate_locale(accept_language)


def help_root(request_path: str) -> str:
    """The relative prefix from the article to the API's root: ``/help/reset-email`` sits one
    folder down (plus one per trailing slash, as :func:`pwreset.api.pages.relative_root` explains)."""
    trailing = len(request_path) - len(request_path.rstrip("/"))
    return "../" * (1 + trailing)


@functools.lru_cache(maxsize=32)
def render_help_page(locale: str, root: str = "../") -> str:
    """The article in ``locale`` with URLs relative to ``root``. Cached: the output depends only on
    the arguments and the deployed files and configuration."""
    lang = normalise_locale(locale)
    other = next(code for code in SUPPORTED_LOCALES if code != lang)
    data: dict[str, Any] = {
        "locale": lang,
        "texts": {key: HELP_PAGE_TEXTS[lang][key] for key in SCRIPT_TEXTS},
        "api": {"request": f"{root}v1/password-resets"},
    }
    return (
        _environment()
        .get_template("pages/help_reset_email.html")
        .render(
            locale=lang,
            other_locale=other,
            t=HELP_PAGE_TEXTS[lang],
            sender=settings().sender_address,
            data=data,
            script_url=asset_url("help.js", root),
            style_urls=[asset_url("reset.css", root), asset_url("help.css", root)],
        )
    )
