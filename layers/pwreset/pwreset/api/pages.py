"""The hosted reset page: its texts, the jinja2 render and its two static assets.
The same page opens the "It wasn't me" lock links (``#lock=...``): it explains and asks, and only
its button locks.

The page is one HTML document (``templates/pages/reset.html``) plus ``reset.js`` and ``reset.css``
from ``templates/pages/assets/`` (the layer ships the whole ``templates/`` folder). The HTML is
rendered in the language of ``Accept-Language``; every text in every language is embedded as JSON
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

from pwreset.core import i18n
from pwreset.core.config import settings
from pwreset.core.i18n import N_, normalise_locale
from pwreset.core.shipped import shipped_path
from pwreset.mail.mailer import templates_dir

if TYPE_CHECKING:
    # deferred: the asset and OpenAPI routes of the same function never render
    import jinja2

__all__ = [
    "ASSET_FILES",
    "CONTACT_TEXTS",
    "PAGE_HEADERS",
    "REQUEST_FORM_TEXTS",
    "RESET_PAGE_TEXTS",
    "Asset",
    "asset_url",
    "find_asset",
    "page_texts",
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
        # https: the firm's logo (verify names it; the page cannot know its host in advance).
        "img-src 'self' data: https:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
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

# The form that asks for a new link, on the reset page and the help article alike.
REQUEST_FORM_TEXTS: dict[str, str] = {
    "request_heading": N_("Request a new link"),
    "request_email_label": N_("E-mail address"),
    "request_submit": N_("Send new link"),
    "request_sending": N_("Sending …"),
    "request_done": N_(
        "If there is an active account for this address, a new link is on its way. It can take a "
        "few minutes; please also check your spam folder."
    ),
    "request_invalid_email": N_("Please enter a valid e-mail address."),
    "request_failed": N_("The request could not be sent. Please try again in a moment."),
}

# How to reach the firm whose link it is (verify's `firm`), on the reset page and the help article
# alike; the same words as the mails' contact line (templates/mail/_contact.txt).
CONTACT_TEXTS: dict[str, str] = {
    "contact_heading": N_("Questions? Contact %(firm)s:"),
    "contact_email_label": N_("E-mail"),
    "contact_phone_label": N_("Phone"),
}

# Every text a person can read on the page, by the key the template and the script use (in English;
# the catalogs translate them). The page embeds them in every language, for the script's language switch.
RESET_PAGE_TEXTS: dict[str, str] = {
    "page_title": N_("Set a new password"),
    "brand": N_("Client portal"),
    "noscript": N_(
        "This page needs JavaScript to set your password. Please enable JavaScript and open the "
        "link from the e-mail again."
    ),
    "loading": N_("Checking your link …"),
    "valid_heading": N_("Set a new password"),
    "valid_intro": N_("Choose a new password for your portal account."),
    "welcome_heading": N_("Welcome to the client portal"),
    "welcome_intro": N_(
        "Choose the password for your new portal account. You will be signed in straight away."
    ),
    "welcome_submit": N_("Set password"),
    "welcome_done_heading": N_("Your access is ready"),
    "unlock_heading": N_("Unlock your account"),
    "unlock_intro": N_(
        "Your account is locked. Enter the unlock code your firm read to you on the phone and "
        "choose a new password: this unlocks your account."
    ),
    "code_label": N_("Unlock code"),
    "code_hint": N_("Six digits your firm tells you on the phone. It is never sent by e-mail."),
    "error_code_required": N_("Please enter the unlock code your firm read to you on the phone."),
    # The same words as the API's code_invalid (pwreset.core.i18n.ERROR_MESSAGES).
    "error_code_invalid": N_(
        "The unlock code is not correct. Please enter the six digits your firm read to you on the phone."
    ),
    "code_revoked_heading": N_("This link no longer works"),
    "code_revoked_text": N_(
        "The unlock code was entered wrongly too often, so this link was switched off for your security."
    ),
    "code_revoked_next": N_("Please call your firm: they can send you a new link and tell you a new code."),
    "account_label": N_("Account"),
    "expires_label": N_("Link valid until"),
    "new_password_label": N_("New password"),
    "repeat_password_label": N_("Repeat new password"),
    "show": N_("Show"),
    "hide": N_("Hide"),
    "rules_heading": N_("Your new password"),
    "rule_met": N_("met"),
    "rule_not_met": N_("not met yet"),
    "rule_failed": N_("not met"),
    "rule_server": N_("checked when you save"),
    "passphrase_tip": N_(
        "Tip: a sentence of several words is easy to remember and hard to guess. Spaces, umlauts "
        "and special characters are all allowed."
    ),
    "match_ok": N_("The passwords match."),
    "match_missing": N_("The passwords do not match yet."),
    "submit": N_("Set new password"),
    "submitting": N_("Saving …"),
    "error_required": N_("Please enter a new password."),
    "error_mismatch": N_("Please enter the same password in both fields."),
    "violations_heading": N_("Please choose another password:"),
    "breached_hint": N_(
        "If you use this password for any other account, change it there too: attackers try "
        "passwords from data breaches everywhere."
    ),
    "error_rate_limited": N_("Too many attempts. Please wait a moment and try again."),
    "error_network": N_(
        "We could not reach the server. Please check your internet connection and try again."
    ),
    "error_server": N_("Something went wrong on our side. Please try again in a moment."),
    "done_heading": N_("Password changed"),
    "done_text": N_("You are being signed in and taken to the client portal …"),
    "done_link": N_("Continue to the client portal"),
    "invalid_heading": N_("This link does not work"),
    "invalid_text": N_(
        "The link is incomplete or not valid. Some e-mail programs break long links across two "
        "lines, so please open the link from the e-mail again by clicking it."
    ),
    "invalid_next": N_("If that does not help, request a new link below or ask your firm to send you one."),
    "expired_heading": N_("This link has expired"),
    "expired_text": N_("For your security, links for setting a password only work for a limited time."),
    "expired_next": N_("Request a new link below, or ask your firm to send you a new one."),
    "used_heading": N_("This link has already been used"),
    "used_text": N_(
        "Each link works only once. It also stops working as soon as your password is changed in another way."
    ),
    "used_next": N_(
        "If you have just set a new password, sign in with it. Otherwise request a new link below "
        "or ask your firm to send you one."
    ),
    "sign_in_link": N_("Go to the client portal"),
    "revoked_heading": N_("This link is no longer valid"),
    "revoked_text": N_(
        "Your account's details (such as its e-mail address) changed after this link was sent, so "
        "it was switched off for your security."
    ),
    "revoked_next": N_(
        "Request a new link below: it goes to the address your account has now. Or ask your firm "
        "to send you one."
    ),
    "archived_heading": N_("This account is not active"),
    "archived_text": N_("The account this link belongs to has been archived, so its password cannot be set."),
    "archived_next": N_("Please contact your firm if you need access to the client portal again."),
    "error_heading": N_("Something went wrong"),
    "error_text": N_(
        "We could not check your link just now. Nothing has been changed and the link has not been used."
    ),
    "error_next": N_("Please check your internet connection and try again in a moment."),
    "retry": N_("Try again"),
    "request_intro": N_(
        "Enter the e-mail address you use for the client portal. We will send you a new link."
    ),
    **REQUEST_FORM_TEXTS,
    **CONTACT_TEXTS,
    "help_link": N_("No e-mail arriving? What you can do"),
    "footer": N_("Never pass this link on. Your firm will never ask you for your password."),
    "lock_heading": N_("Was this not you? Lock your account"),
    "lock_intro": N_(
        "You opened the link from the e-mail about a change of your password. If you did not make "
        "that change, lock your account now. Locking:"
    ),
    "lock_effect_sessions": N_(
        "signs out everyone who is signed in to your account, including whoever changed the password;"
    ),
    "lock_effect_links": N_("ends every link to set a password that is still open;"),
    "lock_effect_firm": N_("tells your firm at once, with the details of the change;"),
    "lock_effect_sign_in": N_(
        "refuses every sign-in until your firm sends you a new link and tells you its unlock code "
        "on the phone: setting a new password with both unlocks your account."
    ),
    "lock_question": N_("Nothing happens until you press the button."),
    "lock_submit": N_("Lock my account"),
    "lock_submitting": N_("Locking …"),
    "lock_was_me": N_("If the change was yours, simply close this page: nothing changes."),
    "locked_heading": N_("Your account is locked"),
    "locked_text": N_(
        "Everyone has been signed out, open links no longer work and your firm has been told. You "
        "will also get a confirmation by e-mail."
    ),
    "locked_next": N_("To use the client portal again, ask your firm for a new link to set a password."),
    "lock_invalid_heading": N_("This link does not work"),
    "lock_invalid_text": N_(
        "The link is incomplete or not valid. Some e-mail programs break long links across two "
        "lines, so please open the link from the e-mail again by clicking it."
    ),
    "lock_invalid_next": N_("If you did not change your password, contact your firm at once."),
    "lock_expired_heading": N_("This link has expired"),
    "lock_expired_text": N_("A link to lock your account works for 7 days."),
    "lock_expired_next": N_(
        "If you did not change your password, contact your firm at once: they can secure your account."
    ),
    "lock_used_heading": N_("This link has already been used"),
    "lock_used_text": N_("Each link to lock your account works once, and this one has already locked it."),
    "lock_used_next": N_("While your account is locked, a new link from your firm is the way back in."),
    "lock_archived_heading": N_("This account is not active"),
    "lock_archived_text": N_(
        "The account has been archived: nobody can sign in to it, so there is nothing to lock."
    ),
    "lock_archived_next": N_("Please contact your firm if you have questions."),
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


def page_texts(texts: dict[str, str], locale: str) -> dict[str, str]:
    """A page's table of texts (key -> English) in ``locale``'s language."""
    translations = i18n.catalog(locale)
    return {key: translations.gettext(message) for key, message in texts.items()}


@functools.cache
def _environment() -> jinja2.Environment:
    # deferred: the asset and OpenAPI routes of the same function never render
    import jinja2

    # No gettext here (jinja2.ext stays unimported): a page's texts come in its keyed table
    # (page_texts), which the reset page's script also needs to switch language.
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
    texts = {code: page_texts(RESET_PAGE_TEXTS, code) for code in i18n.SUPPORTED_LOCALES}
    data: dict[str, Any] = {
        "locale": lang,
        "locales": list(i18n.SUPPORTED_LOCALES),
        "texts": texts,
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
            t=texts[lang],
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
