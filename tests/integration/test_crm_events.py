"""The events for the CRM under moto: what the service does (a reset, a lock, a bounce, a new
address) reaches the template's EventBridge bus from the events table's stream, as the contract
shapes it; what the bus refuses is put again entry by entry and then parked, never lost; and no
event carries an address, a password, a token or a hash.

Everything runs as deployed: requests through the template's routes, the stream's records as moto
holds them, the function as the template's event source mapping runs it (filters, batches, retries,
the on-failure destination), and the bus's events read by a rule of a listener, as a CRM reads them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.filters import matches_any, parse_patterns
from devstack.gateway import FunctionRunner
from pwreset.crm import publisher
from support.api import Api, gateway
from support.crm_bus import Bus, detail_of, listener
from support.demo_accounts import ANNA, JAMES, MARIA, MEMBER, OWNER
from support.environment import TEMPLATE
from support.leaks import THIS_TEST, Secrets
from support.notify_sample import SAMPLE_HEADERS  # Chrome on Windows, in Berlin (CloudFront's headers)
from support.samples import load_event, shape_of
from support.sent_mail import message_body, sent_messages, token_from
from support.ses_events import ses_event
from support.sns import publish
from support.spies import PASS, ApiCall
from support.streams import MappingRun, lambda_event, run_mapping, stream_records
from support.user_agents import SAFARI_ON_IPHONE

FUNCTION = "CrmEventsFunction"
NEW_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
CLIENT_IP = "198.51.100.77"
LOCK_IN_LINK = re.compile(r"#lock=([A-Za-z0-9_-]{43})")


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The back-off's waits, counted instead of slept."""
    seen: list[float] = []
    monkeypatch.setattr(publisher, "_sleep", seen.append)
    return seen


@pytest.fixture
def crm(demo: dict[str, Any], waits: list[float]) -> Iterator[Any]:
    """A CRM's rule on the bus, listening from before anything is put."""
    yield listener()


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Bus:
    return Bus(monkeypatch)


def publish_stream(runner: FunctionRunner) -> MappingRun:
    """The function fed the events table's stream as the template's event source mapping does."""
    return run_mapping(TEMPLATE, FUNCTION, runner)


def published(crm: Any, detail_type: str | None = None) -> list[dict[str, Any]]:
    """What reached the bus (the listener's view), oldest first."""
    events = list(reversed(crm.events()))
    return [e for e in events if detail_type is None or e["detail_type"] == detail_type]


def filtered_records() -> list[dict[str, Any]]:
    """The stream's records that the template's filter lets through to the function."""
    [subscription] = [s for s in TEMPLATE.stream_subscriptions() if s.function == FUNCTION]
    patterns = parse_patterns(subscription.filter_patterns)
    return [r for r in stream_records(os.environ["EVENTS_TABLE"]) if matches_any(patterns, r)]


def invoke(runner: FunctionRunner, records: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(runner.invoke(FUNCTION, lambda_event(records)))


def dead_letters() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=TEMPLATE.physical_name("CrmEventsDeadLetterQueue"))["QueueUrl"]
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        found += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return found


def staff_reset_confirmed(api: Api, demo: dict[str, Any], client: str = ANNA, staff: str = MEMBER) -> None:
    api.confirm(
        api.staff_link(demo[staff], client), NEW_PASSWORD, headers=SAMPLE_HEADERS, source_ip=CLIENT_IP
    )


def lock_link_of_the_holders_mail() -> str:
    """The "It wasn't me" token of the client's password-changed mail (the notification function,
    fed the stream, sends it)."""
    gateway().runner.invoke(
        "NotifyPasswordChangedFunction", lambda_event(stream_records(os.environ["EVENTS_TABLE"]))
    )
    [lock] = {t for m in sent_messages() for t in LOCK_IN_LINK.findall(message_body(m))}
    THIS_TEST.add(lock)
    return lock


def audit_events(kind: str) -> list[dict[str, Any]]:
    from pwreset.storage.models import Event

    return [e.attribute_values for e in Event.scan() if e.type == kind]


def many_verdicts(count: int) -> None:
    """``count`` email_undeliverable items straight into the events table, as the webhook writes them."""
    from pwreset.storage.events import audit_event

    now = datetime.now(UTC)
    for n in range(count):
        audit_event(
            "email_undeliverable",
            account_id=f"acc-{n}",
            firm_id="firm-berger",
            meta=None,
            at=now,
            detail={"email_status": "undeliverable", "diagnosis_code": "address_not_found"},
        ).save()


# --------------------------------------------------------------------------- what the CRM hears of


def test_a_staff_reset_reaches_the_bus_as_password_changed_with_the_clients_facts(
    api: Api, demo: dict[str, Any], crm: Any, runner: FunctionRunner
) -> None:
    staff_reset_confirmed(api, demo)

    run = publish_stream(runner)

    [event] = published(crm)
    [change] = audit_events("password_changed")
    assert run.invocations == 1 and dead_letters() == []
    assert event["source"] == "pwreset" and event["detail_type"] == "PasswordChanged"
    assert event["detail"] == {
        "event_id": change["event_id"],
        "occurred_at": change["at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "account_id": ANNA,
        "firm_id": "firm-berger",
        "accounts": [{"account_id": ANNA, "firm_id": "firm-berger"}],
        "via": "staff_reset",
        "requested_by": MEMBER,
        "client": {
            "ip": CLIENT_IP,
            "location": "Berlin, Germany",
            "os": "Windows 10",
            "browser": "Chrome 131.0.0.0",
        },
    }
    # EventBridge's own time is when it happened, not when it was put.
    assert event["time"] == change["at"].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_change_of_a_login_with_accounts_at_two_firms_names_both(
    api: Api, demo: dict[str, Any], crm: Any, runner: FunctionRunner
) -> None:
    """Sophie of the demo data is a client of both firms with one login: a reset through Hartmann's
    staff changes the password of both accounts, and the CRM hears of both (issue #22)."""
    staff_reset_confirmed(api, demo, client="acc-hartmann-client-sophie", staff="acc-hartmann-owner")

    publish_stream(runner)

    [event] = published(crm)
    assert (event["detail"]["account_id"], event["detail"]["firm_id"]) == (
        "acc-hartmann-client-sophie",
        "firm-hartmann",
    )
    assert event["detail"]["accounts"] == [
        {"account_id": "acc-hartmann-client-sophie", "firm_id": "firm-hartmann"},
        {"account_id": "acc-berger-client-sophie", "firm_id": "firm-berger"},
    ]


def test_each_way_a_password_changes_says_how_and_who_asked(
    api: Api, demo: dict[str, Any], crm: Any, runner: FunctionRunner
) -> None:
    james = demo[JAMES]
    assert api.post("/v1/password-resets", {"email": james["email"]}).status == 202
    self_service = token_from(sent_messages()[-1])
    assert (
        api.post("/v1/password-resets/confirm", {"token": self_service, "password": NEW_PASSWORD}).status
        == 200
    )
    maria = demo[MARIA]
    session = api.sign_in(maria["email"], maria["password"])
    change = {"current_password": maria["password"], "new_password": "Sonnenuhr am Marktplatz 1912"}
    assert api.post("/v1/sessions/current/password", change, token=session).status == 200
    nora = {"firm_id": "firm-berger", "role": "client", "email": "nora.neu@example.com", "name": "Nora Neu"}
    assert api.signed("PUT", "/v1/admin/accounts/acc-nora", {**nora, "send_invitation": True}).status == 201
    invitation = token_from(sent_messages()[-1])
    assert (
        api.post("/v1/password-resets/confirm", {"token": invitation, "password": NEW_PASSWORD}).status == 200
    )

    publish_stream(runner)

    said = {
        e["detail"]["account_id"]: (e["detail"]["via"], e["detail"]["requested_by"]) for e in published(crm)
    }
    assert said == {
        JAMES: ("self_service", None),
        MARIA: ("change", None),
        "acc-nora": ("invitation", None),  # the CRM's own invitation names no person of the firm
    }


def test_a_lock_from_the_holders_mail_reaches_the_bus_as_account_locked(
    api: Api, demo: dict[str, Any], crm: Any, runner: FunctionRunner
) -> None:
    staff_reset_confirmed(api, demo)
    locked = api.post(
        "/v1/account-locks",
        {"token": lock_link_of_the_holders_mail()},
        headers={"User-Agent": SAFARI_ON_IPHONE},
        source_ip="203.0.113.9",
    )
    assert locked.status == 200

    publish_stream(runner)

    [event] = published(crm, "AccountLocked")
    [lock_event] = audit_events("account_locked")
    assert event["detail"]["event_id"] == lock_event["event_id"]
    assert event["detail"]["accounts"] == [{"account_id": ANNA, "firm_id": "firm-berger"}]
    assert event["detail"]["client"] == {
        "ip": "203.0.113.9",  # the lock's request, not the change it disowned
        "location": None,
        "os": "iOS 17.6.1",
        "browser": "Mobile Safari 17.6",
    }
    assert [e["detail_type"] for e in published(crm)] == ["PasswordChanged", "AccountLocked"]


@pytest.mark.usefixtures("fake_sns")
def test_a_bounce_and_then_a_complaint_each_reach_the_bus_once_with_the_verdict_and_diagnosis(
    api: Api, demo: dict[str, Any], crm: Any, runner: FunctionRunner
) -> None:
    from pwreset.storage.models import ResetToken

    token = api.sign_in_as(demo[OWNER])
    sent = api.post(f"/v1/accounts/{ANNA}/password-reset", token=token)
    [record] = [r for r in ResetToken.scan() if r.reset_id == sent.body["reset_id"]]

    def report(fixture: str, **kw: Any) -> None:
        event = ses_event(
            fixture, ses_message_id=record.ses_message_id, reset_id=record.reset_id, recipient=record.email
        )
        assert publish(api, event, **kw).status == 200

    report("event-bounce-permanent-noemail.json")
    report("event-bounce-permanent-noemail.json", message_id="another-sns-message-same-bounce")
    report("event-bounce-permanent-general.json")  # the address is undeliverable already
    report("event-complaint.json")
    report("event-bounce-permanent-general.json")  # a complaint outranks a bounce

    publish_stream(runner)

    verdicts = [(e["detail"]["email_status"], e["detail"]["diagnosis"]) for e in published(crm)]
    assert verdicts == [
        ("undeliverable", {"code": "address_not_found"}),
        ("complained", {"code": "complaint"}),
    ]
    assert {e["detail"]["account_id"] for e in published(crm)} == {ANNA}
    assert len(audit_events("email_undeliverable")) == 2


def test_an_address_change_reaches_the_bus_masked_and_other_provisioning_writes_do_not(
    api: Api, demo: dict[str, Any], crm: Any, runner: FunctionRunner
) -> None:
    nora = {"firm_id": "firm-berger", "role": "client", "email": "nora.neu@example.com", "name": "Nora Neu"}
    assert api.signed("PUT", "/v1/admin/accounts/acc-nora", nora).status == 201
    assert api.signed("PUT", "/v1/admin/accounts/acc-nora", nora).status == 200  # the same twice
    assert api.signed("PUT", "/v1/admin/accounts/acc-nora", {**nora, "name": "Nora Neumann"}).status == 200
    moved = {**nora, "name": "Nora Neumann", "email": "nora@kanzlei-kunde.example"}
    assert api.signed("PUT", "/v1/admin/accounts/acc-nora", moved).status == 200

    run = publish_stream(runner)

    [event] = published(crm)
    assert event["detail_type"] == "EmailChanged"
    assert {k: event["detail"][k] for k in ("account_id", "previous_hint", "new_hint")} == {
        "account_id": "acc-nora",
        "previous_hint": "n***@example.com",
        "new_hint": "n***@kanzlei-kunde.example",
    }
    assert [len(batch) for batch in run.delivered] == [1]  # the filter passed nothing else

    # Erasure strips the masked addresses from the audit trail (a person's own domain names them).
    assert api.signed("DELETE", "/v1/admin/accounts/acc-nora").status == 204
    details = [e["detail"].as_dict() for e in audit_events("account_provisioned")]
    assert all("previous_hint" not in d and "new_hint" not in d for d in details)
    assert {tuple(d["fields"]) for d in details} >= {("email",)}


# --------------------------------------------------------------------------- batches, retries, dead letters


def test_events_are_put_ten_at_a_time(crm: Any, bus: Bus, runner: FunctionRunner) -> None:
    many_verdicts(23)

    run = publish_stream(runner)

    assert run.invocations == 1
    assert [len(put) for put in bus.puts] == [10, 10, 3]
    assert len(published(crm)) == 23


def test_refused_entries_are_put_again_on_their_own_with_the_same_event_id(
    crm: Any, monkeypatch: pytest.MonkeyPatch, runner: FunctionRunner, waits: list[float]
) -> None:
    many_verdicts(12)
    records = filtered_records()
    refused_ids = {event_id_of(records[1]), event_id_of(records[10])}  # one in each put of the batch

    def refuse(call: int, entry: dict[str, Any]) -> str | None:
        return "ThrottlingException" if call <= 2 and detail_of(entry)["event_id"] in refused_ids else None

    bus = Bus(monkeypatch, refuse)

    assert invoke(runner, records) == {"batchItemFailures": []}

    assert [len(put) for put in bus.puts] == [10, 2, 2]  # then the two refused, alone
    assert {detail_of(e)["event_id"] for e in bus.puts[2]} == refused_ids
    first = {detail_of(e)["event_id"]: e for put in bus.puts[:2] for e in put}
    for entry in bus.puts[2]:
        assert (
            entry["Detail"] == first[detail_of(entry)["event_id"]]["Detail"]
        )  # the same event, byte for byte
    assert len(waits) == 1 and dead_letters() == []
    ids = [e["detail"]["event_id"] for e in published(crm)]
    assert sorted(ids) == sorted(event_id_of(r) for r in records)  # each once


def event_id_of(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["NewImage"]["event_id"]["S"])


def test_an_event_the_bus_keeps_refusing_is_parked_with_its_entry_and_can_be_put_again(
    crm: Any, monkeypatch: pytest.MonkeyPatch, runner: FunctionRunner, waits: list[float]
) -> None:
    many_verdicts(3)
    records = filtered_records()
    stuck = event_id_of(records[1])
    bus = Bus(
        monkeypatch, lambda _call, entry: "InternalFailure" if detail_of(entry)["event_id"] == stuck else None
    )

    # Not retried by the stream: the event is safe in the queue, and what follows it is not held up.
    assert invoke(runner, records) == {"batchItemFailures": []}

    assert [len(put) for put in bus.puts] == [3, 1, 1, 1]  # four tries in all for the refused one
    assert len(waits) == publisher.ATTEMPTS - 1
    [letter] = dead_letters()
    assert (letter["event_id"], letter["detail_type"], letter["error_code"]) == (
        stuck,
        "EmailUndeliverable",
        "InternalFailure",
    )
    assert letter["attempts"] == publisher.ATTEMPTS
    assert {e["detail"]["event_id"] for e in published(crm)} == {event_id_of(r) for r in records} - {stuck}

    # The redrive docs/events.md describes: put the parked entry as it is.
    entry = {**letter["entry"], "Time": datetime.fromisoformat(letter["entry"]["Time"])}
    monkeypatch.undo()
    assert boto3.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    redriven = published(crm)[-1]
    assert redriven["detail"]["event_id"] == stuck and redriven["detail_type"] == "EmailUndeliverable"
    assert sorted(e["detail"]["event_id"] for e in published(crm)) == sorted(event_id_of(r) for r in records)


def test_a_put_that_fails_whole_is_tried_again(
    crm: Any, monkeypatch: pytest.MonkeyPatch, runner: FunctionRunner, waits: list[float]
) -> None:
    many_verdicts(2)
    bus = Bus(monkeypatch)
    first = True

    def throttled_once(call: ApiCall) -> Any:
        nonlocal first
        if first:
            first = False
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutEvents"
            )
        return PASS

    bus.spy.answer("PutEvents", throttled_once)

    assert invoke(runner, filtered_records()) == {"batchItemFailures": []}

    assert len(published(crm)) == 2 and len(waits) == 1 and dead_letters() == []


def test_an_event_neither_published_nor_parked_is_kept_by_the_stream_and_its_batch_dead_lettered(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, runner: FunctionRunner, waits: list[float]
) -> None:
    many_verdicts(2)
    bus = Bus(monkeypatch, lambda _call, _entry: "InternalFailure")

    def queue_down(call: ApiCall) -> Any:
        if call.function == FUNCTION:  # the function's own send; Lambda's on-failure send still works
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")
        return PASS

    bus.spy.answer("SendMessage", queue_down)

    run = publish_stream(runner)

    [subscription] = [s for s in TEMPLATE.stream_subscriptions() if s.function == FUNCTION]
    assert run.invocations == 1 + subscription.maximum_retry_attempts  # the stream retried the record
    [letter] = dead_letters()
    info = letter["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2 and letter["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_a_redelivered_record_is_put_again_with_the_same_event_id(
    api: Api, demo: dict[str, Any], crm: Any, runner: FunctionRunner
) -> None:
    staff_reset_confirmed(api, demo)
    records = filtered_records()

    invoke(runner, records)
    invoke(runner, records)  # the stream delivers at least once

    events = published(crm)
    assert len(events) == 2 and events[0]["id"] != events[1]["id"]  # two EventBridge events...
    assert events[0]["detail"] == events[1]["detail"]  # ...one change: the CRM deduplicates on event_id


# --------------------------------------------------------------------------- the sample event


def test_the_sample_event_is_real_stream_records_that_the_function_publishes(
    crm: Any, runner: FunctionRunner
) -> None:
    event = load_event("crm_events.json")

    assert invoke(runner, event["Records"]) == {"batchItemFailures": []}

    assert [e["detail_type"] for e in published(crm)] == [
        "PasswordChanged",
        "AccountLocked",
        "EmailChanged",
        "EmailUndeliverable",
    ]


def test_the_sample_event_has_the_shape_of_fresh_records(demo: dict[str, Any]) -> None:
    """The committed sample was made by tests/support/crm_sample.py; if a path records something
    new, this fails until the sample is made again."""
    from support.crm_sample import records_from_a_real_run

    fresh = records_from_a_real_run()
    assert [shape_of(r) for r in fresh] == [shape_of(r) for r in load_event("crm_events.json")["Records"]]


# --------------------------------------------------------------------------- privacy


def stored_secrets() -> set[str]:
    """Every token digest, session digest and password hash in the tables."""
    from pwreset.storage.models import LOGIN_ITEM, LockToken, Login, ResetToken, Session

    found = {r.token_hash for r in ResetToken.scan()} | {r.token_hash for r in LockToken.scan()}
    found |= {s.session_hash for s in Session.scan()}
    found |= {login.password_hash for login in Login.scan(Login.item == LOGIN_ITEM) if login.password_hash}
    return found


@pytest.mark.usefixtures("fake_sns")
def test_no_event_put_in_a_whole_run_holds_an_address_a_password_a_token_or_a_hash(
    api: Api, demo: dict[str, Any], crm: Any, bus: Bus, runner: FunctionRunner, secrets_of_this_test: Secrets
) -> None:
    from pwreset.storage.models import ResetToken

    staff_reset_confirmed(api, demo)
    assert api.post("/v1/account-locks", {"token": lock_link_of_the_holders_mail()}).status == 200
    maria = demo[MARIA]
    session = api.sign_in(maria["email"], maria["password"])
    change = {"current_password": maria["password"], "new_password": "Sonnenuhr am Marktplatz 1912"}
    assert api.post("/v1/sessions/current/password", change, token=session).status == 200
    james = {"firm_id": "firm-berger", "role": "client", "name": "James Miller", "locale": "en"}
    assert (
        api.signed("PUT", f"/v1/admin/accounts/{JAMES}", {**james, "email": "james.neu@example.net"}).status
        == 200
    )
    sent = api.post(f"/v1/accounts/{JAMES}/password-reset", token=api.sign_in_as(demo[OWNER]))
    [record] = [r for r in ResetToken.scan() if r.reset_id == sent.body["reset_id"]]
    bounce = ses_event(
        "event-bounce-permanent-general.json",
        ses_message_id=record.ses_message_id,
        reset_id=record.reset_id,
        recipient=record.email,
    )
    assert publish(api, bounce).status == 200
    secrets_of_this_test.remember_demo_data()
    forbidden = secrets_of_this_test.values | stored_secrets() | {"james.neu@example.net"}

    publish_stream(runner)

    entries = bus.entries()
    assert {e["DetailType"] for e in entries} == {
        "PasswordChanged",
        "AccountLocked",
        "EmailChanged",
        "EmailUndeliverable",
    }
    text = json.dumps([{**e, "Time": str(e["Time"])} for e in entries], ensure_ascii=False)
    leaks = sorted(secret[:6] + "..." for secret in forbidden if secret in text)
    assert not leaks, leaks
    assert len(forbidden) > 20  # the scan had something to look for
    assert "j***@example.com" in text and "j***@example.net" in text  # the masks, and nothing more
