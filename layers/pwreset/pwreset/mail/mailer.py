"""Rendering of the e-mails (jinja2) in the reader's language and sending them through SESv2.

Templates live in ``templates/mail/`` as three files per mail, in no particular language::

    {name}.subject.txt   one line (surrounding whitespace and inner line breaks are removed)
    {name}.html          autoescaped
    {name}.txt           plain text, not escaped

Their texts are English and go through the catalogs (``_("Hello %(name)s,", name=...)``, see
:func:`pwreset.core.i18n.install_gettext`), in the language of ``locale``. Templates get the caller's
context plus ``locale``, ``brand`` (the mail's :class:`~pwreset.mail.brand.Letterhead`: whose mail
it is and how it looks) and ``firm_name`` (the letterhead's), two filters that use it:
``{{ when | datetime(timezone) }}`` (see :func:`pwreset.core.times.format_datetime`) and
``{{ seconds | duration }}`` (see :func:`pwreset.core.times.format_duration`), and one function:
``{{ reset_help_url(locale, brand.firm_id) }}``, the client help article for a mail that did not
arrive (from configuration, see :func:`pwreset.core.public_urls.reset_help_url`). Undefined
variables are errors (``StrictUndefined``), so every variable a template uses must be passed, even
when ``None``.

Every mail goes through :func:`render` (which requires its letterhead) and :func:`send_email`
(which builds ``From`` and ``Reply-To`` from what the letterhead put into the rendered mail): the
one path that gives every mail to a firm's client the firm's name, contact and look.

jinja2 is imported and its ``Environment`` built on the first render only, so handlers that import
this module without sending mail do not pay for it at cold start.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pwreset.core import i18n, public_urls
from pwreset.core.i18n import normalise_locale
from pwreset.core.shipped import shipped_path
from pwreset.core.times import format_datetime, format_duration
from pwreset.mail.brand import Letterhead, from_header, reply_to

if TYPE_CHECKING:
    # deferred: handlers that import this module but send nothing never load jinja2
    import jinja2
    from mypy_boto3_sesv2 import SESV2Client

__all__ = ["RenderedMail", "prepare", "render", "send_email", "templates_dir"]

TEMPLATES_DIR_ENV = "TEMPLATES_DIR"
COMPILED_DIR_NAME = "mail-compiled"
_NAME_RE = re.compile(r"^[a-z0-9_]+$")
_TAG_DISALLOWED_RE = re.compile(r"[^A-Za-z0-9_-]")
_TAG_MAX_LEN = 256
_CHARSET = "UTF-8"
_PARTS = ("subject.txt", "html", "txt")
# The variable under which one render keeps the words modules its parts share (see ``_words``).
_WORDS_MEMO = "_words_memo"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    html: str
    text: str
    # The envelope the letterhead chose: the From display name (None: the bare sender address) and
    # the Reply-To addresses (none: replies go to the sender).
    sender_name: str | None = None
    reply_to: tuple[str, ...] = ()


@functools.cache
def templates_dir() -> Path:
    """Directory holding ``mail/`` (and ``pages/``) templates; resolved once per process.

    Order: ``$TEMPLATES_DIR``; ``templates/`` inside the installed ``pwreset`` package (how the
    deployed layer ships them); the repository's top-level ``templates/``.
    """
    configured = os.environ.get(TEMPLATES_DIR_ENV)
    if configured:
        return Path(configured)
    return shipped_path("templates", "templates")


def _datetime_filter(context: Mapping[str, Any], at: datetime, timezone: str | None = None) -> str:
    return format_datetime(at, timezone, context.get("locale"))


def _duration_filter(context: Mapping[str, Any], seconds: int) -> str:
    return format_duration(seconds, context.get("locale"))


def reset_help_url(locale: str | None, firm_id: str | None = None) -> str:
    """The client help article in ``locale`` (naming the contact of ``firm_id`` when given): the
    configured URL, never one from a request."""
    url = f"{public_urls.reset_help_url()}?lang={normalise_locale(locale)}"
    return f"{url}&firm={quote(firm_id, safe='')}" if firm_id else url


@functools.cache
def _environment() -> jinja2.Environment:
    """The mail templates' environment. Where the templates come precompiled (the layer's build
    writes ``mail-compiled/`` next to them, see ``layers/pwreset/buildsteps/compile_templates.py``),
    those modules are used, so a cold start does not lex, parse and compile them (what that saves:
    ``bench/results.md``). Only builds write that directory (the layer's, and the bench's copy),
    each from the templates it ships beside it; the source tree has none (and git ignores one), so
    a template edited there is never shadowed by a stale compiled copy."""
    # deferred: handlers that import this module but send nothing never load jinja2
    import jinja2

    loader: jinja2.BaseLoader = jinja2.FileSystemLoader(templates_dir())
    compiled = templates_dir() / COMPILED_DIR_NAME
    if compiled.is_dir():
        loader = jinja2.ChoiceLoader([jinja2.ModuleLoader(compiled), loader])
    return new_environment(loader)


def new_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """The one definition of the mail environment: the runtime and the build step both use it, so
    compiled templates render exactly what the sources do."""
    # deferred: handlers that import this module but send nothing never load jinja2
    import jinja2

    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    i18n.install_gettext(env)
    env.filters["datetime"] = jinja2.pass_context(_datetime_filter)
    env.filters["duration"] = jinja2.pass_context(_duration_filter)
    env.globals["reset_help_url"] = reset_help_url
    env.globals["words"] = jinja2.pass_context(_words)
    return env


def _words(context: jinja2.runtime.Context, name: str) -> Any:
    """A mail's words (``{% set w = words("mail/_<words>.txt") %}``): the words template evaluated
    with the render's variables, as ``{% import ... with context %}`` would, but once per mail and
    not once per part. The subject, HTML and text parts all show the words, and evaluating them (a
    few dozen translations, the dates formatted) is most of what rendering a mail costs."""
    memo = context.get(_WORDS_MEMO, {})  # a template rendered outside render() shares nothing
    module = memo.get(name)
    if module is None:
        module = memo[name] = context.environment.get_template(name).make_module(
            context.get_all(), shared=True
        )
    return module


def render(name: str, locale: str, *, letterhead: Letterhead, **context: Any) -> RenderedMail:
    """Render mail ``name`` in ``locale``'s language (see :func:`pwreset.core.i18n.normalise_locale`)
    on ``letterhead`` (see :func:`pwreset.mail.brand.letterhead`), which also chooses the envelope.

    Raises ``ValueError`` for a malformed name, ``jinja2.TemplateNotFound`` for an unknown one and
    ``jinja2.UndefinedError`` when the context lacks a variable the templates use.
    """
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"invalid mail template name: {name!r}")
    lang = normalise_locale(locale)
    env = _environment()
    values = {
        **context,
        "locale": lang,
        "brand": letterhead,
        "firm_name": letterhead.firm_name,
        _WORDS_MEMO: {},  # the mail's words, evaluated by the first part that shows them
    }
    subject, html, text = (env.get_template(f"mail/{name}.{part}").render(values) for part in _PARTS)
    return RenderedMail(
        subject=" ".join(subject.split()),
        html=html,
        text=text,
        sender_name=letterhead.sender_name,
        reply_to=letterhead.reply_to,
    )


def prepare(*names: str) -> None:
    """Load mails ``names`` (compiled modules where the layer ships them), the shared parts they
    extend and include, and every language's catalog, so the first send does not: a SnapStart
    warm-up (``pwreset.runtime.snapstart``)."""
    env = _environment()
    for name in names:
        for part in _PARTS:
            env.get_template(f"mail/{name}.{part}")
    # A mail loads its layout and partials (``_*``) only when it renders: load them all here.
    for shared in sorted((templates_dir() / "mail").glob("_*")):
        env.get_template(f"mail/{shared.name}")
    i18n.read_catalogs()


def _tag_value(value: str) -> str:
    """Make a string acceptable as an SES tag name/value: ``[A-Za-z0-9_-]``, 1 to 256 characters."""
    cleaned = _TAG_DISALLOWED_RE.sub("_", str(value))[:_TAG_MAX_LEN]
    return cleaned or "_"


def send_email(
    client: SESV2Client,
    *,
    sender: str,
    to: str,
    mail: RenderedMail,
    configuration_set: str | None,
    tags: Mapping[str, str],
) -> str:
    """Send ``mail`` to one recipient with SESv2 ``SendEmail`` (simple content) and return the MessageId.

    ``From`` is ``sender`` with the mail's display name, ``Reply-To`` the mail's addresses; both are
    built by :mod:`pwreset.mail.brand`, which keeps control characters out of every header.
    Tag names and values are sanitised to SES's allowed characters (others become ``_``) and cut to
    256 characters. Errors from the client propagate unchanged; the caller maps them.
    """
    request: dict[str, Any] = {
        "FromEmailAddress": from_header(mail.sender_name, sender),
        "Destination": {"ToAddresses": [to]},
        "Content": {
            "Simple": {
                "Subject": {"Data": mail.subject, "Charset": _CHARSET},
                "Body": {
                    "Html": {"Data": mail.html, "Charset": _CHARSET},
                    "Text": {"Data": mail.text, "Charset": _CHARSET},
                },
            }
        },
    }
    replies = reply_to(mail.reply_to)
    if replies:
        request["ReplyToAddresses"] = replies
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    if tags:
        request["EmailTags"] = [{"Name": _tag_value(k), "Value": _tag_value(v)} for k, v in tags.items()]
    response = client.send_email(**request)
    return str(response["MessageId"])
