"""Request and response bodies of the HTTP contract, as pydantic models (powertools validates
them and they feed the OpenAPI document). Lengths are capped generously: a cap here is a 400, not a
policy rule; the password policy's own maximum is reported as a 422 violation."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from pwreset.mail.addresses import normalise_email

Email = Annotated[
    StrictStr,
    Field(min_length=3, max_length=320, json_schema_extra={"format": "email"}),
    AfterValidator(normalise_email),
]
Token = Annotated[StrictStr, Field(min_length=1, max_length=512)]
Password = Annotated[StrictStr, Field(min_length=1, max_length=1024)]
# NUL or a lone surrogate: never part of a legitimate value (checked in every field and path id).
UNPRINTABLE = re.compile("[\x00\ud800-\udfff]")
Locale = Literal["de", "en"]
# Ids the CRM gives firms and accounts (path parameters and firm_id in bodies).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
Id = Annotated[StrictStr, Field(pattern=ID_PATTERN)]
# The same ids in a path: a malformed one (a NUL, a space, too long) is a 400 before any read.
AccountIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="The account's id")]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200), AfterValidator(str.strip)]


@cache
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _time_zone(name: str) -> str:
    if not _known_zone(name):
        raise ValueError("not an IANA time zone name, e.g. Europe/Berlin")
    return name


TimeZone = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_time_zone)]


# ``defer_build``: a model's validator is built when first used, not when this module is imported
# (every function imports it, and each uses one or two of these models; the response models only
# feed the OpenAPI document).
class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    @field_validator("*", mode="after")
    @classmethod
    def _printable_text(cls, value: Any) -> Any:
        """No NUL and no lone surrogate in any string field of any request: neither is ever a
        legitimate value, a surrogate cannot be stored or mailed as UTF-8, and a NUL ends strings
        early elsewhere. A 400 naming the field, before anything is read or written."""
        if isinstance(value, str) and UNPRINTABLE.search(value):
            raise ValueError("NUL characters and lone surrogates are not allowed")
        return value


class SelfServiceResetBody(_Body):
    email: Email
    locale: Literal["de", "en"] | None = None


class VerifyBody(_Body):
    token: Token


class ConfirmBody(_Body):
    token: Token
    password: Password


class LockBody(_Body):
    token: Token


class SignInBody(_Body):
    # Not normalised by the model: a malformed address must fail like a wrong password (401).
    email: Annotated[StrictStr, Field(min_length=1, max_length=320, json_schema_extra={"format": "email"})]
    password: Password


class ChangePasswordBody(_Body):
    current_password: Password
    new_password: Password


class FirmBody(_Body):
    name: Name
    locale: Locale | None = None
    time_zone: TimeZone | None = None


class AccountBody(_Body):
    firm_id: Id
    role: Literal["owner", "member", "client"]
    email: Email
    name: Name
    locale: Locale | None = None
    time_zone: TimeZone | None = None
    status: Literal["active", "archived"] | None = None
    send_invitation: StrictBool = False


# ------------------------------------------------------------------ responses (for the OpenAPI document)


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


class ErrorDetail(_Out):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error: ``{"error": {"code", "message", ...}}`` (violations, fields or diagnosis may
    accompany particular codes)."""

    model_config = ConfigDict(defer_build=True)

    error: ErrorDetail


class Accepted(_Out):
    status: Literal["accepted"]


class StaffResetSent(_Out):
    reset_id: str
    sent_to: str
    expires_at: str


class PolicyRule(_Out):
    rule: str
    message: str


class PolicyDescription(_Out):
    min_length: int
    max_length: int
    rules: list[PolicyRule]


class Verified(_Out):
    valid: Literal[True]
    purpose: Literal["reset", "invitation"]
    email_hint: str
    expires_at: str
    locale: Literal["de", "en"]
    policy: PolicyDescription


class Locked(_Out):
    status: Literal["locked"]


class SessionOut(_Out):
    token: str
    expires_at: str


class Confirmed(_Out):
    redirect_url: str
    session: SessionOut


class AccountOut(_Out):
    account_id: str
    firm_id: str
    role: Literal["owner", "member", "client"]
    name: str
    email: str
    locale: Literal["de", "en"]


class SignedIn(_Out):
    session: SessionOut
    account: AccountOut


class CurrentAccount(_Out):
    account: AccountOut


class SessionReplaced(_Out):
    session: SessionOut


class InvitationSent(_Out):
    invitation_id: str
    sent_to: str
    expires_at: str


class FirmOut(_Out):
    firm_id: str
    name: str
    locale: Locale
    time_zone: str


class FirmProvisioned(_Out):
    firm: FirmOut


class ProvisionedAccountOut(_Out):
    account_id: str
    firm_id: str
    role: Literal["owner", "member", "client"]
    email: str
    name: str
    locale: Locale
    time_zone: str
    status: Literal["active", "archived", "locked"]
    has_password: bool
    email_status: Literal["ok", "undeliverable", "complained"]


class Revoked(_Out):
    links: int
    sessions: int


class InvitationOutcome(_Out):
    status: Literal["sent", "pending", "password_already_set", "not_sent", "send_failed"]
    invitation_id: str | None = None
    sent_to: str | None = None
    expires_at: str | None = None
    reason: str | None = None


class AccountProvisioned(_Out):
    account: ProvisionedAccountOut
    revoked: Revoked
    invitation: InvitationOutcome | None = None


class ProvisionedAccount(_Out):
    account: ProvisionedAccountOut


# Staff and session routes: a bearer token or the portal_session cookie (see the authorizer).
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"session_cookie": []}]
# Provisioning routes: API Gateway's AWS_IAM authorization (SigV4 for execute-api).
SIGV4: list[dict[str, list[str]]] = [{"sigv4": []}]
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "session_cookie": {"type": "apiKey", "in": "cookie", "name": "portal_session"},
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "AWS Signature Version 4 for the service execute-api (API Gateway AWS_IAM "
        "authorization); the caller needs execute-api:Invoke, see ProvisioningInvokePolicy",
    },
}


class WebhookOutcome(_Out):
    status: str


class Diagnosis(_Out):
    code: str
    summary: str
    advice: list[str]


class DeliveryEvent(_Out):
    type: str
    at: str
    detail: dict[str, Any]


class Requester(_Out):
    account_id: str
    name: str


class Delivery(_Out):
    reset_id: str
    requested_at: str
    requested_by: Requester | None
    status: Literal["sent", "delivered", "bounced", "complained", "suppressed", "delayed", "failed"]
    events: list[DeliveryEvent]
    diagnosis: Diagnosis | None


class Deliveries(_Out):
    email: str
    email_status: Literal["ok", "undeliverable", "complained"]
    account_status: Literal["active", "locked", "archived"]
    deliveries: list[Delivery]


_ERROR_TEXT = {
    400: "Invalid request",
    401: "Not signed in, or the session is no longer valid",
    403: "Forbidden (provisioning routes: not signed, a wrong signature, or no permission; sign-in: "
    "the right password for a locked account)",
    404: "Not found",
    409: "Conflict",
    410: "Gone",
    422: "Rejected",
    429: "Too many requests (see Retry-After)",
    502: "Upstream failure",
    503: "Temporarily unable to act; try again later (after Retry-After where given)",
}


def responses(status: int, model: type[BaseModel] | None, description: str, *errors: int) -> dict[int, Any]:
    """The route's documented responses: its success and the contract's errors, all in the one
    error shape."""
    content = {"content": {"application/json": {"model": model}}} if model else {}
    return {status: {"description": description, **content}, **error_responses(*errors)}


def error_responses(*codes: int) -> dict[int, Any]:
    return {
        code: {"description": _ERROR_TEXT[code], "content": {"application/json": {"model": ErrorBody}}}
        for code in codes
    }


# ------------------------------------------------------------------ additions for portals


class FirmClient(_Out):
    account_id: str
    name: str
    email: str
    status: Literal["active", "archived", "locked"]
    has_password: bool
    email_status: Literal["ok", "undeliverable", "complained"]


class FirmClients(_Out):
    """``GET /v1/accounts``: the clients of the caller's firm, sorted by name."""

    accounts: list[FirmClient]
