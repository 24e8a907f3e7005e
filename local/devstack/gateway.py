"""An API Gateway (REST, Lambda proxy) stand-in driven by ``template.yaml``.

Routes, methods and authorizers come from the template's ``Api`` events, so a route added there is
served with no second route table. Requests become real v1 proxy events; the template's REQUEST
authorizer runs first and its context reaches the function; gateway responses (401, 404, 5xx)
come from the template's ``GatewayResponses``. Functions run in this process.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

from devstack.template import Route, SamTemplate


@dataclass
class HttpRequest:
    method: str
    path: str  # without the stage
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    query: str = ""
    source_ip: str = "127.0.0.1"


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


class FunctionRunner:
    """Imports each function's ``app.py`` once (a cold start) and invokes its handler."""

    def __init__(self, template: SamTemplate) -> None:
        self.template = template
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()

    def module(self, logical_id: str) -> ModuleType:
        with self._lock:
            if logical_id not in self._modules:
                file_name, _, _ = self.template.handler(logical_id).rpartition(".")
                path = self.template.function_dir(logical_id) / f"{file_name}.py"
                name = f"_fn_{logical_id}"
                spec = importlib.util.spec_from_file_location(name, path)
                assert spec and spec.loader
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
                self._modules[logical_id] = module
            return self._modules[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        _, _, attr = self.template.handler(logical_id).rpartition(".")
        handler = getattr(self.module(logical_id), attr)
        return handler(event, LambdaContext(logical_id))


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
        else:
            regex += "/" + re.escape(part)
    return _CompiledRoute(route=route, pattern=re.compile(f"^{regex or '/'}$"), names=tuple(names))


class Gateway:
    def __init__(
        self, template: SamTemplate, runner: FunctionRunner | None = None, api_id: str = "local00000"
    ) -> None:
        self.template = template
        self.runner = runner or FunctionRunner(template)
        self.api_id = api_id
        self.stage = template.stage
        self.routes = [_compile(r) for r in template.api_routes()]
        self.gateway_responses = template.gateway_responses()

    # ------------------------------------------------------------------ matching
    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for compiled in self.routes:
            found = compiled.pattern.match(path)
            if found and compiled.route.method in (method, "ANY"):
                return compiled.route, dict(zip(compiled.names, found.groups(), strict=True))
        return None

    # ------------------------------------------------------------------ handling
    def handle(self, request: HttpRequest) -> HttpResponse:
        matched = self.match(request.method.upper(), request.path)
        if matched is None:
            # API Gateway answers an unknown resource or method with MISSING_AUTHENTICATION_TOKEN.
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", 403)
        route, path_params = matched
        event = self.proxy_event(request, route, path_params)
        if route.authorizer:
            context = self.authorize(route, event)
            if context is None:
                return self.gateway_response("UNAUTHORIZED", 401)
            event["requestContext"]["authorizer"] = context
        try:
            result = self.runner.invoke(route.function, event)
        except Exception:  # a crashed function: API Gateway hides it behind a 502
            import logging

            logging.getLogger("devstack.gateway").exception("function %s failed", route.function)
            return self.gateway_response("DEFAULT_5XX", 502)
        return self.proxy_response(result)

    def authorize(self, route: Route, proxy_event: dict[str, Any]) -> dict[str, Any] | None:
        assert route.authorizer
        function = self.template.authorizer_function(route.authorizer)
        ctx = proxy_event["requestContext"]
        event = {
            "type": "REQUEST",
            "methodArn": f"arn:aws:execute-api:eu-central-1:123456789012:{self.api_id}/{self.stage}/"
            f"{route.method}{proxy_event['path']}",
            "resource": route.path,
            "path": proxy_event["path"],
            "httpMethod": route.method,
            "headers": proxy_event["headers"],
            "multiValueHeaders": proxy_event["multiValueHeaders"],
            "queryStringParameters": proxy_event["queryStringParameters"] or {},
            "multiValueQueryStringParameters": proxy_event["multiValueQueryStringParameters"] or {},
            "pathParameters": proxy_event["pathParameters"] or {},
            "stageVariables": {},
            "requestContext": {k: v for k, v in ctx.items() if k != "authorizer"},
        }
        try:
            result = self.runner.invoke(function, event)
        except Exception:  # "Unauthorized" or any failure: API Gateway denies
            return None
        statements = (result.get("policyDocument") or {}).get("Statement") or []
        allowed = any(s.get("Effect") == "Allow" for s in statements) and not any(
            s.get("Effect") == "Deny" for s in statements
        )
        if not allowed:
            return None
        context = dict(result.get("context") or {})
        context["principalId"] = result.get("principalId")
        return context

    def proxy_event(self, request: HttpRequest, route: Route, path_params: dict[str, str]) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for key, value in request.headers:
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
            try:
                body = request.body.decode("utf-8")
            except UnicodeDecodeError:
                body, is_b64 = base64.b64encode(request.body).decode("ascii"), True
        now = datetime.now(UTC)
        user_agent = next((v for k, v in request.headers if k.lower() == "user-agent"), None)
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
                "accountId": "123456789012",
                "apiId": self.api_id,
                "domainName": headers.get("Host") or headers.get("host") or "127.0.0.1",
                "httpMethod": request.method.upper(),
                "path": f"/{self.stage}{request.path}",
                "protocol": "HTTP/1.1",
                "requestId": str(uuid.uuid4()),
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
                    "user": None,
                    "userArn": None,
                },
            },
        }

    @staticmethod
    def proxy_response(result: Any) -> HttpResponse:
        if not isinstance(result, dict) or "statusCode" not in result:
            return HttpResponse(
                502, [("Content-Type", "application/json")], b'{"message": "Internal server error"}'
            )
        headers: list[tuple[str, str]] = []
        seen: set[str] = set()
        for key, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                headers.append((key, str(value)))
            seen.add(key.lower())
        for key, value in (result.get("headers") or {}).items():
            if key.lower() not in seen:
                headers.append((key, str(value)))
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
        return HttpResponse(int(result["statusCode"]), headers, body)

    def gateway_response(self, response_type: str, default_status: int) -> HttpResponse:
        spec = self.gateway_responses.get(response_type) or {}
        if not spec and response_type != "DEFAULT_5XX" and default_status >= 500:
            spec = self.gateway_responses.get("DEFAULT_5XX") or {}
        status = int(spec.get("StatusCode", default_status))
        template = (spec.get("ResponseTemplates") or {}).get("application/json")
        body = template if template else json.dumps({"message": "Unauthorized" if status == 401 else "Error"})
        return HttpResponse(status, [("Content-Type", "application/json")], body.encode("utf-8"))
