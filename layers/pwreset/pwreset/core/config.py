"""Settings read once from the environment that ``template.yaml`` sets for every function.

The cookbook's environment model: one frozen object, read at cold start (the models read their
table names at import, and the resolver its origins), where a missing variable is a clear
:class:`ConfigurationError` that names it, not a silent default. Tests rebuild it
(``settings.cache_clear()``) after changing the environment.

Each setting is read from the variable of its name in capitals, as its type says: ``str`` is
required, ``str | None`` optional, :data:`OffWhenEmpty` required but empty for "off" (read as
None), ``int`` a required whole number (or the documented default of a knob the template does not
set: :data:`KNOB_DEFAULTS`), ``bool`` ``true``/``false`` (or, likewise, its default there),
``tuple[str, ...]`` a comma-separated list.

:class:`Settings` is what every function gets; :class:`PasswordSettings` only the functions that
set passwords (the template passes its variables to them alone).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# The client help article for a reset mail that did not arrive, beside the hosted reset page.
HELP_ARTICLE_PATH = "help/reset-email"


# A variable the template always sets, where an empty value turns a feature off (read as None): a
# missing one is still an error, since it means a template that forgot it, not a choice.
OffWhenEmpty = Annotated[str | None, "off when empty"]

# The numbers the template does not set, with their documented defaults.
KNOB_DEFAULTS = {
    "password_max_length": 128,
    "argon2_time_cost": 2,
    "argon2_memory_kib": 19456,
    "argon2_parallelism": 1,
    "reset_retention_seconds": 90 * 24 * 3600,
    # LOCAL ONLY: firms' portal and logo addresses may be http://127.0.0.1 or http://localhost.
    # The local stack sets it; the template never does, so a deployed stack takes https:// only.
    "allow_loopback_http_urls": False,
}


@dataclass(frozen=True)
class Settings:
    # Lambda sets AWS_REGION; the local stack and the tests set it (or AWS_DEFAULT_REGION) too.
    aws_region: str
    accounts_table: str
    # Logins (one per address: the credential) and their memberships (one per account).
    logins_table: str
    firms_table: str
    reset_tokens_table: str
    # "It wasn't me" links of the password-changed mails (their own table: never a reset token).
    lock_tokens_table: str
    sessions_table: str
    events_table: str
    delivery_events_table: str
    sns_messages_table: str
    sender_address: str
    ses_configuration_set: str | None
    portal_url: str
    # The hosted reset page, when configuration names it (None when the stack publishes it in SSM
    # under reset_page_url_parameter instead); read it through pwreset.core.public_urls.
    reset_page_url: str | None
    reset_page_url_parameter: str | None
    staff_link_lifetime_seconds: int
    self_service_link_lifetime_seconds: int
    session_lifetime_seconds: int
    invitation_lifetime_seconds: int
    password_min_length: int
    password_max_length: int
    argon2_time_cost: int
    argon2_memory_kib: int
    argon2_parallelism: int
    # How long a used or expired reset stays readable for the deliveries view before TTL clean-up.
    reset_retention_seconds: int
    # Browser origins allowed to call with credentials (CORS); the first is the portal.
    allowed_origins: tuple[str, ...]
    rate_limits_table: str
    # "rule=limit/window_seconds,..." (see pwreset.credentials.ratelimit).
    rate_limits: str
    # Where the self-service handler queues requests for SelfServiceResetFunction.
    self_service_queue_url: str
    # Where the notification function records which mails it has sent (powertools idempotency).
    idempotency_table: str
    # A MaxMind-format (.mmdb) city or country database; None = locate by CloudFront headers only.
    geoip_database_path: str | None
    # The one SNS topic whose messages the SES webhook accepts (the configuration set's events).
    ses_events_topic_arn: str
    # Whether the webhook also accepts SHA-1 SNS signatures (SignatureVersion 1); the stack's topic
    # signs with SHA-256.
    sns_accept_signature_v1: bool
    # The Secrets Manager secret whose value the stack's own CloudFront sends as X-Origin-Verify
    # (read at run time, pwreset.api.origin_verify); None: no CloudFront header is ever believed.
    origin_verify_secret_id: str | None
    # LOCAL ONLY: a PEM certificate the webhook trusts instead of fetching SNS's signing
    # certificate, so the local stack can sign SNS messages itself. The template never sets it.
    sns_trusted_cert_pem_path: str | None
    # Events for the CRM (pwreset.crm): the EventBridge bus they are put on, and the queue that
    # keeps an event the bus refused after every retry.
    crm_event_bus_name: str
    crm_events_dead_letter_queue_url: str
    # LOCAL ONLY (see KNOB_DEFAULTS): a firm's portal_url and logo_url may be loopback http.
    allow_loopback_http_urls: bool


def help_url_beside(reset_page_url: str) -> str:
    """The client help article (``GET /help/reset-email``) as mails and pages link to it.

    The API serves it beside the hosted reset page, so it is the page's URL with its own last
    path segment replaced: ``https://portal.example.com/reset`` gives
    ``https://portal.example.com/help/reset-email``, a stage URL ``https://<api>/prod/reset``
    gives ``https://<api>/prod/help/reset-email``. Like the reset link, it comes from
    configuration only, never from a request's Host header. Callers add ``?lang=de|en``.
    """
    parts = urlsplit(reset_page_url)
    folder = parts.path.rstrip("/").rpartition("/")[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{folder}/{HELP_ARTICLE_PATH}", "", ""))


@dataclass(frozen=True)
class PasswordSettings:
    """What only the functions that set a password read (ConfirmResetFunction, SessionsFunction):
    their handlers read it at import, so a missing variable fails their cold start."""

    # The k-anonymity range API that knows passwords from breaches (pwreset.credentials.breached);
    # None (set but empty): no such check.
    breached_password_range_url: OffWhenEmpty


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete: raised at cold start, before any request."""


def _required(env: Mapping[str, str], missing: list[str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        missing.append(name)
    return value


def _number(env: Mapping[str, str], missing: list[str], name: str, default: int | None = None) -> int:
    """A whole number from ``name``; ``default`` only for knobs the template does not set (they are
    documented with their defaults in docs/configuration.md)."""
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            missing.append(name)
            return 0
        return default
    try:
        return int(raw)
    except ValueError:
        missing.append(f"{name} (not a whole number: {raw[:20]!r})")
        return 0


def _flag(env: Mapping[str, str], missing: list[str], name: str, default: bool | None = None) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw and default is not None:
        return default
    if raw not in ("true", "false"):
        missing.append(f"{name} (true or false)")
    return raw == "true"


def _read(env: Mapping[str, str], missing: list[str], setting: str, kind: Any) -> Any:
    """The variable of ``setting`` read as a value of type ``kind`` (see the module's docstring)."""
    name = setting.upper()
    if kind is bool:
        default = KNOB_DEFAULTS.get(setting)
        return _flag(env, missing, name, None if default is None else bool(default))
    if kind is int:
        return _number(env, missing, name, KNOB_DEFAULTS.get(setting))
    if kind == str | None:
        return env.get(name) or None
    if kind == OffWhenEmpty:
        if name not in env:
            missing.append(f"{name} (empty to turn it off)")
        return env.get(name, "").strip() or None
    if kind == tuple[str, ...]:
        return tuple(part.strip() for part in _required(env, missing, name).split(",") if part.strip())
    return _required(env, missing, name)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Settings from ``env``. Everything ``template.yaml`` sets is required: a missing table name,
    URL or limit is a :class:`ConfigurationError` naming every missing variable, never a silent
    default that would point a function at the wrong table or page."""
    missing: list[str] = []
    # Lambda sets AWS_REGION; the local stack and the tests set it or AWS_DEFAULT_REGION.
    values: dict[str, Any] = {
        "aws_region": env.get("AWS_REGION") or _required(env, missing, "AWS_DEFAULT_REGION")
    }
    loaded = _read_fields(Settings, env, missing, values)
    if not loaded.reset_page_url and not loaded.reset_page_url_parameter:
        missing.append("RESET_PAGE_URL (or RESET_PAGE_URL_PARAMETER, where the stack publishes it)")
    return _complete(loaded, missing)


def load_password_settings(env: Mapping[str, str]) -> PasswordSettings:
    """:class:`PasswordSettings` from ``env``, as strict as :func:`load_settings`."""
    missing: list[str] = []
    return _complete(_read_fields(PasswordSettings, env, missing, {}), missing)


def _read_fields[S: DataclassInstance](
    kind: type[S], env: Mapping[str, str], missing: list[str], values: dict[str, Any]
) -> S:
    """The dataclass ``kind`` with every field not in ``values`` read from ``env``; what is
    missing or invalid goes into ``missing``."""
    kinds = get_type_hints(kind, include_extras=True)
    for setting in fields(kind):
        if setting.name not in values:
            values[setting.name] = _read(env, missing, setting.name, kinds[setting.name])
    return kind(**values)


def _complete[S](loaded: S, missing: list[str]) -> S:
    """``loaded``, or a :class:`ConfigurationError` naming every variable in ``missing``."""
    if missing:
        raise ConfigurationError(
            "missing or invalid environment variables (template.yaml sets them): " + ", ".join(missing)
        )
    return loaded


@cache
def settings() -> Settings:
    """The process's settings, read once (the first call is at import, i.e. at cold start)."""
    return load_settings(os.environ)


@cache
def password_settings() -> PasswordSettings:
    """The password-setting functions' own settings, read once (their handlers call this at import)."""
    return load_password_settings(os.environ)
