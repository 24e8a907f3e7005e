"""Request and response bodies of the HTTP contract, as pydantic models (powertools validates
them and they feed the OpenAPI document). Lengths are capped generously: a cap here is a 400, not a
policy rule; the password policy's own maximum is reported as a 422 violation.

This module holds what the functions share (field types, the error shape, the documented
responses, the security schemes); each function's own bodies and answers are in a module of its
own (``resets``, ``confirm``, ``sessions``, ``provisioning``, ``delivery``), so a cold start
defines only the models its routes use."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, field_validator

from pwreset.api.powertools import Path
from pwreset.core.i18n import SUPPORTED_LOCALES
from pwreset.mail.addresses import normalise_email

# The document says what is accepted (issue #28): an address whose domain is no special-use name
# (email-validator's refusal, pwreset.mail.addresses.SPECIAL_USE_TLDS).
_DELIVERABLE_ADDRESS = (
    r"^[^@\s\x00]+@[^@\s\x00]+\.(?!(?:arpa|invalid|local|localhost|onion|test)$)[^@\s.\x00]+$"
)
Email = Annotated[
    StrictStr,
    Field(
        min_length=3,
        max_length=320,
        json_schema_extra={"format": "email", "pattern": _DELIVERABLE_ADDRESS},
    ),
    AfterValidator(normalise_email),
]
# A link's token: 32 random bytes, URL-safe base64 (pwreset.credentials.tokens). Any other string
# of up to 512 characters is taken and answered 404 token_invalid, as an unknown token is (a link
# a mail program broke is the same mistake to the page), so the document names the one shape
# that can ever be valid.
TOKEN_DOCUMENTED = {
    "pattern": "^[A-Za-z0-9_-]{43}$",
    "minLength": 43,
    "maxLength": 43,
    "description": "The token from the link (43 URL-safe characters); any other string is 404 token_invalid",
}
Token = Annotated[StrictStr, Field(min_length=1, max_length=512, json_schema_extra=TOKEN_DOCUMENTED)]
Password = Annotated[StrictStr, Field(min_length=1, max_length=1024)]
# NUL or a lone surrogate: never part of a legitimate value (checked in every field and path id).
UNPRINTABLE = re.compile("[\x00\ud800-\udfff]")
# The languages of the catalogs (pwreset.core.i18n): a language added there is one the API accepts.
if TYPE_CHECKING:
    Locale = str
else:
    Locale = Literal[SUPPORTED_LOCALES]
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


@cache
def documented_time_zones() -> list[str]:
    """The IANA names the layer's tzdata ships: every one is accepted (the document lists them)."""
    # deferred: only the OpenAPI document needs the list, never a request
    from importlib.resources import files

    return sorted(files("tzdata").joinpath("zones").read_text(encoding="utf-8").split())


TimeZone = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=64,
        json_schema_extra=lambda schema: schema.update(enum=documented_time_zones()),
    ),
    AfterValidator(_time_zone),
]


# What the document says of every free-text field of a request: no NUL (the validator of Body
# below refuses it, and lone surrogates, which valid JSON text cannot carry anyway).
PRINTABLE_PATTERN = r"^[^\x00]*$"


def _document_printable(schema: dict[str, Any]) -> None:
    """Give every free-text string field (no pattern, enum or constant of its own) the pattern."""
    for field in schema.get("properties", {}).values():
        for option in [field, *field.get("anyOf", [])]:
            free = not {"pattern", "enum", "const"} & set(option)
            if option.get("type") == "string" and free:
                option["pattern"] = PRINTABLE_PATTERN


# ``defer_build``: a model's validator is built when first used, not when its module is imported
# (the response models only feed the OpenAPI document; SnapStart builds the request models' before
# the snapshot, see pwreset.api.warm_up).
class Body(BaseModel):
    model_config = ConfigDict(
        extra="ignore", frozen=True, defer_build=True, json_schema_extra=_document_printable
    )

    @field_validator("*", mode="after")
    @classmethod
    def _printable_text(cls, value: Any) -> Any:
        """No NUL and no lone surrogate in any string field of any request: neither is ever a
        legitimate value, a surrogate cannot be stored or mailed as UTF-8, and a NUL ends strings
        early elsewhere. A 400 naming the field, before anything is read or written."""
        if isinstance(value, str) and UNPRINTABLE.search(value):
            raise ValueError("NUL characters and lone surrogates are not allowed")
        return value


# ------------------------------------------------------------------ responses (for the OpenAPI document)


class Out(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


class ErrorDetail(Out):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error: ``{"error": {"code", "message", ...}}`` (violations, fields or diagnosis may
    accompany particular codes)."""

    model_config = ConfigDict(defer_build=True)

    error: ErrorDetail


class SessionOut(Out):
    token: str
    expires_at: str


# Staff and session routes: a bearer token or the portal_session cookie (see the authorizer).
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"session_cookie": []}]
# Provisioning routes: API Gateway's AWS_IAM authorization (SigV4 for execute-api).
SIGV4: list[dict[str, list[str]]] = [{"sigv4": []}]
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "session_cookie": {"type": "apiKey", "in": "cookie", "name": "portal_session"},
    # API Gateway's own way to say SigV4 in OpenAPI: generated clients then sign (the header
    # alone is not enough: every request is signed over its method, path, headers and body).
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "x-amazon-apigateway-authtype": "awsSigv4",
        "description": "AWS Signature Version 4 for the service execute-api, signed for the API "
        "stage's own host (API Gateway AWS_IAM authorization): the CRM's role (see the stack's "
        "ProvisioningCallerRole, ProvisioningCallerRoleArn and ProvisioningInvokePolicy). An "
        "unsigned or wrongly signed call is API Gateway's own 403.",
    },
}


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


def created_or_updated(model: type[BaseModel], *errors: int) -> dict[int, Any]:
    """A PUT's documented responses: 201 when it created the item, 200 when it updated it (or
    found it unchanged), both with the same body, and the contract's errors."""
    return {**responses(201, model, "Created", *errors), **responses(200, model, "Updated (or unchanged)")}


def error_responses(*codes: int) -> dict[int, Any]:
    return {
        code: {"description": _ERROR_TEXT[code], "content": {"application/json": {"model": ErrorBody}}}
        for code in codes
    }
