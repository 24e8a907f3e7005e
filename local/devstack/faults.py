"""Fault injection: the local stack's moto server answers some AWS calls with the errors AWS
really returns, at a rate per operation (``make dev FAULTS=...``), so what handlers and mappings do
when DynamoDB or SES fail can be seen and load-tested.

A spec is a comma-separated list of ``service.Operation[:ErrorCode]=rate``:

    dynamodb.TransactWriteItems=0.05,sesv2.SendEmail=0.1    # those operations, any of their errors
    dynamodb.*=0.05,sesv2.*=0.05                            # every operation of the service
    dynamodb.PutItem:ThrottlingException=0.2                # one error only

A rule for an operation replaces the service's ``*`` rule for it; several rules for one operation
add up (at most 1). Without an error code, each injected fault picks one of the operation's errors:

* DynamoDB (JSON protocol: a ``__type``/``message`` body): ``ProvisionedThroughputExceededException``
  (400), ``ThrottlingException`` (400), ``InternalServerError`` (500); for ``TransactWriteItems``
  and ``TransactGetItems`` also ``TransactionConflict``, DynamoDB's ``TransactionCanceledException``
  (400) with one ``CancellationReasons`` entry per item, one of them ``TransactionConflict``.
* SESv2 (REST-JSON protocol: the code in ``x-amzn-ErrorType``, a ``message`` body):
  ``TooManyRequestsException`` (429), ``InternalFailure`` (500).
* EventBridge (``events``, JSON protocol): ``ThrottlingException`` (400), ``InternalException``
  (500); for ``PutEvents`` also ``FailedEntries``, its partial failure: a ``200`` whose
  ``FailedEntryCount`` counts the entries refused (each with probability one half, at least one;
  ``ErrorCode`` ``ThrottlingException`` or ``InternalFailure``, no ``EventId``), while the others
  go on to moto and reach the bus.

The middleware answers before the request reaches moto, so a faulted call changes nothing. Calls
go on to botocore's own retries in the handlers (as deployed): throttling errors and 5xx are
retried, ``TransactionCanceledException`` is not. Decisions are seeded per operation, so a seed
replays the same faults for the same sequence of calls to each operation (concurrent requests can
reach an operation in another order from run to run). ``GET /_devstack/faults`` on moto's port (and
``/_dev/faults`` on the API's) reports the rules, the seed, the calls seen and the faults injected;
``POST`` with ``{"faults": "<spec>", "seed": <n>}`` replaces them and resets the counts.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

CONTROL_PATH = "/_devstack/faults"


class FaultSpecError(ValueError):
    """A spec that names an unknown service, operation or error, or a rate outside [0, 1]."""


@dataclass(frozen=True)
class AwsError:
    code: str  # what botocore reports as ``Error.Code``
    status: int
    message: str
    type_prefix: str = ""  # DynamoDB's ``__type`` namespace


_DYNAMODB = "com.amazonaws.dynamodb.v20120810#"
TRANSACTION_CONFLICT = "TransactionConflict"
# What DynamoDB and SESv2 answer when they are overloaded or failing.
_ERRORS: dict[str, tuple[AwsError, ...]] = {
    "dynamodb": (
        AwsError(
            "ProvisionedThroughputExceededException",
            400,
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API.",
            _DYNAMODB,
        ),
        AwsError(
            "ThrottlingException",
            400,
            "Rate of requests exceeds the allowed throughput.",
            "com.amazon.coral.availability#",
        ),
        AwsError("InternalServerError", 500, "Internal server error", _DYNAMODB),
    ),
    "sesv2": (
        AwsError("TooManyRequestsException", 429, "Too Many Requests"),
        AwsError("InternalFailure", 500, "The request processing has failed because of an unknown error."),
    ),
    "events": (
        AwsError("ThrottlingException", 400, "Rate exceeded"),
        AwsError("InternalException", 500, "An internal error occurred."),
    ),
}
_TRANSACTION_CONFLICT = AwsError(TRANSACTION_CONFLICT, 400, "Transaction is ongoing for the item", _DYNAMODB)
# PutEvents' partial failure: not an error of the call (it answers 200), one per refused entry.
FAILED_ENTRIES = "FailedEntries"
_FAILED_ENTRIES = AwsError(FAILED_ENTRIES, 200, "")
_ENTRY_ERRORS = (
    ("ThrottlingException", "Rate exceeded"),
    ("InternalFailure", "An internal error occurred."),
)
_OPERATION_ERRORS: dict[tuple[str, str], tuple[AwsError, ...]] = {
    ("dynamodb", "TransactWriteItems"): (*_ERRORS["dynamodb"], _TRANSACTION_CONFLICT),
    ("dynamodb", "TransactGetItems"): (*_ERRORS["dynamodb"], _TRANSACTION_CONFLICT),
    ("events", "PutEvents"): (*_ERRORS["events"], _FAILED_ENTRIES),
}
SERVICES = tuple(_ERRORS)


def errors_for(service: str, operation: str) -> tuple[AwsError, ...]:
    return _OPERATION_ERRORS.get((service, operation), _ERRORS[service])


@dataclass(frozen=True)
class FaultRule:
    service: str
    operation: str  # an operation name, or "*" for every operation of the service
    error: str | None  # one error code, or None for any of the operation's errors
    rate: float

    def __str__(self) -> str:
        error = f":{self.error}" if self.error else ""
        return f"{self.service}.{self.operation}{error}={self.rate:g}"


_RULE = re.compile(r"^(?P<service>[a-z0-9-]+)\.(?P<operation>\*|[A-Za-z0-9]+)(?::(?P<error>[A-Za-z]+))?$")


def parse_faults(spec: str) -> list[FaultRule]:
    rules: list[FaultRule] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        target, sep, rate_text = part.partition("=")
        found = _RULE.match(target.strip())
        if not sep or not found:
            raise FaultSpecError(f"{part!r} is not service.Operation[:ErrorCode]=rate")
        service, operation, error = found["service"], found["operation"], found["error"]
        if service not in _ERRORS:
            raise FaultSpecError(f"faults are simulated for {', '.join(SERVICES)} only, not {service!r}")
        if operation != "*" and operation not in operations(service):
            raise FaultSpecError(f"{service} has no operation {operation!r}")
        try:
            rate = float(rate_text)
        except ValueError:
            raise FaultSpecError(f"{part!r}: the rate must be a number from 0 to 1") from None
        if not 0.0 <= rate <= 1.0:
            raise FaultSpecError(f"{part!r}: the rate must be a number from 0 to 1")
        allowed = _ERRORS[service] if operation == "*" else errors_for(service, operation)
        if error is not None and error not in {e.code for e in allowed}:
            names = ", ".join(e.code for e in allowed)
            raise FaultSpecError(f"{part!r}: {service}.{operation} fails with one of {names}")
        rules.append(FaultRule(service, operation, error, rate))
    totals: dict[tuple[str, str], float] = {}
    for rule in rules:
        key = (rule.service, rule.operation)
        totals[key] = totals.get(key, 0.0) + rule.rate
    for (service, operation), total in totals.items():
        if total > 1.0 + 1e-9:
            raise FaultSpecError(f"the rates for {service}.{operation} add up to {total:g}, over 1")
    return rules


@cache
def operations(service: str) -> frozenset[str]:
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)


@dataclass(frozen=True)
class Injection:
    error: AwsError
    pick: float  # a further seeded draw in [0, 1), for what the error names (the conflicted item)


class FaultPlan:
    """Which calls fail, and what was seen and injected."""

    def __init__(self, rules: Iterable[FaultRule] = (), seed: int = 0) -> None:
        self.rules = list(rules)
        self.seed = seed
        self._lock = threading.Lock()
        self._random: dict[str, random.Random] = {}
        self.calls: dict[str, int] = {}
        self.injected: dict[str, dict[str, int]] = {}

    def rules_for(self, service: str, operation: str) -> list[FaultRule]:
        own = [r for r in self.rules if r.service == service and r.operation == operation]
        return own or [r for r in self.rules if r.service == service and r.operation == "*"]

    def decide(self, service: str, operation: str) -> Injection | None:
        """Count the call; the error to answer it with, or None to let it through."""
        key = f"{service}.{operation}"
        rules = self.rules_for(service, operation)
        with self._lock:
            self.calls[key] = self.calls.get(key, 0) + 1
            if not rules:
                return None
            rng = self._random.setdefault(key, random.Random(f"{self.seed}:{key}"))  # noqa: S311 - not security
            draw, threshold = rng.random(), 0.0
            for rule in rules:
                threshold += rule.rate
                if draw < threshold:
                    choices = errors_for(service, operation)
                    error = (
                        next(e for e in choices if e.code == rule.error)
                        if rule.error
                        else rng.choice(choices)
                    )
                    per_error = self.injected.setdefault(key, {})
                    per_error[error.code] = per_error.get(error.code, 0) + 1
                    return Injection(error, rng.random())
            return None

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {
                "faults": ",".join(str(r) for r in self.rules),
                "seed": self.seed,
                "calls": dict(sorted(self.calls.items())),
                "injected": {k: dict(v) for k, v in sorted(self.injected.items())},
                "injected_total": sum(sum(v.values()) for v in self.injected.values()),
            }


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class FaultInjector:
    """WSGI middleware in front of moto's server application."""

    def __init__(self, app: WsgiApp, plan: FaultPlan | None = None) -> None:
        self.app = app
        self.plan = plan or FaultPlan()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == CONTROL_PATH:
            return self._control(environ, start_response)
        called = identify(environ)
        if called is not None:
            injection = self.plan.decide(*called)
            if injection is not None:
                return self._answer(injection, called, environ, start_response)
        return self.app(environ, start_response)

    # ------------------------------------------------------------------ the control endpoint
    def _control(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            try:
                request = json.loads(_read_body(environ) or b"{}")
                plan = FaultPlan(
                    parse_faults(str(request.get("faults") or "")), int(request.get("seed") or 0)
                )
            except (ValueError, TypeError) as exc:
                return respond(start_response, 400, {"Content-Type": "application/json"}, {"error": str(exc)})
            self.plan = plan
        return respond(start_response, 200, {"Content-Type": "application/json"}, self.plan.report())

    # ------------------------------------------------------------------ the error, on the wire
    def _answer(
        self,
        injection: Injection,
        called: tuple[str, str],
        environ: dict[str, Any],
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        service, _ = called
        error = injection.error
        if error.code == FAILED_ENTRIES:
            return self._refuse_some_entries(injection, environ, start_response)
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if service == "events":
            headers["Content-Type"] = "application/x-amz-json-1.1"
            return respond(
                start_response, error.status, headers, {"__type": error.code, "message": error.message}
            )
        if service == "dynamodb":
            headers["Content-Type"] = "application/x-amz-json-1.0"
            body: dict[str, Any] = {"__type": f"{error.type_prefix}{error.code}", "message": error.message}
            if error.code == TRANSACTION_CONFLICT:
                body = _transaction_canceled(environ, injection.pick)
            raw = json.dumps(body).encode("utf-8")
            headers["x-amz-crc32"] = str(zlib.crc32(raw))  # botocore checks it when present
            return respond(start_response, error.status, headers, raw)
        headers["Content-Type"] = "application/json"
        headers["x-amzn-ErrorType"] = error.code
        return respond(start_response, error.status, headers, {"message": error.message})

    def _refuse_some_entries(
        self, injection: Injection, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """PutEvents' partial failure: some entries refused, the rest put on the bus by moto, one
        answer with every entry in the order sent (see the module's docstring)."""
        try:
            entries = list(json.loads(_read_body(environ) or b"{}").get("Entries") or [])
        except ValueError:
            return self.app(environ, start_response)
        draw = random.Random(injection.pick)  # noqa: S311 - not security; seeded by the plan
        refused = {i for i in range(len(entries)) if draw.random() < 0.5}
        refused = refused or {draw.randrange(len(entries) or 1)}
        kept = [entry for i, entry in enumerate(entries) if i not in refused]
        answers: list[dict[str, Any]] = []
        if kept:
            answers = list(self._forward(environ, {"Entries": kept}).get("Entries") or [])
        merged: list[dict[str, Any]] = []
        for index in range(len(entries)):
            if index in refused:
                code, message = _ENTRY_ERRORS[draw.randrange(len(_ENTRY_ERRORS))]
                merged.append({"ErrorCode": code, "ErrorMessage": message})
            else:
                merged.append(answers.pop(0) if answers else {"ErrorCode": "InternalFailure"})
        failed = sum(1 for entry in merged if "ErrorCode" in entry)
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "Content-Type": "application/x-amz-json-1.1"}
        return respond(start_response, 200, headers, {"FailedEntryCount": failed, "Entries": merged})

    def _forward(self, environ: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Pass the request on to moto with another JSON body; its parsed JSON answer."""
        raw = json.dumps(body).encode("utf-8")
        forwarded = {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
        chunks = self.app(forwarded, lambda *_args, **_kw: None)
        try:
            answer = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        try:
            parsed = json.loads(answer or b"{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


def _transaction_canceled(environ: dict[str, Any], pick: float) -> dict[str, Any]:
    """DynamoDB's answer to a transaction that conflicted with another: one reason per item, the
    item ``pick`` chooses conflicted."""
    try:
        items = len(json.loads(_read_body(environ) or b"{}").get("TransactItems") or [])
    except ValueError:
        items = 1
    items = max(items, 1)
    conflicted = int(pick * items)
    reasons = [
        {"Code": TRANSACTION_CONFLICT, "Message": "Transaction is ongoing for the item"}
        if index == conflicted
        else {"Code": "None"}
        for index in range(items)
    ]
    codes = ", ".join(r["Code"] for r in reasons)
    return {
        "__type": f"{_DYNAMODB}TransactionCanceledException",
        "CancellationReasons": reasons,
        "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
    }


def identify(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, operation) of a DynamoDB, SESv2 or EventBridge call, else None."""
    target = environ.get("HTTP_X_AMZ_TARGET") or ""
    prefix, _, operation = target.partition(".")
    if prefix == "DynamoDB_20120810":
        return ("dynamodb", operation)
    if prefix == "AWSEvents":
        return ("events", operation)
    if _signing_name(environ) == "ses":
        found = _sesv2_operation(environ.get("REQUEST_METHOD") or "", environ.get("PATH_INFO") or "")
        if found:
            return ("sesv2", found)
    return None


def _signing_name(environ: dict[str, Any]) -> str | None:
    """The service in a SigV4 ``Authorization`` header's credential scope."""
    found = re.search(
        r"Credential=[^/,]+/[^/]+/[^/]+/([^/]+)/aws4_request", environ.get("HTTP_AUTHORIZATION") or ""
    )
    return found.group(1) if found else None


@cache
def _sesv2_routes() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(method, path pattern, operation) for every SESv2 operation, the most literal paths first."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sesv2")
    routes: list[tuple[int, str, re.Pattern[str], str]] = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?", 1)[0]
        labels = 0
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", uri):
            if part.startswith("{"):
                labels += 1
                pattern += ".+" if part.endswith("+}") else "[^/]+"
            else:
                pattern += re.escape(part)
        routes.append((labels, http["method"], re.compile(pattern), name))
    routes.sort(key=lambda route: route[0])
    return tuple((method, pattern, name) for _, method, pattern, name in routes)


def _sesv2_operation(method: str, path: str) -> str | None:
    for route_method, pattern, name in _sesv2_routes():
        if route_method == method and pattern.fullmatch(path):
            return name
    return None


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body; the stream is replaced so whoever reads next still gets it."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def respond(
    start_response: StartResponse, status: int, headers: dict[str, str], body: bytes | dict[str, Any]
) -> list[bytes]:
    """A whole WSGI answer: ``status``, ``headers`` and Content-Length, ``body`` (a dict as JSON)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    reason = {200: "OK", 400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error"}
    start_response(
        f"{status} {reason.get(status, 'Error')}", [*headers.items(), ("Content-Length", str(len(raw)))]
    )
    return [raw]
