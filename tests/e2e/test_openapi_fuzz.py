"""schemathesis against the local stack, for every operation in the served OpenAPI document, with
every check it has (``--checks all``): no 5xx, every response (status, content type, headers, body)
conforms to the document, every schema-valid request is accepted and every schema-invalid one
refused. The only deviations allowed are API Gateway's own answers, which the document states: an
unsigned or wrongly signed call to a provisioning route is its 403 (not the generic 401), and a
method no route has (TRACE) is its 403 MISSING_AUTHENTICATION_TOKEN (not 405).

The stack runs with the limiter off so the fuzzer reaches past the first handful of requests
(429 is documented and conforms, but it would stop the exploration early); staff and session
operations get a real owner session, so they are explored past the authorizer; provisioning
operations are signed with the local stack's SigV4 key pair, so they are explored past the check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks, not_a_server_error, status_code_conformance
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import MissingHeaderNotRejected, UnsupportedMethodResponse

from devstack.openapi import DOCUMENT_PATH
from devstack.seed import key_pair, load_demo_data, signed_headers
from devstack.sigv4 import KeyPair
from support.local_stack import Stack, sign_in, start_stack, stop_stack

pytestmark = pytest.mark.e2e

EXAMPLES = 100
load_all_checks()
CHECKS = REGISTERED_CHECKS.get_all()  # schemathesis --checks all
# What API Gateway itself answers (x-amzn-ErrorType) to an unsigned request or an unknown method.
GATEWAY_REFUSALS = {"MissingAuthenticationTokenException", "InvalidSignatureException"}
OWNER = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
# Operations without any input: the fuzzer has nothing to vary, so it stops after a few calls.
NO_INPUT = {"GET /reset", "GET /v1/openapi.json", "GET /v1/accounts"}


class SigV4(requests.auth.AuthBase):
    """Signs a prepared request as botocore signs it for execute-api (what the CRM does)."""

    def __init__(self, key: KeyPair) -> None:
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        assert isinstance(raw, bytes), "schemathesis sends whole bodies, not streams"
        keep = {k: str(v) for k, v in request.headers.items() if k.lower() == "content-type"}
        request.headers.update(signed_headers(self.key, str(request.method), str(request.url), raw, keep))
        return request


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    rules = (
        "self_service_email",
        "self_service_ip",
        "staff_send_account",
        "sign_in_account",
        "sign_in_account_ip",
        "sign_in_ip",
        "confirm_ip",
        "verify_ip",
    )
    stack = start_stack(
        tmp_path_factory.mktemp("fuzz"),
        parameters={"RateLimits": ",".join(f"{r}=0/60" for r in rules)},
    )
    yield stack
    assert stop_stack(stack) == 0, stack.output()


# The committed document: the same bytes the stack serves (test_the_served_document_is_the_committed_one)
# and what tests/unit/test_openapi.py keeps in step with the routes. Loaded at import, since
# schemathesis builds its tests at collection time.
schema = schemathesis.openapi.from_path(str(DOCUMENT_PATH))


def test_the_served_document_is_the_committed_one(fuzz_stack: Stack) -> None:
    assert fuzz_stack.get("/v1/openapi.json").json() == json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


@dataclass
class Exploration:
    """What the fuzzer did with one operation, across all the examples hypothesis made for it."""

    operation: str = ""
    signed: bool = False
    calls: int = 0
    past_the_signature: int = 0  # signed calls answered by the function, past API Gateway's check


@pytest.fixture
def exploration() -> Iterator[Exploration]:
    """One per operation (hypothesis runs every example inside one test): once they have all run,
    the operation must have been explored, not just touched."""
    seen = Exploration()
    yield seen
    minimum = 1 if seen.operation in NO_INPUT else EXAMPLES
    assert seen.calls >= minimum, f"{seen.operation}: {seen.calls} examples, wanted {minimum}"
    if seen.signed:
        # Most examples must reach the function: a broken signer would only ever meet the gateway's 403.
        assert seen.past_the_signature >= EXAMPLES // 2, (seen.operation, seen.past_the_signature)


def gateway_error(response: Any) -> str | None:
    """API Gateway's own error type (``x-amzn-ErrorType``) when it answered itself, else None.
    schemathesis's responses keep headers as lists under lower-case names."""
    values = response.headers.get("x-amzn-errortype") or [None]
    return str(values[0]) if values[0] is not None else None


def leaves_out_the_signature(case: Any) -> bool:
    """A case schemathesis made without the ``Authorization`` header, to see it refused (every
    other case of a signed operation carries one): sent unsigned, as made, since the signer
    would add the header back."""
    return "authorization" not in {name.lower() for name in case.headers or {}}


def documented_deviation(failure: Failure, response: Any, signed: bool) -> bool:
    """Whether ``failure`` is one of API Gateway's own answers that the document states."""
    by_gateway = response.status_code == 403 and gateway_error(response) in GATEWAY_REFUSALS
    if isinstance(failure, MissingHeaderNotRejected):
        # An unsigned call to a provisioning route: the gateway's 403, where a generic API says 401.
        return signed and failure.header_name.lower() == "authorization" and by_gateway
    if isinstance(failure, UnsupportedMethodResponse):
        # TRACE and other methods no route has: the gateway's 403 for an unknown resource, not 405.
        return by_gateway
    return False


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_conforms_and_never_fails(
    case: Any, fuzz_stack: Stack, exploration: Exploration
) -> None:
    headers = {}
    auth: SigV4 | None = None
    security = case.operation.definition.raw.get("security") or []
    signed = {"sigv4": []} in security
    if signed and not leaves_out_the_signature(case):
        # The provisioning routes: signed as the CRM signs, with the local stack's key pair.
        auth = SigV4(key_pair(load_demo_data()))
    elif security:
        # A fresh owner session each time: DELETE /v1/sessions/current ends the one it is given.
        headers["Authorization"] = f"Bearer {sign_in(fuzz_stack, *OWNER)}"
    response = case.call(base_url=fuzz_stack.base_url, headers=headers, auth=auth)
    if response.status_code == 204:
        # No content, as documented; API Gateway still labels an empty proxy response JSON, which
        # the body checks would try to parse.
        assert response.content == b""
        checks = [not_a_server_error, status_code_conformance]
    else:
        checks = CHECKS
    # schemathesis probes a signed route by sending the case again without (or with made-up)
    # credentials; a SigV4 signer signs whatever it is given, so that probe is made below instead.
    excluded = [REGISTERED_CHECKS.get_one("ignored_auth")] if signed else []
    transport = {"base_url": fuzz_stack.base_url}
    try:
        case.validate_response(
            response, checks=checks, excluded_checks=excluded, headers=headers, transport_kwargs=transport
        )
    except FailureGroup as found:
        if not all(documented_deviation(f, response, signed) for f in found.exceptions):
            raise
    if signed and exploration.calls == 0:
        unsigned = case.call(base_url=fuzz_stack.base_url)
        assert unsigned.status_code == 403 and gateway_error(unsigned) in GATEWAY_REFUSALS, unsigned.text
    exploration.operation = f"{case.method} {case.path}"
    exploration.signed = signed
    exploration.calls += 1
    if signed and gateway_error(response) is None:
        exploration.past_the_signature += 1


def test_the_provisioning_operations_are_the_signed_ones() -> None:
    document = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    signed = {
        f"{method.upper()} {path}"
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if {"sigv4": []} in (op.get("security") or [])
    }
    assert signed == {
        "PUT /v1/admin/firms/{firm_id}",
        "PUT /v1/admin/accounts/{account_id}",
        "GET /v1/admin/accounts/{account_id}",
        "DELETE /v1/admin/accounts/{account_id}",
    }
