"""Self-service never differs for a known address (security review #14, item 4): the HTTP handler
counts its limits and queues the request, the same calls for every address; a queue-triggered
function finds the account, issues the link and mails it, at least once per request and never twice
(powertools idempotency per request), with partial batch failures and a dead-letter queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support.api import Api, gateway
from support.leaks import captured_so_far
from support.recorded import assert_nothing_recorded_since, recorded
from support.samples import load_event
from support.sent_mail import sent_messages, token_from
from support.spies import PASS, ApiCall, ApiCallSpy

ANNA = "anna.schmidt@example.com"
ARCHIVED = "karl.vogel@example.com"
UNKNOWN = "nobody.here@example.com"
HANDLER = "RequestResetFunction"


def handler_calls(spy: ApiCallSpy) -> list[str]:
    return [c.name for c in spy.calls if c.function == HANDLER]


# A firm's own portal names its firm: Anna is a client of Berger's, not of Hartmann's, and there is
# no firm "firm-nowhere". Every combination must look the same from outside (within the
# per-address limit: three for Anna).
ASKED = [
    {"email": ANNA},
    {"email": UNKNOWN},
    {"email": ARCHIVED},
    {"email": ANNA, "firm_id": "firm-berger"},
    {"email": ANNA, "firm_id": "firm-hartmann"},
    {"email": UNKNOWN, "firm_id": "firm-nowhere"},
    {"email": UNKNOWN, "firm_id": "firm-berger"},
    {"email": ARCHIVED, "firm_id": "firm-berger"},
]


def test_the_request_handler_makes_the_same_calls_for_known_unknown_and_archived_addresses(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []
    answers = set()
    for body in ASKED:
        spy = ApiCallSpy(monkeypatch)
        answer = api.post("/v1/password-resets", body)
        assert (answer.status, answer.body) == (202, {"status": "accepted"})
        answers.add(answer.raw.body)
        seen.append(handler_calls(spy))
    assert all(calls == seen[0] for calls in seen), seen
    assert seen[0] == ["dynamodb.UpdateItem", "dynamodb.UpdateItem", "sqs.SendMessage"]
    assert len(answers) == 1
    # The links themselves went out, from the queue, to the one real address: without a firm and
    # for Anna's own firm; none for a firm where she has no account.
    assert [m.destinations["ToAddresses"] for m in sent_messages()] == [[ANNA], [ANNA]]


def failing(operation: str) -> Any:
    def answer(call: ApiCall) -> Any:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, operation)

    return answer


@pytest.mark.parametrize("operation", ["TransactWriteItems", "SendEmail", "GetItem"])
def test_a_failure_after_the_address_was_found_never_reaches_the_answer(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    """Before, a failing write or send answered 500, for known addresses only (sometimes after the
    mail had left): an oracle for which addresses exist."""
    spy = ApiCallSpy(monkeypatch)
    spy.answer(operation, failing(operation))

    known = api.post("/v1/password-resets", {"email": ANNA})
    unknown = api.post("/v1/password-resets", {"email": UNKNOWN})

    assert (
        (known.status, known.raw.body)
        == (unknown.status, unknown.raw.body)
        == (202, b'{"status":"accepted"}')
    )


def test_a_queue_that_cannot_take_the_request_is_a_503_for_every_address_alike(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is lost silently: the client is told to try again, and the answer still does not
    say whether the address exists."""
    spy = ApiCallSpy(monkeypatch)
    spy.answer("SendMessage", failing("SendMessage"))

    known = api.post("/v1/password-resets", {"email": ANNA}, headers={"Accept-Language": "de"})
    unknown = api.post("/v1/password-resets", {"email": UNKNOWN}, headers={"Accept-Language": "de"})

    assert (known.status, known.raw.body) == (unknown.status, unknown.raw.body)
    assert (known.status, known.error_code, known.header("Retry-After")) == (503, "internal_error", "30")
    assert "erneut" in known.body["error"]["message"]  # in the request's language
    assert sent_messages() == []


# --------------------------------------------------------------------------- the queue's function


def queued_event(
    request_id: str = "req-1", email: str = ANNA, requested_at: datetime | None = None
) -> dict[str, Any]:
    """The committed sample SQS event, with one request for ``email`` made at ``requested_at``
    (default: now)."""
    event = load_event("self_service_reset.json")
    [record] = event["Records"]
    body = json.loads(record["body"])
    body.update(
        request_id=request_id, email=email, requested_at=(requested_at or datetime.now(UTC)).isoformat()
    )
    record["body"] = json.dumps(body)
    return event


def consume(event: dict[str, Any]) -> dict[str, Any]:
    return dict(gateway().runner.invoke("SelfServiceResetFunction", event))


def test_a_redelivered_request_mails_one_link(demo: dict[str, Any]) -> None:
    event = queued_event("req-twice")

    assert consume(event) == {"batchItemFailures": []}
    assert consume(event) == {"batchItemFailures": []}  # SQS delivers at least once

    assert len(sent_messages()) == 1
    assert consume(queued_event("req-another")) == {"batchItemFailures": []}
    assert len(sent_messages()) == 2  # a new request is a new link


def test_a_failed_send_is_retried_by_sqs_and_then_mails_once(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = queued_event("req-retry")
    spy = ApiCallSpy(monkeypatch)
    spy.answer("SendEmail", failing("SendEmail"))

    first = consume(event)

    message_id = event["Records"][0]["messageId"]
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}  # back on the queue
    assert sent_messages() == []
    spy.answer("SendEmail", lambda call: PASS)  # SES is back

    assert consume(event) == {"batchItemFailures": []}
    [mail] = sent_messages()
    assert mail.destinations["ToAddresses"] == [ANNA]
    verified = api.post("/v1/password-resets/verify", {"token": token_from(mail)})
    assert verified.status == 200  # the link of the retry works


def test_a_request_older_than_fifteen_minutes_sends_nothing(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """A redrive from the dead-letter queue days after an outage would mail links nobody asked
    for any more, perhaps to a mailbox that changed hands (#24.6): a request is good for
    ``SELF_SERVICE_MAX_AGE`` (15 minutes) after it was made, decided by the handler's clock."""
    from pwreset.core.observability import metrics
    from pwreset.credentials import resets

    counted: list[str] = []
    monkeypatch.setattr(metrics, "add_metric", lambda name, **_: counted.append(name))
    queued = datetime(2026, 11, 30, 8, 15, tzinfo=UTC)
    monkeypatch.setattr(resets, "_now", lambda: queued + timedelta(days=3))
    before = recorded()
    captured_so_far(request)

    assert consume(queued_event("req-redriven", requested_at=queued)) == {"batchItemFailures": []}

    assert sent_messages() == []
    assert_nothing_recorded_since(before)  # no link, no audit event, no idempotency record
    logged = [json.loads(line) for line in captured_so_far(request).splitlines() if line.startswith("{")]
    [dropped] = [
        line for line in logged if line.get("message") == "self-service request too old, nothing sent"
    ]
    assert dropped["email"] == "a***@example.com" and dropped["age_seconds"] == 3 * 24 * 3600
    assert counted == ["ResetRequestExpired"]

    monkeypatch.setattr(resets, "_now", lambda: queued + timedelta(minutes=15, seconds=1))
    assert consume(queued_event("req-late", requested_at=queued)) == {"batchItemFailures": []}
    assert sent_messages() == []
    monkeypatch.setattr(resets, "_now", lambda: queued + timedelta(minutes=15))
    assert consume(queued_event("req-in-time", requested_at=queued)) == {"batchItemFailures": []}
    [mail] = sent_messages()
    assert api.post("/v1/password-resets/verify", {"token": token_from(mail)}).status == 200


def test_unknown_and_archived_addresses_get_nothing_from_the_queue_either(demo: dict[str, Any]) -> None:
    for n, email in enumerate((UNKNOWN, ARCHIVED)):
        assert consume(queued_event(f"req-none-{n}", email)) == {"batchItemFailures": []}
    assert sent_messages() == []


def test_a_message_that_is_no_request_is_dropped_not_retried(demo: dict[str, Any]) -> None:
    event = queued_event()
    event["Records"][0]["body"] = '{"not": "a request"}'
    assert consume(event) == {"batchItemFailures": []}  # retrying cannot mend it
    assert sent_messages() == []


def test_a_conflicting_transaction_is_tried_again_at_once_not_after_the_queues_timeout(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the message went back to the queue, and the client waited for its visibility
    timeout (three minutes) for the mail."""
    spy = ApiCallSpy(monkeypatch)
    conflicts = iter([True])

    def conflict_once(call: ApiCall) -> Any:
        if next(conflicts, False):
            reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (
                len(call.params["TransactItems"]) - 1
            )
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return PASS

    spy.answer("TransactWriteItems", conflict_once)

    assert consume(queued_event("req-conflict")) == {"batchItemFailures": []}

    [mail] = sent_messages()
    assert mail.destinations["ToAddresses"] == [ANNA]
    assert api.post("/v1/password-resets/verify", {"token": token_from(mail)}).status == 200
    assert len(spy.of("TransactWriteItems")) == 2  # the conflict, then the link
