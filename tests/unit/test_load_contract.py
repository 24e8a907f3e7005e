"""How ``make load`` judges an answer against the contract, joins a violation with the faults the
stack journaled for that request, and what makes it exit non-zero."""

from __future__ import annotations

import json

from load.__main__ import exit_code
from load.contract import Answer, route_of, violations
from load.invariants import CheckResult, Settled
from load.report import RunReport, find_violations, percentile
from load.run import loosened_rate_limits

SHAPED = json.dumps({"error": {"code": "internal_error", "message": "Something went wrong."}})


def answer(
    route: str, status: int, body: str = "", retry_after: str | None = None, ms: float = 50.0
) -> Answer:
    return Answer(route=route, status=status, body=body, retry_after=retry_after, ms=ms)


def test_self_service_must_always_answer_202_accepted() -> None:
    route = "POST /v1/password-resets"

    assert violations(answer(route, 202, '{"status": "accepted"}')) == []
    assert violations(answer(route, 202, '{"status": "queued"}')) == ["wrong_body"]
    assert violations(answer(route, 200, '{"status": "accepted"}')) == ["undocumented_status"]


def test_an_aws_failure_beyond_the_retries_may_answer_any_route_with_a_5xx_that_says_when() -> None:
    """Issue #15: a 5xx in the error shape with Retry-After, on any route; without Retry-After,
    or without the shape, it breaks the contract."""
    route = "POST /v1/password-resets"
    assert violations(answer(route, 503, SHAPED, retry_after="2")) == []
    assert violations(answer(route, 500, SHAPED)) == ["no_retry_after"]
    assert violations(answer(route, 503, "Internal Server Error", retry_after="2")) == ["bad_error_shape"]


def test_a_listed_5xx_still_needs_its_shape_and_retry_after() -> None:
    route = "POST /v1/accounts/{account_id}/password-reset"
    failed = json.dumps({"error": {"code": "email_send_failed", "message": "Could not send."}})

    assert violations(answer(route, 502, failed, retry_after="5")) == []
    assert violations(answer(route, 502, failed)) == ["no_retry_after"]
    assert violations(answer(route, 502, "Internal Server Error", retry_after="5")) == ["bad_error_shape"]
    assert violations(
        answer(route, 429, json.dumps({"error": {"code": "rate_limited", "message": "x"}}))
    ) == ["no_retry_after"]


def test_a_traceback_and_a_slow_answer_are_violations_whatever_the_status() -> None:
    trace = 'Traceback (most recent call last):\n  File "/var/task/app.py", line 3, in handler'

    assert "stack_trace" in violations(answer("GET /v1/sessions/current", 200, trace))
    assert violations(answer("GET /v1/sessions/current", 200, "{}", ms=5200.0)) == ["slow"]
    assert violations(answer("GET /v1/sessions/current", 401, '{"error": {"code": "unauthorized"}}')) == [
        "bad_error_shape"
    ]


def test_requests_are_named_by_their_contract_route() -> None:
    assert route_of("POST", "/v1/accounts/acc-1/invitation") == "POST /v1/accounts/{account_id}/invitation"
    assert route_of("get", "/v1/accounts/a/password-reset/deliveries?x=1") == (
        "GET /v1/accounts/{account_id}/password-reset/deliveries"
    )
    assert route_of("GET", "/nowhere") == "GET /nowhere"


def test_a_violation_names_the_injected_fault_that_reached_the_handler() -> None:
    requests = [
        {"type": "req", "route": "POST /v1/password-resets", "status": 500, "ms": 410.0, "rid": "r-1",
         "violations": ["undocumented_status", "no_retry_after"], "body": SHAPED, "retry_after": None},
        {"type": "req", "route": "POST /v1/sessions", "status": 201, "ms": 90.0, "rid": "r-2"},
    ]  # fmt: skip
    stack = [
        {"kind": "http", "rid": "r-1", "status": 500, "aws_errors": [
            {"op": "dynamodb.GetItem", "code": "ThrottlingException", "reasons": [], "injected": True,
             "surfaced": False},
            {"op": "dynamodb.TransactWriteItems", "code": "TransactionCanceledException",
             "reasons": ["TransactionConflict"], "injected": True, "surfaced": True},
        ]},
        {"kind": "sns", "rid": "r-3", "status": 500, "ms": 30.0, "body": SHAPED, "attempt": 1},
    ]  # fmt: skip
    flows = [
        {"type": "flow", "event": "wrong_answer", "route": "POST /v1/password-resets/confirm", "status": 410,
         "why": "confirm answered 410 but the link still verifies as valid", "rids": ["r-1"]},
    ]  # fmt: skip

    found = find_violations(requests, flows, stack, faults=True)

    first, lie, webhook = found
    assert (first.route, first.status, first.kinds) == (
        "POST /v1/password-resets",
        500,
        ["undocumented_status", "no_retry_after"],  # as the user recorded them
    )
    assert first.faults == [
        "dynamodb.TransactWriteItems TransactionCanceledException(TransactionConflict) "
        "[injected, reached the handler]"
    ]
    assert (lie.kinds, lie.why) == (
        ["wrong_answer"],
        "confirm answered 410 but the link still verifies as valid",
    )
    assert (webhook.route, webhook.kinds) == ("POST /v1/webhooks/ses", ["no_retry_after"])
    # Without faults, every 5xx misses the target on top of what else is wrong with it.
    assert "5xx_without_faults" in find_violations(requests, [], [], faults=False)[0].kinds


def report(*, held: bool, violations_found: int = 0, settled: bool = True) -> RunReport:
    requests = [
        {"type": "req", "route": "GET /v1/sessions/current", "status": 200, "ms": 9000.0, "rid": f"r{n}",
         "violations": ["slow"]}
        for n in range(violations_found)
    ]  # fmt: skip
    check = CheckResult("links_used_once", "claim", checked=1, failures=[] if held else ["link x used twice"])
    return RunReport(
        name="run",
        faults_spec="",
        seed=None,
        users=1,
        duration_s=1.0,
        requests=requests,
        stack_records=[],
        flows=[],
        fault_report={},
        settled=Settled(settled, 1.0, "" if settled else "queued: {'Q': 1}"),
        checks=[check],
    )


def test_make_load_fails_on_a_failed_invariant_or_an_unsettled_run_and_on_violations_only_when_strict() -> (
    None
):
    assert exit_code([report(held=True)]) == 0
    assert exit_code([report(held=True), report(held=False)]) == 1
    assert exit_code([report(held=True, settled=False)]) == 1
    assert exit_code([report(held=True, violations_found=2)]) == 0
    assert exit_code([report(held=True, violations_found=2)], strict=True) == 1


def test_the_load_run_loosens_every_rate_limit_of_the_template_and_keeps_switched_off_rules_off() -> None:
    class Template:
        @staticmethod
        def parameter(name: str) -> str:
            assert name == "RateLimits"
            return "self_service_email=3/900, verify_ip=0/900,sign_in_ip=50/900"

    assert loosened_rate_limits(Template(), factor=10) == (  # type: ignore[arg-type]
        "self_service_email=30/900,verify_ip=0/900,sign_in_ip=500/900"
    )


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 0.99) == 7.0
