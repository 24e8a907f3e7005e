"""AWS failures that outlast botocore's retries (throttling, an AWS 5xx, a transaction that met
another) are a 503 with Retry-After in the contract's shape, and nothing claims to have happened
that did not: a link that still works is not called used, a session that still stands is not
ended. Found by ``make load``'s probes (issue #15), each test failed before."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from support.api import Api, Result
from support.demo_accounts import ANNA, OWNER
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import sent_messages, token_from
from support.ses_events import ses_event
from support.sns import FakeSns, publish
from support.spies import PASS, ApiCall, ApiCallSpy

NEW_PASSWORD = "Kastanienallee im Oktoberlicht 8"
SIGN_IN = {"email": "anna.schmidt@example.com", "password": "whatever it is 1"}


def conflicting_transaction(call: ApiCall) -> Any:
    """What DynamoDB answers when another transaction touched one of the items at the same time."""
    reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (len(call.params["TransactItems"]) - 1)
    raise ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": reasons,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "TransactWriteItems",
    )


def throttled(operation: str) -> Any:
    def answer(call: ApiCall) -> Any:
        raise ClientError(
            {
                "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            operation,
        )

    return answer


def assert_try_again_later(result: Result) -> None:
    assert (result.status, result.error_code) == (503, "internal_error"), result.body
    assert result.header("Retry-After") == "2"
    assert "Traceback" not in str(result.body)


def staff_link(api: Api, demo: dict[str, Any]) -> str:
    sent = api.post(f"/v1/accounts/{ANNA}/password-reset", token=api.sign_in_as(demo[OWNER]))
    assert sent.status == 202, sent.body
    return token_from(sent_messages()[-1])


def test_a_confirm_that_meets_another_transaction_is_a_503_and_the_link_still_works(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: 410 token_used, for a link nobody had used."""
    raw = staff_link(api, demo)
    spy = ApiCallSpy(monkeypatch)
    spy.answer("TransactWriteItems", conflicting_transaction)

    refused = api.post("/v1/password-resets/confirm", {"token": raw, "password": NEW_PASSWORD})

    assert_try_again_later(refused)
    spy.answer("TransactWriteItems", lambda call: PASS)
    assert api.post("/v1/password-resets/verify", {"token": raw}).status == 200
    assert api.post("/v1/password-resets/confirm", {"token": raw, "password": NEW_PASSWORD}).status == 200


def test_a_password_change_that_meets_another_transaction_keeps_the_session(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: 401, and the portal signed a client out whose session still stood."""
    anna = demo[ANNA]
    session = api.sign_in(anna["email"], anna["password"])
    spy = ApiCallSpy(monkeypatch)
    spy.answer("TransactWriteItems", conflicting_transaction)
    change = {"current_password": anna["password"], "new_password": NEW_PASSWORD}

    refused = api.post("/v1/sessions/current/password", change, token=session)

    assert_try_again_later(refused)
    assert api.get("/v1/sessions/current", token=session).status == 200


@pytest.mark.parametrize("route", ["password-reset", "invitation"])
def test_a_staff_send_that_meets_another_transaction_is_a_503_and_sends_nothing(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """Before: 500 internal_error without Retry-After."""
    if route == "invitation":
        nina = api.put_client(
            "acc-nina", firm_id="firm-berger", email="nina.neu@example.com", name="Nina Neu"
        )
        assert nina.status == 201, nina.body
    target = ANNA if route == "password-reset" else "acc-nina"
    owner = api.sign_in_as(demo[OWNER])
    before = recorded()
    spy = ApiCallSpy(monkeypatch)
    spy.answer("TransactWriteItems", conflicting_transaction)

    assert_try_again_later(api.post(f"/v1/accounts/{target}/{route}", token=owner))

    assert_nothing_recorded_since(before)


def test_a_staff_send_that_ses_refuses_says_when_to_try_again(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = api.sign_in_as(demo[OWNER])
    spy = ApiCallSpy(monkeypatch)
    spy.answer("SendEmail", throttled("SendEmail"))

    result = api.post(f"/v1/accounts/{ANNA}/password-reset", token=owner)

    assert (result.status, result.error_code, result.header("Retry-After")) == (
        502,
        "email_send_failed",
        "60",
    )


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PUT", {"firm_id": "firm-berger", "role": "client", "email": "neu@example.com", "name": "Neu"}),
        ("DELETE", None),
    ],
)
def test_provisioning_that_meets_another_transaction_is_a_503_with_retry_after(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, method: str, body: Any
) -> None:
    """Before: PUT 503 without Retry-After, DELETE 500."""
    spy = ApiCallSpy(monkeypatch)
    spy.answer("TransactWriteItems", conflicting_transaction)
    path = "/v1/admin/accounts/acc-neu" if method == "PUT" else f"/v1/admin/accounts/{ANNA}"

    result = api.signed(method, path, body)

    assert (result.status, result.error_code) == (503, "internal_error"), result.body
    assert result.header("Retry-After") == "2"


def test_an_ses_event_that_meets_another_transaction_is_a_503_so_sns_retries(
    api: Api, demo: dict[str, Any], fake_sns: FakeSns, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Before: 500 and an "unhandled error" traceback in the log for an ordinary conflict."""
    raw_link = staff_link(api, demo)
    assert raw_link
    spy = ApiCallSpy(monkeypatch)
    spy.answer("TransactWriteItems", conflicting_transaction)
    event = ses_event("event-delivery.json")

    assert_try_again_later(publish(api, event))

    spy.answer("TransactWriteItems", lambda call: PASS)
    assert publish(api, event).status == 200  # SNS's retry is recorded


@pytest.mark.parametrize(
    ("method", "path", "body", "operation"),
    [
        ("POST", "/v1/password-resets", {"email": "anna.schmidt@example.com"}, "UpdateItem"),
        (
            "POST",
            "/v1/sessions",
            {"email": "anna.schmidt@example.com", "password": "whatever it is 1"},
            "UpdateItem",
        ),
        (
            "POST",
            "/v1/sessions",
            {"email": "anna.schmidt@example.com", "password": "whatever it is 1"},
            "Query",
        ),
        ("POST", "/v1/password-resets/verify", {"token": "A" * 43}, "UpdateItem"),
        ("POST", "/v1/password-resets/verify", {"token": "A" * 43}, "GetItem"),
        ("GET", f"/v1/accounts/{ANNA}/password-reset/deliveries", None, "Query"),
        ("GET", "/v1/accounts", None, "Query"),
    ],
)
def test_throttled_dynamodb_is_a_503_with_retry_after(
    api: Api,
    demo: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    body: Any,
    operation: str,
) -> None:
    """Before: 500 internal_error without Retry-After on every route."""
    token = api.sign_in_as(demo[OWNER]) if path.startswith("/v1/accounts") else None
    spy = ApiCallSpy(monkeypatch)
    spy.answer(operation, throttled(operation))

    result = api.request(method, path, json_body=body, token=token)

    assert any(c.operation == operation and c.function != "AuthorizerFunction" for c in spy.calls)
    assert_try_again_later(result)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/sessions/current"),
        ("POST", f"/v1/accounts/{ANNA}/password-reset"),
        ("GET", f"/v1/accounts/{ANNA}/password-reset/deliveries"),
    ],
)
def test_an_authorizer_that_cannot_read_the_session_answers_503_with_retry_after(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, method: str, path: str
) -> None:
    """The template's AUTHORIZER_FAILURE response. Before: API Gateway's 500 without Retry-After,
    though nothing was decided about the caller."""
    token = api.sign_in_as(demo[OWNER])
    spy = ApiCallSpy(monkeypatch)
    refuse = throttled("GetItem")
    spy.answer("GetItem", lambda call: refuse(call) if call.function == "AuthorizerFunction" else PASS)
    before = recorded()

    result = api.request(method, path, token=token)

    assert any(c.function == "AuthorizerFunction" and c.error is not None for c in spy.calls)
    assert_try_again_later(result)
    assert_nothing_recorded_since(before)
