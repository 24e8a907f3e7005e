"""The HTTP adapter every API function shares: builds the powertools resolver, turns API Gateway
request facts into domain objects, and maps every error to the contract's one error shape in one
place. Domain modules never see an API Gateway event."""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import traceback
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from pwreset.api.schemas import UNPRINTABLE
from pwreset.core import errors
from pwreset.core.config import settings
from pwreset.core.i18n import error_message, negotiate_locale
from pwreset.core.observability import logger, mask_email, metrics, observed_handler
from pwreset.core.request import Principal, RequestMeta
from pwreset.core.transient import cancellation_codes, is_transient

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext

# The __Host- prefix makes browsers accept the cookie only when it is Secure, has Path=/ and no
# Domain, and was set by this very host over a secure connection: a sibling subdomain or a
# plain-http page cannot plant one (RFC 6265bis, "Cookie Name Prefixes").
SESSION_COOKIE = "__Host-portal_session"
# Nothing this API serves may be cached by a browser or proxy.
_NO_STORE = {"Cache-Control": "no-store"}


MAX_BODY_BYTES = 16 * 1024
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The header a script may set to prove it is one, where it has no JSON body to declare.
SCRIPT_HEADER = "x-requested-with"


class PortalResolver(APIGatewayRestResolver):
    """The powertools resolver with a gate in front, refusing before any parsing:

    * bodies over the limit (16 KiB; the SNS webhook's is larger) or not UTF-8;
    * on JSON routes, an unsafe request whose content is declared as anything but JSON, with or
      without a body: a form or text/plain POST is what a cross-site request forgery sends;
    * on JSON routes, an unsafe request authenticated by the session cookie alone that does not
      prove it comes from script (a JSON content type or an ``X-Requested-With`` header, neither
      of which a form can produce). A bearer token is never sent by a browser on its own.
    """

    def __init__(self, *, json_only: bool = True, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        origins = settings().allowed_origins or ("https://portal.example.com",)
        cors = CORSConfig(
            allow_origin=origins[0],
            extra_origins=list(origins[1:]),
            allow_headers=["Content-Type", "Authorization", "X-Requested-With"],
            allow_credentials=True,
            max_age=600,
        )
        super().__init__(enable_validation=True, cors=cors)
        self.json_only = json_only
        self.max_body_bytes = max_body_bytes

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        refusal = self._refusal(event)
        if refusal:
            headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
            locale = negotiate_locale(headers.get("accept-language"))
            error = {"code": "invalid_request", "message": error_message("invalid_request", locale)}
            logger.info("request refused", extra={"reason": refusal})
            return {
                "statusCode": 400,
                "multiValueHeaders": {"Content-Type": ["application/json"], "Cache-Control": ["no-store"]},
                "body": json.dumps({"error": error}, ensure_ascii=False),
                "isBase64Encoded": False,
            }
        return super().resolve(event, context)

    def _refusal(self, event: Mapping[str, Any]) -> str | None:
        if any(UNPRINTABLE.search(str(v)) for v in (event.get("pathParameters") or {}).values()):
            return "unprintable_path_parameter"
        body = event.get("body")
        if body:
            problem = self._body_problem(body, bool(event.get("isBase64Encoded")))
            if problem:
                return problem
        if not self.json_only:
            return None
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        media_type = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        declared_json = media_type == "application/json" or media_type.endswith("+json")
        if body and not declared_json:
            return "not_json"
        if str(event.get("httpMethod") or "").upper() not in UNSAFE_METHODS:
            return None
        if media_type and not declared_json:
            return "not_json"  # an empty form or text/plain post
        cookie_only = "authorization" not in headers and bool(session_cookie_values(event))
        if cookie_only and not declared_json and not headers.get(SCRIPT_HEADER):
            return "cookie_without_script_proof"
        return None

    def _body_problem(self, body: str, base64_encoded: bool) -> str | None:
        if len(body) > self.max_body_bytes * 4 // 3 + 4:
            return "body_too_large"
        raw: bytes
        if base64_encoded:
            try:
                raw = base64.b64decode(body, validate=True)
            except ValueError:
                return "bad_base64"
        else:
            raw = body.encode("utf-8", "surrogatepass")
        if len(raw) > self.max_body_bytes:
            return "body_too_large"
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return "not_utf8"
        return None


def create_app(*, json_only: bool = True, max_body_bytes: int = MAX_BODY_BYTES) -> APIGatewayRestResolver:
    app = PortalResolver(json_only=json_only, max_body_bytes=max_body_bytes)

    @app.exception_handler(errors.DomainError)
    def _domain_error(exc: errors.DomainError) -> Response:
        locale = exc.locale or request_locale(app)
        return error_response(
            exc.status, exc.code, locale, exc.extra, exc.headers, message_key=exc.message_key
        )

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        # Each invalid field by its path in the body ("brand.color"); "field" names the first.
        named = [field_path(err.get("loc") or ()) for err in exc.errors()]
        named = [name for name in dict.fromkeys(named) if name]
        logger.info("invalid request", extra={"fields": sorted(named)})
        extra: dict[str, Any] = {"field": named[0], "fields": sorted(named)} if named else {}
        return error_response(400, "invalid_request", request_locale(app), extra)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return error_response(404, "not_found", request_locale(app))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if is_transient(exc):
            # Throttling, an AWS 5xx or a conflicting transaction that outlasted botocore's retries:
            # nothing was decided, so the caller is told to try again, not that something failed.
            logger.warning("aws unavailable", extra={"error": type(exc).__name__, "cause": _cause_code(exc)})
            metrics.add_metric(name="TransientAwsFailure", unit="Count", value=1)
            return error_response(
                503, "internal_error", request_locale(app), headers={"Retry-After": str(RETRY_AFTER_S)}
            )
        # Logged with its traceback for operators; the caller sees the contract shape, no trace.
        # An exception's message may quote its input (an f-string, pydantic's input_value=...), so
        # every secret the request carried is replaced in the trace before it is logged.
        trace = "".join(traceback.format_exception(exc))
        for secret, shown in request_secrets(app).items():
            trace = trace.replace(secret, shown)
        logger.error("unhandled error", extra={"exception_name": type(exc).__name__, "traceback": trace})
        return error_response(500, "internal_error", request_locale(app))

    return app


# Where pydantic says an invalid value sits: the request part comes first.
_REQUEST_PARTS = frozenset({"body", "path", "query", "header", "cookie"})


def field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "brand", "color")`` -> ``"brand.color"``: the field as the request names it."""
    parts = [str(part) for part in location]
    if parts and parts[0] in _REQUEST_PARTS:
        parts = parts[1:]
    return ".".join(parts)


def api_handler(
    app: APIGatewayRestResolver, *, with_metrics: bool = True
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """An API function's entry point: ``app`` resolves each event, observed as every function is
    (:func:`pwreset.core.observability.observed_handler`), with API Gateway's request id as the
    correlation id of its log lines."""

    @observed_handler(correlation_id_path=correlation_paths.API_GATEWAY_REST, with_metrics=with_metrics)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_handler


# How long a caller should wait after a transient AWS failure (botocore already retried).
RETRY_AFTER_S = 2


def _cause_code(exc: BaseException) -> str:
    codes = cancellation_codes(exc) or cancellation_codes(getattr(exc, "cause", None) or exc)
    if codes:
        return ",".join(code or "None" for code in codes)
    response = getattr(getattr(exc, "cause", None), "response", None) or getattr(exc, "response", None)
    return str(((response or {}).get("Error") or {}).get("Code") or "")


# Request body fields whose values are secrets; an address is shown masked instead.
_SECRET_FIELDS = frozenset({"password", "current_password", "new_password", "token"})
_SHORTEST_SECRET = 4  # shorter values would replace ordinary words in a trace


def request_secrets(app: APIGatewayRestResolver) -> dict[str, str]:
    """Each secret the current request carries (its body's passwords, tokens and addresses, its
    bearer token, its session cookie) and what a log may show instead."""
    found: dict[str, str] = {}
    event = app.current_event

    def walk(value: Any, key: str | None = None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and len(value) >= _SHORTEST_SECRET:
            if key in _SECRET_FIELDS:
                found[value] = "[redacted]"
            elif key == "email":
                found[value] = mask_email(value)

    with contextlib.suppress(ValueError, RecursionError):  # not JSON: refused before any handler
        walk(json.loads(event.body or "null"))
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    scheme, _, credential = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and credential:
        found[credential.strip()] = "[redacted]"
    for value in session_cookie_values(event.raw_event):
        if value:
            found[value] = "[redacted]"
    return found


def session_cookie_values(event: Mapping[str, Any]) -> list[str]:
    """Every value of the session cookie an API Gateway event carries, in every ``Cookie`` header
    (``multiValueHeaders`` keeps each line; ``headers`` only the last), empty values included."""
    lines: list[str] = []
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == "cookie":
            lines += [str(v) for v in values or ()]
    if not lines:
        lines = [str(v) for k, v in (event.get("headers") or {}).items() if k.lower() == "cookie"]
    found = []
    for line in lines:
        for pair in line.split(";"):
            name, sep, value = pair.partition("=")
            if sep and name.strip() == SESSION_COOKIE:
                found.append(value.strip())
    return found


def session_cookie_token(event: Mapping[str, Any]) -> str | None:
    """The session token of the cookie, believed only when the request carries exactly one cookie
    of that name: a second one means someone planted a cookie beside the holder's (or the holder's
    beside theirs), and either could be the one a server picks, so neither is taken."""
    values = session_cookie_values(event)
    if len(values) > 1:
        logger.info("several session cookies, none believed", extra={"cookies": len(values)})
        metrics.add_metric(name="SessionCookieAmbiguous", unit="Count", value=1)
        return None
    return values[0] if values and values[0] else None


def error_response(
    status: int,
    code: str,
    locale: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    *,
    message_key: str | None = None,
) -> Response:
    error: dict[str, Any] = {"code": code, "message": error_message(message_key or code, locale)}
    error.update(extra or {})
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": error}, ensure_ascii=False),
        headers={**_NO_STORE, **(headers or {})},
    )


def json_response(status: int, body: Any, cookies: list[Cookie] | None = None) -> Response:
    """JSON, or (``body`` None, as for 204) no body and no content type at all."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON if body is not None else None,
        body=body,
        headers=dict(_NO_STORE),
        cookies=cookies,
    )


def session_cookie(raw: str, *, max_age: int) -> Cookie:
    return Cookie(
        name=SESSION_COOKIE,
        value=raw,
        path="/",
        secure=True,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=max_age,
    )


def cleared_session_cookie() -> Cookie:
    return Cookie(
        name=SESSION_COOKIE,
        value="",
        path="/",
        secure=True,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=0,
    )


def request_locale(app: APIGatewayRestResolver) -> str:
    return negotiate_locale(app.current_event.headers.get("accept-language"))


def request_meta(app: APIGatewayRestResolver) -> RequestMeta:
    """The request's facts. The client is API Gateway's ``sourceIp`` (a client-supplied
    X-Forwarded-For is never believed), unless the request carries the origin secret of the stack's
    own CloudFront: only then are CloudFront's viewer address and location believed, since anyone
    can send those headers to the API directly."""
    event = app.current_event
    headers = event.headers  # case-insensitive in powertools
    identity = event.request_context.identity
    meta = RequestMeta(
        source_ip=identity.source_ip or "unknown",
        user_agent=headers.get("user-agent") or "",
        request_id=event.request_context.request_id or "",
        locale=negotiate_locale(headers.get("accept-language")),
    )
    presented = headers.get("x-origin-verify")
    if not presented:
        return meta
    # Only a request through the stack's CloudFront carries the header; the check reads Secrets
    # Manager through powertools' parameters, which import boto3.
    # deferred: only requests through CloudFront pay for it
    from pwreset.api.origin_verify import from_own_cloudfront

    if not from_own_cloudfront(presented):
        return meta
    return replace(
        meta,
        source_ip=viewer_ip(headers.get("cloudfront-viewer-address")) or meta.source_ip,
        country=headers.get("cloudfront-viewer-country"),
        country_name=headers.get("cloudfront-viewer-country-name"),
        region=headers.get("cloudfront-viewer-country-region-name"),
        city=headers.get("cloudfront-viewer-city"),
    )


def viewer_ip(address: str | None) -> str | None:
    """``CloudFront-Viewer-Address`` is ``ip:port`` (an IPv6 address has colons of its own)."""
    ip, sep, port = (address or "").strip().rpartition(":")
    if not sep or not port.isdigit() or not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip.strip("[]")))
    except ValueError:
        return None


def principal(app: APIGatewayRestResolver) -> Principal:
    """The caller as the authorizer resolved it; API Gateway only invokes us after it allowed."""
    context = app.current_event.request_context.authorizer.get_context() or {}
    account_id = context.get("account_id")
    if not account_id:
        raise errors.Unauthorized(locale=request_locale(app))
    return Principal(
        account_id=str(account_id),
        firm_id=str(context.get("firm_id", "")),
        role=str(context.get("role", "")),
        name=str(context.get("name", "")),
        locale=str(context.get("locale") or request_locale(app)),
        session_hash=str(context.get("session_hash", "")),
        email=str(context.get("email", "")),
    )


def iam_caller(app: APIGatewayRestResolver) -> str:
    """Who signed a provisioning request, as API Gateway's AWS_IAM authorization names them (the
    caller's IAM ARN); API Gateway only invokes us after the signature and the policy allowed it."""
    identity = app.current_event.request_context.identity
    return str(identity.user_arn or identity.caller or "unknown")[:256]
