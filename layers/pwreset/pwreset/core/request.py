"""The request facts the domain sees: the request itself (:class:`RequestMeta`) and the signed-in
caller (:class:`Principal`), free of API Gateway event shapes (``pwreset.api.resolver`` builds them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class RequestMeta:
    """Facts about the HTTP request recorded with a change (shown to the firm afterwards)."""

    source_ip: str = "unknown"  # from API Gateway's identity, never from X-Forwarded-For
    user_agent: str = ""
    request_id: str = ""
    locale: str = "en"  # negotiated from Accept-Language
    country: str | None = None  # CloudFront-Viewer-Country (ISO code)
    country_name: str | None = None
    region: str | None = None
    city: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_detail(self) -> dict[str, str]:
        detail = {
            "source_ip": self.source_ip,
            "user_agent": self.user_agent[:512],
            "request_id": self.request_id,
        }
        for key in ("country", "country_name", "region", "city"):
            value = getattr(self, key)
            if value:
                detail[key] = value[:128]
        return detail


@dataclass(frozen=True)
class Principal:
    """The signed-in caller, as the authorizer resolved it: the account the session acts as (its
    firm and role are the caller's rights), and the login (address) the session belongs to."""

    account_id: str
    firm_id: str
    role: str
    name: str = ""
    locale: str = "en"
    session_hash: str = ""
    email: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in ("owner", "member")
