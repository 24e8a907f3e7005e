"""German and English texts for every error the API returns, and locale negotiation.

The portal's original help-desk article is German; every message a person can see exists in both
languages. Unknown locales fall back to English.
"""

from __future__ import annotations

SUPPORTED_LOCALES = ("de", "en")
DEFAULT_LOCALE = "en"

ERROR_MESSAGES: dict[str, dict[str, str]] = {
    "invalid_request": {
        "en": "The request is not valid. Please check the fields and try again.",
        "de": "Die Anfrage ist ungültig. Bitte prüfen Sie die Angaben und versuchen Sie es erneut.",
    },
    "token_invalid": {
        "en": "This reset link is not valid. Please request a new one.",
        "de": "Dieser Link zum Zurücksetzen ist ungültig. Bitte fordern Sie einen neuen an.",
    },
    "token_expired": {
        "en": "This reset link has expired. Please request a new one.",
        "de": "Dieser Link zum Zurücksetzen ist abgelaufen. Bitte fordern Sie einen neuen an.",
    },
    "token_used": {
        "en": "This reset link has already been used, or the password was changed since it was sent.",
        "de": "Dieser Link wurde bereits verwendet, oder das Passwort wurde seit dem Versand geändert.",
    },
    "account_archived": {
        "en": "This account is archived. Please contact your firm.",
        "de": "Dieses Konto ist archiviert. Bitte wenden Sie sich an Ihre Kanzlei.",
    },
    "password_rejected": {
        "en": "Please choose another password.",
        "de": "Bitte wählen Sie ein anderes Passwort.",
    },
    "rate_limited": {
        "en": "Too many attempts. Please wait a moment and try again.",
        "de": "Zu viele Versuche. Bitte warten Sie einen Moment und versuchen Sie es erneut.",
    },
    "invalid_credentials": {
        "en": "The e-mail address or password is not correct.",
        "de": "Die E-Mail-Adresse oder das Passwort ist nicht korrekt.",
    },
    "unauthorized": {
        "en": "Please sign in.",
        "de": "Bitte melden Sie sich an.",
    },
    "forbidden": {
        "en": "You are not allowed to do this.",
        "de": "Dazu sind Sie nicht berechtigt.",
    },
    "account_not_found": {
        "en": "There is no such client account in your firm.",
        "de": "Dieses Mandantenkonto gibt es in Ihrer Kanzlei nicht.",
    },
    "email_undeliverable": {
        "en": "Mail to this client's address cannot be delivered. Please check the address first.",
        "de": "E-Mails an die Adresse dieses Mandanten können nicht zugestellt werden. "
        "Bitte prüfen Sie zuerst die Adresse.",
    },
    "email_send_failed": {
        "en": "The e-mail could not be sent just now. Please try again in a few minutes.",
        "de": "Die E-Mail konnte gerade nicht versendet werden. "
        "Bitte versuchen Sie es in einigen Minuten erneut.",
    },
    "signature_invalid": {
        "en": "The message signature could not be verified.",
        "de": "Die Signatur der Nachricht konnte nicht geprüft werden.",
    },
    "topic_not_allowed": {
        "en": "Messages from this topic are not accepted.",
        "de": "Nachrichten aus diesem Topic werden nicht angenommen.",
    },
    "not_found": {
        "en": "No such resource.",
        "de": "Diese Adresse gibt es nicht.",
    },
    "method_not_allowed": {
        "en": "This method is not allowed here.",
        "de": "Diese Methode ist hier nicht erlaubt.",
    },
    "internal_error": {
        "en": "Something went wrong on our side. Please try again later.",
        "de": "Bei uns ist ein Fehler aufgetreten. Bitte versuchen Sie es später erneut.",
    },
}


def normalise_locale(value: object) -> str:
    """The product's language for a locale tag: ``"de"``, ``"de-AT"``, ``"DE"``, ``"de_DE"`` give
    ``"de"``; anything else (another language, empty, garbage, not a string) gives English. The one
    place a locale is read: mails, pages, policy messages and errors all go through it."""
    return _supported(value) or DEFAULT_LOCALE


def _supported(value: object) -> str | None:
    """``"de-AT"`` -> ``"de"``; a tag of a language the product does not speak -> ``None``."""
    if not isinstance(value, str) or not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in SUPPORTED_LOCALES else None


def negotiate_locale(accept_language: str | None) -> str:
    """Pick ``de`` or ``en`` from an Accept-Language header by q-value; English when nothing fits."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "")[:512].split(",")):
        tag, _, params = part.strip().partition(";")
        locale = _supported(tag)
        if locale is None:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        candidate = (quality, -position, locale)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else DEFAULT_LOCALE


def error_message(code: str, locale: str) -> str:
    texts = ERROR_MESSAGES.get(code, ERROR_MESSAGES["internal_error"])
    return texts.get(locale, texts[DEFAULT_LOCALE])
