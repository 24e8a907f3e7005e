"""The hosted reset page: its German/English texts, the jinja2 render and its two static assets.
The same page opens the "It wasn't me" lock links (``#lock=...``): it explains and asks, and only
its button locks.

The page is one HTML document (``templates/pages/reset.html``) plus ``reset.js`` and ``reset.css``
from ``templates/pages/assets/`` (the layer ships the whole ``templates/`` folder). The HTML is
rendered in the language of ``Accept-Language``; every text of both languages is embedded as JSON
so the script can switch to the account's language once ``verify`` names it.

Assets are addressed by content hash (``reset.<hash>.js``) so they can be cached for good; the
HTML itself is never cached. Asset names are looked up in a fixed table, never joined to a path,
so no request can reach another file.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pwreset.core.config import settings
from pwreset.core.i18n import SUPPORTED_LOCALES, normalise_locale
from pwreset.core.shipped import shipped_path
from pwreset.mail.mailer import templates_dir

if TYPE_CHECKING:
    # deferred: the asset and OpenAPI routes of the same function never render
    import jinja2

__all__ = [
    "ASSET_FILES",
    "PAGE_HEADERS",
    "RESET_PAGE_TEXTS",
    "Asset",
    "asset_url",
    "find_asset",
    "relative_root",
    "render_reset_page",
]

# Served with the HTML. The JSON data element is not executed, so script-src 'self' suffices;
# no inline code or style attribute exists on the page.
PAGE_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}

# name -> content type. The only files the asset route can ever serve.
ASSET_FILES: dict[str, str] = {
    "reset.js": "text/javascript; charset=utf-8",
    "reset.css": "text/css; charset=utf-8",
    # The client help article's (pwreset.api.help_page); it shares reset.css.
    "help.js": "text/javascript; charset=utf-8",
    "help.css": "text/css; charset=utf-8",
}
_HASH_LEN = 16
_ASSET_NAME_RE = re.compile(rf"^(?P<stem>[a-z]+)(?:\.(?P<hash>[0-9a-f]{{{_HASH_LEN}}}))?\.(?P<ext>js|css)$")

# Every text a person can read on the page, in both languages. The script reads them from the
# embedded JSON; tests check that both languages have every key.
RESET_PAGE_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Set a new password",
        "brand": "Client portal",
        "noscript": "This page needs JavaScript to set your password. "
        "Please enable JavaScript and open the link from the e-mail again.",
        "loading": "Checking your link …",
        "valid_heading": "Set a new password",
        "valid_intro": "Choose a new password for your portal account.",
        "welcome_heading": "Welcome to the client portal",
        "welcome_intro": "Choose the password for your new portal account. You will be signed in straight "
        "away.",
        "welcome_submit": "Set password",
        "welcome_done_heading": "Your access is ready",
        "account_label": "Account",
        "expires_label": "Link valid until",
        "new_password_label": "New password",
        "repeat_password_label": "Repeat new password",
        "show": "Show",
        "hide": "Hide",
        "rules_heading": "Your new password",
        "rule_met": "met",
        "rule_not_met": "not met yet",
        "rule_failed": "not met",
        "rule_server": "checked when you save",
        "passphrase_tip": "Tip: a sentence of several words is easy to remember and hard to guess. "
        "Spaces, umlauts and special characters are all allowed.",
        "match_ok": "The passwords match.",
        "match_missing": "The passwords do not match yet.",
        "submit": "Set new password",
        "submitting": "Saving …",
        "error_required": "Please enter a new password.",
        "error_mismatch": "Please enter the same password in both fields.",
        "violations_heading": "Please choose another password:",
        "error_rate_limited": "Too many attempts. Please wait a moment and try again.",
        "error_network": "We could not reach the server. Please check your internet connection "
        "and try again.",
        "error_server": "Something went wrong on our side. Please try again in a moment.",
        "done_heading": "Password changed",
        "done_text": "You are being signed in and taken to the client portal …",
        "done_link": "Continue to the client portal",
        "invalid_heading": "This link does not work",
        "invalid_text": "The link is incomplete or not valid. Some e-mail programs break long links "
        "across two lines, so please open the link from the e-mail again by clicking it.",
        "invalid_next": "If that does not help, request a new link below or ask your firm to send you one.",
        "expired_heading": "This link has expired",
        "expired_text": "For your security, links for setting a password only work for a limited time.",
        "expired_next": "Request a new link below, or ask your firm to send you a new one.",
        "used_heading": "This link has already been used",
        "used_text": "Each link works only once. It also stops working as soon as your password "
        "is changed in another way.",
        "used_next": "If you have just set a new password, sign in with it. Otherwise request a new "
        "link below or ask your firm to send you one.",
        "sign_in_link": "Go to the client portal",
        "revoked_heading": "This link is no longer valid",
        "revoked_text": "Your account's details (such as its e-mail address) changed after this link "
        "was sent, so it was switched off for your security.",
        "revoked_next": "Request a new link below: it goes to the address your account has now. Or ask "
        "your firm to send you one.",
        "archived_heading": "This account is not active",
        "archived_text": "The account this link belongs to has been archived, so its password cannot be set.",
        "archived_next": "Please contact your firm if you need access to the client portal again.",
        "error_heading": "Something went wrong",
        "error_text": "We could not check your link just now. Nothing has been changed and the "
        "link has not been used.",
        "error_next": "Please check your internet connection and try again in a moment.",
        "retry": "Try again",
        "request_heading": "Request a new link",
        "request_intro": "Enter the e-mail address you use for the client portal. We will send "
        "you a new link.",
        "request_email_label": "E-mail address",
        "request_submit": "Send new link",
        "request_sending": "Sending …",
        "request_done": "If there is an active account for this address, a new link is on its way. "
        "It can take a few minutes; please also check your spam folder.",
        "request_invalid_email": "Please enter a valid e-mail address.",
        "request_failed": "The request could not be sent. Please try again in a moment.",
        "help_link": "No e-mail arriving? What you can do",
        "footer": "Never pass this link on. Your firm will never ask you for your password.",
        # "It wasn't me": a lock link (#lock=...) opens these instead of the password form.
        "lock_heading": "Was this not you? Lock your account",
        "lock_intro": "You opened the link from the e-mail about a change of your password. If you did "
        "not make that change, lock your account now. Locking:",
        "lock_effect_sessions": "signs out everyone who is signed in to your account, including whoever "
        "changed the password;",
        "lock_effect_links": "ends every link to set a password that is still open;",
        "lock_effect_firm": "tells your firm at once, with the details of the change;",
        "lock_effect_sign_in": "refuses every sign-in until your firm sends you a new link: setting a "
        "new password with it unlocks your account.",
        "lock_question": "Nothing happens until you press the button.",
        "lock_submit": "Lock my account",
        "lock_submitting": "Locking …",
        "lock_was_me": "If the change was yours, simply close this page: nothing changes.",
        "locked_heading": "Your account is locked",
        "locked_text": "Everyone has been signed out, open links no longer work and your firm has been "
        "told. You will also get a confirmation by e-mail.",
        "locked_next": "To use the client portal again, ask your firm for a new link to set a password.",
        "lock_invalid_heading": "This link does not work",
        "lock_invalid_text": "The link is incomplete or not valid. Some e-mail programs break long links "
        "across two lines, so please open the link from the e-mail again by clicking it.",
        "lock_invalid_next": "If you did not change your password, contact your firm at once.",
        "lock_expired_heading": "This link has expired",
        "lock_expired_text": "A link to lock your account works for 7 days.",
        "lock_expired_next": "If you did not change your password, contact your firm at once: they can "
        "secure your account.",
        "lock_used_heading": "This link has already been used",
        "lock_used_text": "Each link to lock your account works once, and this one has already locked it.",
        "lock_used_next": "While your account is locked, a new link from your firm is the way back in.",
        "lock_archived_heading": "This account is not active",
        "lock_archived_text": "The account has been archived: nobody can sign in to it, so there is "
        "nothing to lock.",
        "lock_archived_next": "Please contact your firm if you have questions.",
    },
    "de": {
        "page_title": "Neues Passwort festlegen",
        "brand": "Mandantenportal",
        "noscript": "Diese Seite benötigt JavaScript, um Ihr Passwort festzulegen. Bitte aktivieren "
        "Sie JavaScript und öffnen Sie den Link aus der E-Mail erneut.",
        "loading": "Ihr Link wird geprüft …",
        "valid_heading": "Neues Passwort festlegen",
        "valid_intro": "Wählen Sie ein neues Passwort für Ihr Konto im Mandantenportal.",
        "welcome_heading": "Willkommen im Mandantenportal",
        "welcome_intro": "Wählen Sie das Passwort für Ihr neues Konto im Mandantenportal. Danach sind Sie "
        "gleich angemeldet.",
        "welcome_submit": "Passwort festlegen",
        "welcome_done_heading": "Ihr Zugang ist bereit",
        "account_label": "Konto",
        "expires_label": "Link gültig bis",
        "new_password_label": "Neues Passwort",
        "repeat_password_label": "Neues Passwort wiederholen",
        "show": "Anzeigen",
        "hide": "Verbergen",
        "rules_heading": "Ihr neues Passwort",
        "rule_met": "erfüllt",
        "rule_not_met": "noch nicht erfüllt",
        "rule_failed": "nicht erfüllt",
        "rule_server": "wird beim Speichern geprüft",
        "passphrase_tip": "Tipp: Ein Satz aus mehreren Wörtern ist leicht zu merken und schwer zu "
        "erraten. Leerzeichen, Umlaute und Sonderzeichen sind erlaubt.",
        "match_ok": "Die Passwörter stimmen überein.",
        "match_missing": "Die Passwörter stimmen noch nicht überein.",
        "submit": "Neues Passwort festlegen",
        "submitting": "Wird gespeichert …",
        "error_required": "Bitte geben Sie ein neues Passwort ein.",
        "error_mismatch": "Bitte geben Sie in beiden Feldern dasselbe Passwort ein.",
        "violations_heading": "Bitte wählen Sie ein anderes Passwort:",
        "error_rate_limited": "Zu viele Versuche. Bitte warten Sie einen Moment und versuchen Sie es erneut.",
        "error_network": "Der Server ist nicht erreichbar. Bitte prüfen Sie Ihre Internetverbindung "
        "und versuchen Sie es erneut.",
        "error_server": "Bei uns ist ein Fehler aufgetreten. Bitte versuchen Sie es gleich noch einmal.",
        "done_heading": "Passwort geändert",
        "done_text": "Sie werden angemeldet und zum Mandantenportal weitergeleitet …",
        "done_link": "Weiter zum Mandantenportal",
        "invalid_heading": "Dieser Link funktioniert nicht",
        "invalid_text": "Der Link ist unvollständig oder ungültig. Manche E-Mail-Programme teilen "
        "lange Links auf zwei Zeilen auf. Bitte öffnen Sie den Link aus der E-Mail erneut per Klick.",
        "invalid_next": "Wenn das nicht hilft, fordern Sie unten einen neuen Link an oder bitten Sie "
        "Ihre Kanzlei, Ihnen einen zu senden.",
        "expired_heading": "Dieser Link ist abgelaufen",
        "expired_text": "Zu Ihrer Sicherheit sind Links zum Festlegen eines Passworts nur begrenzt gültig.",
        "expired_next": "Fordern Sie unten einen neuen Link an oder bitten Sie Ihre Kanzlei, Ihnen "
        "einen neuen zu senden.",
        "used_heading": "Dieser Link wurde bereits verwendet",
        "used_text": "Jeder Link funktioniert nur einmal. Er verliert außerdem seine Gültigkeit, "
        "sobald Ihr Passwort auf anderem Weg geändert wird.",
        "used_next": "Wenn Sie gerade ein neues Passwort festgelegt haben, melden Sie sich damit an. "
        "Andernfalls fordern Sie unten einen neuen Link an oder bitten Sie Ihre Kanzlei darum.",
        "sign_in_link": "Zum Mandantenportal",
        "revoked_heading": "Dieser Link ist nicht mehr gültig",
        "revoked_text": "Die Angaben zu Ihrem Konto (etwa die E-Mail-Adresse) haben sich nach dem "
        "Versand dieses Links geändert. Zu Ihrer Sicherheit wurde er deshalb abgeschaltet.",
        "revoked_next": "Fordern Sie unten einen neuen Link an: Er geht an die Adresse, die Ihr Konto "
        "jetzt hat. Oder bitten Sie Ihre Kanzlei, Ihnen einen zu senden.",
        "archived_heading": "Dieses Konto ist nicht aktiv",
        "archived_text": "Das Konto, zu dem dieser Link gehört, wurde archiviert. Deshalb kann "
        "kein Passwort dafür festgelegt werden.",
        "archived_next": "Bitte wenden Sie sich an Ihre Kanzlei, wenn Sie wieder Zugang zum "
        "Mandantenportal benötigen.",
        "error_heading": "Etwas ist schiefgelaufen",
        "error_text": "Wir konnten Ihren Link gerade nicht prüfen. Es wurde nichts geändert, und "
        "der Link ist weiterhin gültig.",
        "error_next": "Bitte prüfen Sie Ihre Internetverbindung und versuchen Sie es gleich noch einmal.",
        "retry": "Erneut versuchen",
        "request_heading": "Neuen Link anfordern",
        "request_intro": "Geben Sie die E-Mail-Adresse ein, mit der Sie das Mandantenportal nutzen. "
        "Wir senden Ihnen einen neuen Link.",
        "request_email_label": "E-Mail-Adresse",
        "request_submit": "Neuen Link senden",
        "request_sending": "Wird gesendet …",
        "request_done": "Falls es zu dieser Adresse ein aktives Konto gibt, ist ein neuer Link "
        "unterwegs. Das kann einige Minuten dauern; bitte prüfen Sie auch Ihren Spam-Ordner.",
        "request_invalid_email": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
        "request_failed": "Die Anfrage konnte nicht gesendet werden. Bitte versuchen Sie es gleich "
        "noch einmal.",
        "help_link": "Keine E-Mail angekommen? Das können Sie tun",
        "footer": "Geben Sie diesen Link nicht weiter. Ihre Kanzlei wird Sie nie nach Ihrem Passwort fragen.",
        "lock_heading": "Das waren nicht Sie? Sperren Sie Ihr Konto",
        "lock_intro": "Sie haben den Link aus der E-Mail zu einer Änderung Ihres Passworts geöffnet. "
        "Wenn Sie diese Änderung nicht vorgenommen haben, sperren Sie Ihr Konto jetzt. Die Sperre:",
        "lock_effect_sessions": "meldet alle ab, die in Ihrem Konto angemeldet sind, auch wer das "
        "Passwort geändert hat;",
        "lock_effect_links": "beendet alle noch offenen Links zum Festlegen eines Passworts;",
        "lock_effect_firm": "informiert sofort Ihre Kanzlei, mit den Einzelheiten der Änderung;",
        "lock_effect_sign_in": "verweigert jede Anmeldung, bis Ihre Kanzlei Ihnen einen neuen Link sendet: "
        "Wenn Sie damit ein neues Passwort festlegen, ist Ihr Konto entsperrt.",
        "lock_question": "Es geschieht nichts, bevor Sie die Schaltfläche drücken.",
        "lock_submit": "Mein Konto sperren",
        "lock_submitting": "Wird gesperrt …",
        "lock_was_me": "Wenn die Änderung von Ihnen stammt, schließen Sie diese Seite einfach: Es ändert "
        "sich nichts.",
        "locked_heading": "Ihr Konto ist gesperrt",
        "locked_text": "Alle wurden abgemeldet, offene Links funktionieren nicht mehr, und Ihre Kanzlei "
        "wurde informiert. Sie erhalten außerdem eine Bestätigung per E-Mail.",
        "locked_next": "Um das Mandantenportal wieder zu nutzen, bitten Sie Ihre Kanzlei um einen neuen "
        "Link zum Festlegen eines Passworts.",
        "lock_invalid_heading": "Dieser Link funktioniert nicht",
        "lock_invalid_text": "Der Link ist unvollständig oder ungültig. Manche E-Mail-Programme teilen "
        "lange Links auf zwei Zeilen auf. Bitte öffnen Sie den Link aus der E-Mail erneut per Klick.",
        "lock_invalid_next": "Wenn Sie Ihr Passwort nicht geändert haben, wenden Sie sich umgehend an "
        "Ihre Kanzlei.",
        "lock_expired_heading": "Dieser Link ist abgelaufen",
        "lock_expired_text": "Ein Link zum Sperren Ihres Kontos gilt 7 Tage.",
        "lock_expired_next": "Wenn Sie Ihr Passwort nicht geändert haben, wenden Sie sich umgehend an "
        "Ihre Kanzlei: Sie kann Ihr Konto sichern.",
        "lock_used_heading": "Dieser Link wurde bereits verwendet",
        "lock_used_text": "Jeder Link zum Sperren Ihres Kontos funktioniert einmal, und dieser hat es "
        "bereits gesperrt.",
        "lock_used_next": "Solange Ihr Konto gesperrt ist, führt ein neuer Link Ihrer Kanzlei wieder hinein.",
        "lock_archived_heading": "Dieses Konto ist nicht aktiv",
        "lock_archived_text": "Das Konto wurde archiviert: Niemand kann sich damit anmelden, es gibt "
        "also nichts zu sperren.",
        "lock_archived_next": "Bitte wenden Sie sich an Ihre Kanzlei, wenn Sie Fragen haben.",
    },
}


@dataclass(frozen=True)
class Asset:
    name: str  # e.g. "reset.js"
    content_type: str
    body: str
    digest: str  # first hex digits of the SHA-256 of the body

    @property
    def versioned_name(self) -> str:
        stem, _, ext = self.name.rpartition(".")
        return f"{stem}.{self.digest}.{ext}"


@functools.cache
def _assets() -> dict[str, Asset]:
    """Read once per process (a cold start): two small files."""
    folder = templates_dir() / "pages" / "assets"
    found: dict[str, Asset] = {}
    for name, content_type in ASSET_FILES.items():
        raw = (folder / name).read_bytes()
        found[name] = Asset(
            name=name,
            content_type=content_type,
            body=raw.decode("utf-8"),
            digest=hashlib.sha256(raw).hexdigest()[:_HASH_LEN],
        )
    return found


def find_asset(requested: str) -> tuple[Asset, bool] | None:
    """The asset a URL name stands for, and whether the name carries its current content hash.

    ``reset.js`` and ``reset.<hash>.js`` both name ``reset.js``. A hash that is not the current one
    (a page rendered just before a deploy) still gets the current file, but must not be cached for
    good under that name: the caller uses the flag for that. Anything else is ``None``.
    """
    match = _ASSET_NAME_RE.fullmatch(requested)
    if match is None:
        return None
    asset = _assets().get(f"{match['stem']}.{match['ext']}")
    if asset is None:
        return None
    return asset, match["hash"] == asset.digest


def relative_root(request_path: str) -> str:
    """The relative prefix from the page to the API's root, from the path the request arrived on.

    Every URL in the page is relative, because the same page is served at
    ``http://127.0.0.1:3000/reset`` (local, no stage) and ``https://<api>/dev/reset`` (a stage
    prefix the function does not see in ``event.path``), and possibly behind a custom domain with a
    base path. A browser resolves ``reset/assets/x`` against the page's directory (``/`` or
    ``/dev/``), which is the API root in every case. API Gateway also routes ``/reset/`` to the
    page; there the directory is one level deeper, so each trailing slash adds a ``../``.
    """
    trailing = len(request_path) - len(request_path.rstrip("/"))
    return "../" * trailing


def asset_url(name: str, root: str = "") -> str:
    return f"{root}reset/assets/{_assets()[name].versioned_name}"


@functools.cache
def _environment() -> jinja2.Environment:
    # deferred: the asset and OpenAPI routes of the same function never render
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


@functools.lru_cache(maxsize=32)
def render_reset_page(locale: str, root: str = "") -> str:
    """The page in ``locale`` (``de``/``en``; anything else is English) with URLs relative to ``root``.

    Cached: the output depends only on the arguments and the deployed files.
    """
    lang = normalise_locale(locale)
    data: dict[str, Any] = {
        "locale": lang,
        "locales": list(SUPPORTED_LOCALES),
        "texts": RESET_PAGE_TEXTS,
        "api": {
            "verify": f"{root}v1/password-resets/verify",
            "confirm": f"{root}v1/password-resets/confirm",
            "request": f"{root}v1/password-resets",
            "lock": f"{root}v1/account-locks",
        },
        "portal_url": settings().portal_url,
    }
    return (
        _environment()
        .get_template("pages/reset.html")
        .render(
            locale=lang,
            t=RESET_PAGE_TEXTS[lang],
            data=data,
            script_url=asset_url("reset.js", root),
            style_url=asset_url("reset.css", root),
            # The help article's path beside the page; reset.js updates ?lang= on a language switch.
            help_url=f"{root}help/reset-email?lang={lang}",
        )
    )


@functools.cache
def openapi_document() -> str:
    """The committed OpenAPI document: shipped inside the package by the layer build, read from the
    repository's docs/ when running from source."""
    return shipped_path("openapi.json", "docs/openapi.json").read_text(encoding="utf-8")
