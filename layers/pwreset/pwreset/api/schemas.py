"""Request and response bodies of the HTTP contract, as pydantic models (powertools validates
them and they feed the OpenAPI document). Lengths are capped generously: a cap here is a 400, not a
policy rule; the password policy's own maximum is reported as a 422 violation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from pwreset.mail.addresses import normalise_email

Email = Annotated[
    StrictStr,
    Field(min_length=3, max_length=320, json_schema_extra={"format": "email"}),
    AfterValidator(normalise_email),
]
Token = Annotated[StrictStr, Field(min_length=1, max_length=512)]
Password = Annotated[StrictStr, Field(min_length=1, max_length=1024)]


# ``defer_build``: a model's validator is built when first used, not when this module is imported
# (every function imports it, and each uses one or two of these models; the response models only
# feed the OpenAPI document).
class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class SelfServiceResetBody(_Body):
    email: Email
    locale: Literal["de", "en"] | None = None


class VerifyBody(_Body):
    token: Token


class ConfirmBody(_Body):
    token: Token
    password: Password


class SignInBody(_Body):
    # Not normalised by the model: a malformed address must fail like a wrong password (401).
    email: Annotated[StrictStr, Field(min_length=1, max_length=320, json_schema_extra={"format": "email"})]
    password: Password


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
    email_hint: str
    expires_at: str
    locale: Literal["de", "en"]
    policy: PolicyDescription


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


# Staff and session routes: a bearer token or the portal_session cookie (see the authorizer).
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"session_cookie": []}]
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "session_cookie": {"type": "apiKey", "in": "cookie", "name": "portal_session"},
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
    deliveries: list[Delivery]


_ERROR_TEXT = {
    400: "Invalid request",
    401: "Not signed in, or the session is no longer valid",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    410: "Gone",
    422: "Rejected",
    429: "Too many requests (see Retry-After)",
    502: "Upstream failure",
    503: "Temporarily unable to act; SNS retries",
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
