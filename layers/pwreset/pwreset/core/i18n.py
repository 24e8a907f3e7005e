"""The languages the service speaks, locale negotiation, and the gettext catalogs every text comes from.

Every text a person reads (errors, pages, mails, diagnoses, password rules, dates) is written once, in
English, in the code or a template, and translated through the catalogs in ``pwreset/locale/``:
``messages.pot`` (extracted by Babel, ``make catalogs``) and one ``<lang>/LC_MESSAGES/messages.po``
per language. English is the source language, so its catalog may leave a text untranslated; every
other catalog must translate every text (``tests/unit/test_catalogs.py``). Adding a language is one
catalog plus one entry in :data:`SUPPORTED_LOCALES` (``docs/i18n.md``). Unknown locales fall back to
English.

A catalog is read on first use, once per process and language, with the standard library's
``gettext`` (a few hundred microseconds); Babel is never imported at run time: the layer's build
compiles the ``.mo`` files (``buildsteps/catalogs.py``), and only a source tree without an up-to-date
``.mo`` (a fresh clone, an edited ``.po``) compiles one on first use.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # deferred: a cold start that shows no text loads neither
    import gettext

    import jinja2

# The languages of the catalogs, in the order the reset page offers them. Adding one: docs/i18n.md.
SUPPORTED_LOCALES: tuple[str, ...] = ("de", "en")
DEFAULT_LOCALE = "en"
# The language the texts are written in (the msgids); its catalog may leave them as they are.
SOURCE_LOCALE = "en"
DOMAIN = "messages"
# pwreset/locale: inside the package, so the layer ships it with the code.
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


def N_(message: str) -> str:
    """Marks ``message`` for extraction (a Babel default keyword) where it is translated later, by
    key, with :func:`catalog` (a table of texts, such as :data:`ERROR_MESSAGES`)."""
    return message


ERROR_MESSAGES: dict[str, str] = {
    "invalid_request": N_("The request is not valid. Please check the fields and try again."),
    "token_invalid": N_("This reset link is not valid. Please request a new one."),
    "token_expired": N_("This reset link has expired. Please request a new one."),
    "token_used": N_("This reset link has already been used, or the password was changed since it was sent."),
    "token_revoked": N_(
        "This link is no longer valid because the account's details changed. "
        "Please request a new one or ask your firm."
    ),
    "firm_not_found": N_("There is no such firm. Create the firm first."),
    "email_taken": N_("Another account already uses this e-mail address."),
    "firm_mismatch": N_("This account belongs to another firm; accounts cannot move between firms."),
    "password_already_set": N_("This account already has a password. Send a reset link instead."),
    "account_archived": N_("This account is archived. Please contact your firm."),
    "password_rejected": N_("Please choose another password."),
    "code_invalid": N_(
        "The unlock code is not correct. Please enter the six digits your firm read to you on the phone."
    ),
    "unlock_code_exhausted": N_(
        "This link no longer works: the unlock code was entered wrongly too often. Please ask your "
        "firm for a new link and a new code."
    ),
    "rate_limited": N_("Too many attempts. Please wait a moment and try again."),
    "invalid_credentials": N_("The e-mail address or password is not correct."),
    "account_locked": N_(
        "This account is locked: its holder reported a password change they did not make. "
        "Please contact your firm; they can send you a new link to set a password."
    ),
    "lock_token_invalid": N_(
        "This link to lock the account is not valid. Please open it from the e-mail again. "
        "If you did not change your password, contact your firm at once."
    ),
    "lock_token_expired": N_(
        "This link to lock the account has expired (it works for 7 days). If you did not "
        "change your password, contact your firm at once."
    ),
    "lock_token_used": N_(
        "This link to lock the account has already been used. While the account is locked, "
        "a new link from your firm is the way back in."
    ),
    "lock_account_archived": N_(
        "This account is archived: nobody can sign in to it, so there is nothing to lock. "
        "Please contact your firm."
    ),
    "unauthorized": N_("Please sign in."),
    "forbidden": N_("You are not allowed to do this."),
    "account_not_found": N_("There is no such client account in your firm."),
    "email_undeliverable": N_(
        "Mail to this client's address cannot be delivered. Please check the address first."
    ),
    "email_send_failed": N_("The e-mail could not be sent just now. Please try again in a few minutes."),
    "signature_invalid": N_("The message signature could not be verified."),
    "topic_not_allowed": N_("Messages from this topic are not accepted."),
    "not_found": N_("No such resource."),
    "method_not_allowed": N_("This method is not allowed here."),
    "internal_error": N_("Something went wrong on our side. Please try again later."),
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
    """Pick a supported language from an Accept-Language header by q-value; English when nothing fits."""
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
    return catalog(locale).gettext(ERROR_MESSAGES.get(code, ERROR_MESSAGES["internal_error"]))


# ------------------------------------------------------------------------------------ catalogs


def catalog(locale: str) -> gettext.NullTranslations:
    """The catalog of ``locale``'s language (see :func:`normalise_locale`): ``gettext``,
    ``ngettext``, ``pgettext`` and ``npgettext`` of the standard library's translations."""
    return _catalog(normalise_locale(locale))


@functools.cache
def _catalog(lang: str) -> gettext.NullTranslations:
    # deferred: only a path that shows a text reads a catalog
    import gettext

    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if po.is_file() and not (mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime):
        # A source tree (the layer ships only the .mo): a fresh clone, or a .po edited since.
        compiled = compile_catalog(po)
        _write_quietly(mo, compiled)
        return gettext.GNUTranslations(io.BytesIO(compiled))
    try:
        with mo.open("rb") as file:
            return gettext.GNUTranslations(file)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no catalog for the supported language {lang!r}: {po} is missing (docs/i18n.md)"
        ) from None


def compile_catalog(po: Path) -> bytes:
    """The ``.mo`` of the catalog ``po``, compiled by Babel (never on the layer's request path: its
    build compiles them, ``buildsteps/catalogs.py``). Fuzzy entries are left out, as untranslated."""
    # deferred: a build step, or a source tree's first text; never the layer at run time
    from babel.messages import mofile, pofile

    with po.open("rb") as file:
        parsed = pofile.read_po(file, locale=po.parent.parent.name, domain=DOMAIN)
    out = io.BytesIO()
    mofile.write_mo(out, parsed, use_fuzzy=False)
    return out.getvalue()


def _write_quietly(path: Path, data: bytes) -> None:
    """Keep a compiled catalog for the next process (git ignores it); atomically, since test workers
    and the local stack's processes may compile at once. A read-only tree keeps none."""
    # deferred: a source tree's first text only
    import tempfile

    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        # mkstemp makes it private; a layer built from this tree must stay readable to Lambda's user.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError:
        pass


def read_catalogs() -> None:
    """Read every supported language's catalog now, so that no answer or mail later does: a
    SnapStart warm-up (the mail templates' and the routes')."""
    for lang in SUPPORTED_LOCALES:
        catalog(lang)


def reset_catalogs() -> None:
    """Forget the catalogs read so far (tests that change :data:`LOCALE_DIR` or the languages)."""
    _catalog.cache_clear()


# ------------------------------------------------------------------------------------ templates


def install_gettext(env: jinja2.Environment) -> None:
    """Give ``env``'s templates ``_``, ``gettext``, ``ngettext``, ``pgettext``, ``npgettext`` and
    ``{% trans %}`` (``jinja2.ext.i18n``) in the language of the render's ``locale`` variable.

    Placeholders are named (``_("Hello %(name)s,", name=recipient_name)``). A translation is text,
    never markup: an HTML template escapes it, and every value put into it, except values that are
    markup themselves (``_("... %(lifetime)s ...", lifetime=bold)``: how a mail puts words in bold).
    A text template (``.txt``) leaves both as they are.
    """
    # deferred: callers build their environment on the first render
    import jinja2

    env.add_extension("jinja2.ext.i18n")
    # {% trans %} hands its variables to the functions below, which fill them in.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.policies["ext.i18n.trimmed"] = True

    def finish(context: jinja2.runtime.Context, text: str, variables: Mapping[str, Any]) -> str:
        if context.eval_ctx.autoescape:
            # deferred: comes with jinja2
            from markupsafe import escape

            text = escape(text)
        return text % variables if variables else text

    @jinja2.pass_context
    def gettext_(context: jinja2.runtime.Context, message: str, **variables: Any) -> str:
        return finish(context, catalog(context["locale"]).gettext(message), variables)

    @jinja2.pass_context
    def ngettext_(
        context: jinja2.runtime.Context, singular: str, plural: str, n: int, **variables: Any
    ) -> str:
        text = catalog(context["locale"]).ngettext(singular, plural, n)
        return finish(context, text, {"num": n, **variables})

    @jinja2.pass_context
    def pgettext_(context: jinja2.runtime.Context, where: str, message: str, **variables: Any) -> str:
        return finish(context, catalog(context["locale"]).pgettext(where, message), variables)

    @jinja2.pass_context
    def npgettext_(
        context: jinja2.runtime.Context, where: str, singular: str, plural: str, n: int, **variables: Any
    ) -> str:
        text = catalog(context["locale"]).npgettext(where, singular, plural, n)
        return finish(context, text, {"num": n, **variables})

    env.globals.update(gettext=gettext_, ngettext=ngettext_, pgettext=pgettext_, npgettext=npgettext_)
