"""Settings read once from the environment that ``template.yaml`` sets for every function.

One frozen object, built lazily and cached, so a handler's cold start pays for it once and tests
can rebuild it (``settings.cache_clear()``) after changing the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


@dataclass(frozen=True)
class Settings:
    accounts_table: str
    firms_table: str
    reset_tokens_table: str
    sessions_table: str
    events_table: str
    delivery_events_table: str
    sns_messages_table: str
    sender_address: str
    ses_configuration_set: str | None
    portal_url: str
    reset_page_url: str
    staff_link_lifetime_seconds: int
    self_service_link_lifetime_seconds: int
    session_lifetime_seconds: int
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
    # "rule=limit/window_seconds,..." (see pwreset.ratelimit); empty = the defaults there.
    rate_limits: str
    # Self-service answers never come faster than this, so a known address (which costs a mail)
    # cannot be told from an unknown one by timing.
    self_service_floor_ms: int
    # Where the notification function records which mails it has sent (powertools idempotency).
    idempotency_table: str
    # A MaxMind-format (.mmdb) city or country database; None = locate by CloudFront headers only.
    geoip_database_path: str | None
    # The one SNS topic whose messages the SES webhook accepts (the configuration set's events).
    ses_events_topic_arn: str | None
    # LOCAL ONLY: a PEM certificate the webhook trusts instead of fetching SNS's signing
    # certificate, so the local stack can sign SNS messages itself. The template never sets it.
    sns_trusted_cert_pem_path: str | None


@cache
def settings() -> Settings:
    env = os.environ.get
    return Settings(
        accounts_table=env("ACCOUNTS_TABLE", "accounts"),
        firms_table=env("FIRMS_TABLE", "firms"),
        reset_tokens_table=env("RESET_TOKENS_TABLE", "reset-tokens"),
        sessions_table=env("SESSIONS_TABLE", "sessions"),
        events_table=env("EVENTS_TABLE", "events"),
        delivery_events_table=env("DELIVERY_EVENTS_TABLE", "delivery-events"),
        sns_messages_table=env("SNS_MESSAGES_TABLE", "sns-messages"),
        sender_address=env("SENDER_ADDRESS", "no-reply@portal.example.com"),
        ses_configuration_set=env("SES_CONFIGURATION_SET") or None,
        portal_url=env("PORTAL_URL", "https://portal.example.com/"),
        reset_page_url=env("RESET_PAGE_URL", "https://portal.example.com/reset"),
        staff_link_lifetime_seconds=_int("STAFF_LINK_LIFETIME_SECONDS", 24 * 3600),
        self_service_link_lifetime_seconds=_int("SELF_SERVICE_LINK_LIFETIME_SECONDS", 3600),
        session_lifetime_seconds=_int("SESSION_LIFETIME_SECONDS", 8 * 3600),
        password_min_length=_int("PASSWORD_MIN_LENGTH", 12),
        password_max_length=_int("PASSWORD_MAX_LENGTH", 128),
        argon2_time_cost=_int("ARGON2_TIME_COST", 2),
        argon2_memory_kib=_int("ARGON2_MEMORY_KIB", 19456),
        argon2_parallelism=_int("ARGON2_PARALLELISM", 1),
        reset_retention_seconds=_int("RESET_RETENTION_SECONDS", 90 * 24 * 3600),
        allowed_origins=tuple(
            o.strip() for o in env("ALLOWED_ORIGINS", "https://portal.example.com").split(",") if o.strip()
        ),
        rate_limits_table=env("RATE_LIMITS_TABLE", "rate-limits"),
        rate_limits=env("RATE_LIMITS", ""),
        self_service_floor_ms=_int("SELF_SERVICE_FLOOR_MS", 400),
        idempotency_table=env("IDEMPOTENCY_TABLE", "idempotency"),
        geoip_database_path=env("GEOIP_DATABASE_PATH") or None,
        ses_events_topic_arn=env("SES_EVENTS_TOPIC_ARN") or None,
        sns_trusted_cert_pem_path=env("SNS_TRUSTED_CERT_PEM_PATH") or None,
    )
