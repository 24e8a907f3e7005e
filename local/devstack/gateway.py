"""An API Gateway (REST, Lambda proxy) stand-in driven by ``template.yaml``.

Routes, methods and authorizers come from the template's ``Api`` events, so a route added there is
served with no second route table. Requests become real v1 proxy events; the template's REQUEST
authorizer runs first and its context reaches the function; gateway responses (401, 404, 413,
5xx) come from the template's ``GatewayResponses``; ``BinaryMediaTypes`` decide, as in API Gateway,
whether a base64 body from a function is decoded. Functions run in this process, through a
:class:`Runner` (one shared import per function in the tests, pools of execution environments in
``make dev``).

``devstack.server`` puts this behind a real HTTP socket for ``make dev``; the tests also call
:meth:`Gateway.handle` directly.
"""

from __future__ import annotations

import base64
import contextvars
import importlib.util
import json
import logging
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Protocol
from urllib.parse import parse_qsl

from devstack.sigv4 import KeyPair, Refusal, verify
from devstack.template import Route, SamTemplate

log = logging.getLogger("devstack.gateway")

# API Gateway's hard limit on a request payload (REST APIs): larger bodies get REQUEST_TOO_LARGE.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
REGION = "eu-central-1"
ACCOUNT_ID = "123456789012"
# What a route's ``Auth.Authorizer`` says when API Gateway checks SigV4 instead of a session.
IAM_AUTHORIZER = "AWS_IAM"


@dataclass
class HttpRequest:
    method: str
    path: str  # without the stage
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    query: str = ""
    source_ip: str = "127.0.0.1"  # the TCP peer, as API Gateway's ``identity.sourceIp``
    scheme: str = "https"
    port: int = 443


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class LambdaContext:
    """What handlers read from Lambda's context object."""

    def __init__(self, function_name: str, timeout_s: int = 10, memory_mb: int = 1024) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:eu-central-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Throttled(Exception):
    """Lambda refused an invocation: the function is at its ``ReservedConcurrentExecutions``
    (Lambda's ``TooManyRequestsException``, reason ``ReservedFunctionConcurrentInvocationLimitExceeded``)."""


class Runner(Protocol):
    """What the gateway and the event source pollers need from whatever runs the functions."""

    def invoke(self, logical_id: str, event: dict[str, Any], *, throttle: bool = False) -> Any:
        """Run the function's handler on ``event``. ``throttle``: the caller gives up when the
        function is at its reserved concurrency (raise :class:`Throttled`, as Lambda answers API
        Gateway) instead of waiting for a free environment (as an event source's retries do)."""
        ...

    def limit(self, logical_id: str) -> int | None:
        """The most invocations of the function that run at once (None: no limit)."""
        ...

    def module(self, logical_id: str) -> ModuleType:
        """The function's handler module, imported if need be (with a pool: the first
        environment's)."""
        ...


def load_handler_module(template: SamTemplate, logical_id: str, module_name: str) -> ModuleType:
    """Import the function's handler file as ``module_name``: the module's top level runs now (the
    cold start), and a second name gives a second, independent import of the same file."""
    file_name, _, _ = template.handler(logical_id).rpartition(".")
    path = template.function_dir(logical_id) / f"{file_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def run_handler(template: SamTemplate, logical_id: str, module: ModuleType, event: dict[str, Any]) -> Any:
    """Call the handler in ``module`` with a Lambda context, as the function ``logical_id``."""
    _, _, attr = template.handler(logical_id).rpartition(".")
    handler = getattr(module, attr)
    context = LambdaContext(logical_id, timeout_s=template.function_timeout(logical_id))
    # Lets tools see which function a call happens in (e.g. the IAM coverage test).
    marker = RUNNING_FUNCTION.set(logical_id)
    try:
        return handler(event, context)
    finally:
        RUNNING_FUNCTION.reset(marker)


class FunctionRunner:
    """Imports each function's ``app.py`` once (a cold start) and invokes its handler.

    Every invocation of a function runs in that one module, in the caller's thread, however many
    run at once: the in-process tests use this to provoke races in the data layer. ``make dev``
    runs functions as Lambda does instead, in pools of execution environments
    (:class:`devstack.pool.PooledRunner`).

    With ``serialize=True`` a function handles one event at a time, as one Lambda execution
    environment does. Without it, invocations at once may mix their requests up: powertools keeps
    the resolver's ``current_event`` on a class shared by every function (the pool keeps it per
    invocation, see :func:`devstack.pool.isolate_powertools_state`), so concurrent in-process
    calls only stay apart when they send the same request.
    """

    def __init__(self, template: SamTemplate, *, serialize: bool = False) -> None:
        self.template = template
        self.serialize = serialize
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()
        self._function_locks: dict[str, threading.Lock] = {}

    def module(self, logical_id: str) -> ModuleType:
        with self._lock:
            if logical_id not in self._modules:
                name = f"_fn_{logical_id}"
                self._modules[logical_id] = load_handler_module(self.template, logical_id, name)
                self._function_locks[logical_id] = threading.Lock()
            return self._modules[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any], *, throttle: bool = False) -> Any:
        module = self.module(logical_id)
        if not self.serialize:
            return run_handler(self.template, logical_id, module, event)
        with self._function_locks[logical_id]:
            return run_handler(self.template, logical_id, module, event)

    def limit(self, logical_id: str) -> int | None:
        return 1 if self.serialize else None


RUNNING_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "running_function", default=None
)


@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    names: tuple[str, ...]


def _compile(route: Route) -> _CompiledRoute:
    names: list[str] = []
    regex = ""
    for part in route.path.strip("/").split("/"):
        match = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", part)
        if match:
            names.append(match.group(1))
            regex += "/(.+)" if match.group(2) else "/([^/]+)"
        elif part:
            regex += "/" + re.escape(part)
    return _CompiledRoute(route=route, pattern=re.compile(f"^{regex or '/'}$"), names=tuple(names))


def _specificity(compiled: _CompiledRoute) -> tuple[int, int]:
    # API Gateway prefers a literal segment over a {param}, and a {param} over a {greedy+}.
    greedy = "+}" in compiled.route.path
    return (1 if greedy else 0, len(compiled.names))


class _Denied(Exception):
    def __init__(self, response_type: str, status: int) -> None:
        super().__init__(response_type)
        self.response_type = response_type
        self.status = status


class Gateway:
    def __init__(
        self,
        template: SamTemplate,
        runner: Runner | None = None,
        api_id: str = "local00000",
        *,
        iam_key: KeyPair | None = None,
    ) -> None:
        self.template = template
        # The one key pair AWS_IAM routes accept (local/demo_data.json -> provisioning); without
        # one, every AWS_IAM request is refused.
        self.iam_key = iam_key
        self.runner = runner or FunctionRunner(template)
        self.api_id = api_id
        self.stage = template.stage
        self.routes = sorted((_compile(r) for r in template.api_routes()), key=_specificity)
        self.gateway_responses = template.gateway_responses()
        self.binary_media_types = template.binary_media_types()

    # ------------------------------------------------------------------ matching
    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for compiled in self.routes:
            found = compiled.pattern.match(path)
            if found and compiled.route.method in (method, "ANY"):
                return compiled.route, dict(zip(compiled.names, found.groups(), strict=True))
        return None

    # ------------------------------------------------------------------ handling
    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        response = self._handle(request, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def _handle(self, request: HttpRequest, request_id: str) -> HttpResponse:
        if len(request.body) > MAX_REQUEST_BYTES:
            return self.gateway_response("REQUEST_TOO_LARGE", 413)
        matched = self.match(request.method.upper(), request.path)
        if matched is None:
            # API Gateway answers an unknown resource or method with MISSING_AUTHENTICATION_TOKEN.
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", 403)
        route, path_params = matched
        event = self.proxy_event(request, route, path_params, request_id=request_id)
        if route.authorizer == IAM_AUTHORIZER:
            refused = self.authorize_iam(request)
            if refused is not None:
                return self.gateway_response(refused.response_type, 403)
            event["requestContext"]["identity"].update(self.iam_identity())
        elif route.authorizer:
            try:
                event["requestContext"]["authorizer"] = self.authorize(route, event)
            except _Denied as denied:
                return self.gateway_response(denied.response_type, denied.status)
        try:
            result = self.runner.invoke(route.function, event, throttle=True)
        except Throttled:
            # Lambda answers API Gateway 429; a REST API's proxy integration turns that into a 500
            # "Internal server error" for the client, not a 429.
            log.warning("function throttled at its reserved concurrency", extra={"function": route.function})
            return self.gateway_response("INTEGRATION_FAILURE", 500)
        except Exception:  # a crashed function: API Gateway hides it behind a 502
            log.exception("function %s failed", route.function)
            return self.gateway_response("DEFAULT_5XX", 502)
        return self.proxy_response(result, accept=_header(request.headers, "accept"))

    def authorize_iam(self, request: HttpRequest) -> Refusal | None:
        """API Gateway's SigV4 check of an ``AWS_IAM`` route (see :mod:`devstack.sigv4`)."""
        if self.iam_key is None:
            return Refusal("MISSING_AUTHENTICATION_TOKEN", "no key pair configured")
        refused = verify(
            self.iam_key,
            method=request.method,
            host=_header(request.headers, "host") or "",
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=request.body,
        )
        if refused is not None:
            log.info("AWS_IAM request refused: %s", refused.reason)
        return refused

    def iam_identity(self) -> dict[str, Any]:
        """What API Gateway puts in ``requestContext.identity`` for a signed caller."""
        assert self.iam_key is not None
        return {
            "accessKey": self.iam_key.access_key_id,
            "accountId": ACCOUNT_ID,
            "caller": self.iam_key.access_key_id,
            "user": self.iam_key.access_key_id,
            "userArn": self.iam_key.user_arn,
        }

    def authorize(self, route: Route, proxy_event: dict[str, Any]) -> dict[str, Any]:
        """Run the route's REQUEST authorizer; return the context API Gateway hands the function.

        Raises ``_Denied`` with the gateway response API Gateway would send: a missing identity
        source or the authorizer's ``Unauthorized`` error -> UNAUTHORIZED, an explicit Deny ->
        ACCESS_DENIED, anything else -> AUTHORIZER_FAILURE (a 500).
        """
        assert route.authorizer
        function = self.template.authorizer_function(route.authorizer)
        identity = self.template.authorizer_identity(route.authorizer)
        headers = {k.lower() for k in proxy_event["headers"] or {}}
        queries = set(proxy_event["queryStringParameters"] or {})
        if any(h.lower() not in headers for h in identity.get("Headers") or []) or any(
            q not in queries for q in identity.get("QueryStrings") or []
        ):
            raise _Denied("UNAUTHORIZED", 401)
        ctx = proxy_event["requestContext"]
        event = {
            "type": "REQUEST",
            "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{self.stage}/"
            f"{route.method}{proxy_event['path']}",
            "resource": route.path,
            "path": proxy_event["path"],
            "httpMethod": route.method,
            "headers": proxy_event["headers"] or {},
            "multiValueHeaders": proxy_event["multiValueHeaders"] or {},
            "queryStringParameters": proxy_event["queryStringParameters"] or {},
            "multiValueQueryStringParameters": proxy_event["multiValueQueryStringParameters"] or {},
            "pathParameters": proxy_event["pathParameters"] or {},
            "stageVariables": {},
            "requestContext": {k: v for k, v in ctx.items() if k != "authorizer"},
        }
        try:
            result = self.runner.invoke(function, event, throttle=True)
        except Throttled as exc:
            log.warning("authorizer throttled at its reserved concurrency", extra={"function": function})
            raise _Denied("AUTHORIZER_FAILURE", 500) from exc
        except Exception as exc:
            if str(exc) == "Unauthorized":
                raise _Denied("UNAUTHORIZED", 401) from exc
            log.exception("authorizer %s failed", function)
            raise _Denied("AUTHORIZER_FAILURE", 500) from exc
        if not isinstance(result, dict) or "policyDocument" not in result:
            log.error("authorizer %s returned no policy document", function)
            raise _Denied("AUTHORIZER_CONFIGURATION_ERROR", 500)
        statements = (result.get("policyDocument") or {}).get("Statement") or []
        allowed = any(s.get("Effect") == "Allow" for s in statements) and not any(
            s.get("Effect") == "Deny" for s in statements
        )
        if not allowed:
            raise _Denied("ACCESS_DENIED", 403)
        context: dict[str, Any] = {}
        for key, value in (result.get("context") or {}).items():
            if isinstance(value, dict | list):
                log.error("authorizer %s context value %s is not a string, number or boolean", function, key)
                raise _Denied("AUTHORIZER_CONFIGURATION_ERROR", 500)
            # API Gateway hands context values to the function as strings.
            context[key] = str(value).lower() if isinstance(value, bool) else str(value)
        context["principalId"] = result.get("principalId")
        context["integrationLatency"] = 0
        return context

    def proxy_event(
        self,
        request: HttpRequest,
        route: Route,
        path_params: dict[str, str],
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        request_id = request_id or str(uuid.uuid4())
        # What API Gateway adds on its way in: the peer address appended to X-Forwarded-For, the
        # port and scheme the client used, a trace id.
        forwarded_for = _header(request.headers, "x-forwarded-for")
        extra = [
            (
                "X-Forwarded-For",
                f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip,
            ),
            ("X-Forwarded-Port", str(request.port)),
            ("X-Forwarded-Proto", request.scheme),
            ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"),
        ]
        replaced = {name.lower() for name, _ in extra}
        all_headers = [(k, v) for k, v in request.headers if k.lower() not in replaced] + extra
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for key, value in all_headers:
            multi.setdefault(key, []).append(value)
            headers[key] = value  # API Gateway keeps the last value in ``headers``
        query_pairs = parse_qsl(request.query, keep_blank_values=True)
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for key, value in query_pairs:
            multi_query.setdefault(key, []).append(value)
            query[key] = value
        body: str | None = None
        is_b64 = False
        if request.body:
            content_type = _header(request.headers, "content-type") or ""
            if _media_type_matches(self.binary_media_types, content_type):
                body, is_b64 = base64.b64encode(request.body).decode("ascii"), True
            else:
                try:
                    body = request.body.decode("utf-8")
                except UnicodeDecodeError:
                    body, is_b64 = base64.b64encode(request.body).decode("ascii"), True
        now = datetime.now(UTC)
        user_agent = _header(request.headers, "user-agent")
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method.upper(),
            "headers": headers or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "body": body,
            "isBase64Encoded": is_b64,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": self.api_id,
                "domainName": _header(request.headers, "host") or "127.0.0.1",
                "domainPrefix": self.api_id,
                "extendedRequestId": request_id.replace("-", "")[:16] + "=",
                "httpMethod": request.method.upper(),
                "path": f"/{self.stage}{request.path}",
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "resourceId": "local",
                "resourcePath": route.path,
                "stage": self.stage,
                "identity": {
                    "sourceIp": request.source_ip,
                    "userAgent": user_agent,
                    "accessKey": None,
                    "accountId": None,
                    "caller": None,
                    "cognitoAuthenticationProvider": None,
                    "cognitoAuthenticationType": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "principalOrgId": None,
                    "user": None,
                    "userArn": None,
                },
            },
        }

    def proxy_response(self, result: Any, *, accept: str | None = None) -> HttpResponse:
        """Turn the function's proxy result into the HTTP response, or a 502 when it is malformed.

        ``headers`` and ``multiValueHeaders`` are merged as API Gateway merges them (a pair given
        in both appears once). A base64 body is decoded only when the request's first ``Accept``
        type is one of the API's ``BinaryMediaTypes``; otherwise API Gateway sends the base64 text
        as it is, and so does this.
        """
        if not _well_formed(result):
            # Keys only: a body may hold a session token.
            shape = sorted(result) if isinstance(result, dict) else type(result).__name__
            log.error("malformed Lambda proxy response (API Gateway answers 502): %s", shape)
            return self.gateway_response("DEFAULT_5XX", 502)
        if result.get("cookies"):
            log.warning(
                "a REST API ignores 'cookies' (HTTP API format): send Set-Cookie in multiValueHeaders"
            )
        headers: list[tuple[str, str]] = []
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((key, str(v)) for v in values)
        for key, value in (result.get("headers") or {}).items():
            if (key.lower(), str(value)) not in {(k.lower(), v) for k, v in headers}:
                headers.append((key, str(value)))
        raw = result.get("body") or ""
        if result.get("isBase64Encoded"):
            first_accept = (accept or "").split(",")[0]
            if _media_type_matches(self.binary_media_types, first_accept):
                body = base64.b64decode(raw)
            else:
                log.warning(
                    "base64 body sent as text: the request's Accept (%r) matches none of the API's "
                    "BinaryMediaTypes (%s), as in API Gateway",
                    first_accept,
                    self.binary_media_types or "none",
                )
                body = str(raw).encode("utf-8")
        else:
            body = str(raw).encode("utf-8")
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return HttpResponse(int(result["statusCode"]), headers, body)

    def gateway_response(self, response_type: str, default_status: int) -> HttpResponse:
        """A response API Gateway makes itself, shaped by the template's ``GatewayResponses``
        (the specific type, else DEFAULT_4XX / DEFAULT_5XX)."""
        fallback = "DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX"
        spec = self.gateway_responses.get(response_type) or self.gateway_responses.get(fallback) or {}
        status = int(spec.get("StatusCode", default_status))
        templates = spec.get("ResponseTemplates") or {}
        content_type = (
            "application/json" if "application/json" in templates or not templates else next(iter(templates))
        )
        template = templates.get(content_type)
        body = (
            template if template else json.dumps({"message": _DEFAULT_MESSAGES.get(response_type, "Error")})
        )
        headers = [
            ("Content-Type", content_type),
            ("x-amzn-ErrorType", _ERROR_TYPES.get(response_type, "Exception")),
        ]
        for name, value in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items():
            headers.append((name, str(value).strip("'")))  # static values are quoted: "'value'"
        return HttpResponse(status, headers, str(body).encode("utf-8"))


_DEFAULT_MESSAGES = {
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "UNAUTHORIZED": "Unauthorized",
    "ACCESS_DENIED": "User is not authorized to access this resource",
    "REQUEST_TOO_LARGE": "Request Too Long",
    "INTEGRATION_FAILURE": "Internal server error",
    "DEFAULT_5XX": "Internal server error",
}
_ERROR_TYPES = {
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "UNAUTHORIZED": "UnauthorizedException",
    "ACCESS_DENIED": "AccessDeniedException",
    "REQUEST_TOO_LARGE": "RequestTooLongException",
    "AUTHORIZER_FAILURE": "AuthorizerFailureException",
    "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
    "INVALID_SIGNATURE": "InvalidSignatureException",
    "EXPIRED_TOKEN": "ExpiredTokenException",
    "INTEGRATION_FAILURE": "InternalServerErrorException",
    "DEFAULT_5XX": "InternalServerErrorException",
}


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _media_type_matches(patterns: list[str], media_type: str) -> bool:
    media = media_type.split(";")[0].strip().lower()
    if not media:
        return False
    kind, _, sub = media.partition("/")
    for pattern in patterns:
        p_kind, _, p_sub = pattern.lower().partition("/")
        if p_kind in ("*", kind) and p_sub in ("*", sub):
            return True
    return False


def _well_formed(result: Any) -> bool:
    """What API Gateway accepts from a proxy integration; anything else is a 502."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return False
    allowed = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}
    if set(result) - allowed:
        return False
    try:
        int(result["statusCode"])
    except (TypeError, ValueError):
        return False
    body = result.get("body")
    return body is None or isinstance(body, str)
