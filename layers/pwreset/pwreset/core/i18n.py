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
    "token_revoked": {
        "en": "This link is no longer valid because the account's details changed. "
        "Please request a new one or ask your firm.",
        "de": "Dieser Link ist nicht mehr gültig, weil sich die Kontodaten geändert haben. "
        "Bitte fordern Sie einen neuen an oder wenden Sie sich an Ihre Kanzlei.",
    },
    "firm_not_found": {
        "en": "There is no such firm. Create the firm first.",
        "de": "Diese Kanzlei gibt es nicht. Bitte legen Sie zuerst die Kanzlei an.",
    },
    "email_taken": {
        "en": "Another account already uses this e-mail address.",
        "de": "Diese E-Mail-Adresse wird bereits von einem anderen Konto verwendet.",
    },
    "firm_mismatch": {
        "en": "This account belongs to another firm; accounts cannot move between firms.",
        "de": "Dieses Konto gehört zu einer anderen Kanzlei; Konten können nicht die Kanzlei wechseln.",
    },
    "password_already_set": {
        "en": "This account already has a password. Send a reset link instead.",
        "de": "Für dieses Konto ist bereits ein Passwort festgelegt. Senden Sie stattdessen einen "
        "Link zum Zurücksetzen.",
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
    "account_locked": {
        "en": "This account is locked: its holder reported a password change they did not make. "
        "Please contact your firm; they can send you a new link to set a password.",
        "de": "Dieses Konto ist gesperrt: Eine Passwortänderung wurde als nicht selbst vorgenommen "
        "gemeldet. Bitte wenden Sie sich an Ihre Kanzlei; sie kann Ihnen einen neuen Link zum "
        "Festlegen eines Passworts senden.",
    },
    "lock_token_invalid": {
        "en": "This link to lock the account is not valid. Please open it from the e-mail again. "
        "If you did not change your password, contact your firm at once.",
        "de": "Dieser Link zum Sperren des Kontos ist ungültig. Bitte öffnen Sie ihn erneut aus der "
        "E-Mail. Wenn Sie Ihr Passwort nicht geändert haben, wenden Sie sich umgehend an Ihre Kanzlei.",
    },
    "lock_token_expired": {
        "en": "This link to lock the account has expired (it works for 7 days). If you did not "
        "change your password, contact your firm at once.",
        "de": "Dieser Link zum Sperren des Kontos ist abgelaufen (er gilt 7 Tage). Wenn Sie Ihr "
        "Passwort nicht geändert haben, wenden Sie sich umgehend an Ihre Kanzlei.",
    },
    "lock_token_used": {
        "en": "This link to lock the account has already been used. While the account is locked, "
        "a new link from your firm is the way back in.",
        "de": "Dieser Link zum Sperren des Kontos wurde bereits verwendet. Solange das Konto "
        "gesperrt ist, führt ein neuer Link Ihrer Kanzlei wieder hinein.",
    },
    "lock_account_archived": {
        "en": "This account is archived: nobody can sign in to it, so there is nothing to lock. "
        "Please contact your firm.",
        "de": "Dieses Konto ist archiviert: Niemand kann sich damit anmelden, es gibt also nichts zu "
        "sperren. Bitte wenden Sie sich an Ihre Kanzlei.",
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
