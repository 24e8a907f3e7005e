"""The invariant checks of ``make load`` catch what they claim to: a small real run (staff reset
used, self-service link left open, a bounce, a change in the portal) on ``load.stack``, then one
planted violation at a time, in the stack's own tables and queues (read back as ``make load`` reads
them) or, for mail, which only the stack's process can send, in the snapshot taken from its
mailbox. A check that cannot fail would pass every planted violation."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.template import SamTemplate
from load import client, invariants, redrive
from load.client import Stack
from load.invariants import DeadLetter, Snapshot
from load.population import new_password
from support.leaks import SEEN
from support.local_stack import LOG_DIRS

pytestmark = pytest.mark.e2e

TEMPLATE = SamTemplate()
TOKEN = re.compile(r"#token=([A-Za-z0-9_-]{20,})")
PETRA = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
MARIA = ("maria.lopez@example.org", "Client-Demo-Olive-2026")
JAMES, ANNA, BRUNO, MARIA_ID = (
    "acc-berger-client-james",
    "acc-berger-client-anna",
    "acc-berger-client-bounce",
    "acc-hartmann-client-maria",
)


@dataclass
class Run:
    stack: Stack
    flows: list[dict[str, Any]]
    snapshot: Snapshot

    def collect(self, *, faults: bool = False) -> Snapshot:
        snapshot = invariants.collect(self.stack, TEMPLATE, journal=self.flows, faults=faults)
        # A planted events-table item reaches the CRM's bus through the stream like any other, and
        # stays there after its undo: those events are the tests', not the run's.
        snapshot.crm_events = [
            e for e in snapshot.crm_events if not str(e["detail"]["event_id"]).startswith("planted-")
        ]
        return snapshot

    def table(self, logical_id: str) -> str:
        return TEMPLATE.physical_name(logical_id)


def _link(stack: Stack, after: int, to: str) -> str:
    # Each poll reads on from the last one, so it waits for new mail instead of rereading the
    # mail that came meanwhile (a queued self-service link arrives after the notifications).
    for _ in range(12):
        page = stack.request("GET", f"/_dev/load/mail?after={after}&wait=5").json()
        for message in page["messages"]:
            found = [TOKEN.search(link) for link in message["links"]]
            if to in message["to"] and any(found):
                return next(f.group(1) for f in found if f)
        after = page["next"]
    pytest.fail(f"no link mail to {to}")


def _sign_in(stack: Stack, email: str, password: str) -> str:
    answer = stack.request("POST", "/v1/sessions", {"email": email, "password": password})
    assert answer.status == 201, answer.text
    return str(answer.json()["session"]["token"])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    logs = tmp_path_factory.mktemp("load-invariants")
    LOG_DIRS.append(logs)
    stack = client.start(logs, concurrency=4)
    try:
        flows: list[dict[str, Any]] = []
        staff = _sign_in(stack, *PETRA)
        SEEN.values.add(staff)
        # A staff reset, used by the client.
        mark = stack.load_status()["mail"]
        sent = stack.request("POST", f"/v1/accounts/{JAMES}/password-reset", token=staff)
        assert sent.status == 202, sent.text
        token = _link(stack, mark, "james.miller@example.com")
        password = new_password()
        SEEN.values.update((token, password))
        confirmed = stack.request(
            "POST", "/v1/password-resets/confirm", {"token": token, "password": password}
        )
        assert confirmed.status == 200, confirmed.text
        flows.append(
            {"type": "flow", "event": "confirmed", "digest": hashlib.sha256(token.encode()).hexdigest()}
        )
        # A self-service link, left open.
        mark = stack.load_status()["mail"]
        asked = stack.request("POST", "/v1/password-resets", {"email": "anna.schmidt@example.com"})
        assert asked.status == 202
        SEEN.values.add(_link(stack, mark, "anna.schmidt@example.com"))
        flows.append({"type": "flow", "event": "self_service", "account_id": ANNA, "status": 202})
        # A bounce: SES events reach the webhook and mark the address.
        assert stack.request("POST", f"/v1/accounts/{BRUNO}/password-reset", token=staff).status == 202
        # A change in the portal: the owner and the holder are told.
        session = _sign_in(stack, *MARIA)
        new = new_password()
        SEEN.values.update((session, new))
        changed = stack.request(
            "POST",
            "/v1/sessions/current/password",
            {"current_password": MARIA[1], "new_password": new},
            token=session,
        )
        assert changed.status == 200, changed.text
        settled = invariants.settle(stack, TEMPLATE, timeout=60)
        assert settled.ok, settled.pending
        snapshot = invariants.collect(stack, TEMPLATE, journal=flows)
        yield Run(stack, flows, snapshot)
    finally:
        assert stack.stop() == 0, stack.output()[-3000:]


def failing(snapshot: Snapshot) -> set[str]:
    return {result.name for result in invariants.check(snapshot) if not result.ok}


def test_the_real_run_holds_every_invariant(run: Run) -> None:
    results = invariants.check(run.snapshot)

    assert [r.failures for r in results if not r.ok] == []
    looked_at = {r.name: r.checked for r in results}
    # Not vacuous: each check looked at what the run made (the queue checks have nothing to look
    # at in this template: no queue-triggered function, an empty dead-letter queue).
    assert looked_at["links_used_once"] >= 3
    assert looked_at["notifications_once"] == 2
    assert looked_at["ses_events_recorded"] >= 2
    assert looked_at["self_service_accounted"] == 1
    # The CRM heard of both password changes and of the bounce.
    assert looked_at["crm_events_once"] == 3


# ------------------------------------------------------------------ planted in the tables and queues
def _events(run: Run, kind: str, account_id: str) -> list[dict[str, Any]]:
    return [e for e in run.snapshot.events_of(kind) if e["account_id"] == account_id]


def _token(run: Run, account_id: str) -> dict[str, Any]:
    return next(t for t in run.snapshot.tokens if t["account_id"] == account_id)


def planted(run: Run, plant: Callable[[Any], Callable[[], None]], *, faults: bool = False) -> set[str]:
    """Plant a violation in moto's tables (``plant`` gets a DynamoDB client and returns its undo),
    read the state as ``make load`` does, undo."""
    dynamodb = run.stack.aws("dynamodb")
    undo = plant(dynamodb)
    try:
        return failing(run.collect(faults=faults))
    finally:
        undo()


def test_a_link_used_twice_is_caught(run: Run) -> None:
    [change] = _events(run, "password_changed", JAMES)
    twin: dict[str, Any] = {"event_id": {"S": "planted-second-use"}, "type": {"S": "password_changed"}}
    twin |= {"account_id": {"S": JAMES}, "firm_id": {"S": "firm-berger"}, "at": {"S": change["at"]}}
    twin["detail"] = {"M": {"change": {"S": "reset"}, "reset_id": {"S": change["detail"]["reset_id"]}}}

    def plant(dynamodb: Any) -> Callable[[], None]:
        dynamodb.put_item(TableName=run.table("EventsTable"), Item=twin)
        return lambda: dynamodb.delete_item(
            TableName=run.table("EventsTable"), Key={"event_id": {"S": "planted-second-use"}}
        )

    assert "links_used_once" in planted(run, plant)


def _overwrite(
    run: Run, logical_id: str, key: dict[str, Any], attribute: str, planted: Any, original: Any
) -> Callable[[Any], Callable[[], None]]:
    """A plant that sets one attribute of one item to ``planted``, and puts ``original`` back."""

    def plant(dynamodb: Any) -> Callable[[], None]:
        def set_to(value: Any) -> None:
            dynamodb.update_item(
                TableName=run.table(logical_id),
                Key=key,
                UpdateExpression="SET #a = :v",
                ExpressionAttributeNames={"#a": attribute},
                ExpressionAttributeValues={":v": value},
            )

        set_to(planted)
        return lambda: set_to(original)

    return plant


def test_a_password_change_without_its_version_bump_is_caught(run: Run) -> None:
    # The version is the login's (issue #22): James's address's.
    key = {"email": {"S": run.snapshot.accounts[JAMES]["email"]}, "item": {"S": "login"}}
    plant = _overwrite(run, "LoginsTable", key, "password_version", {"N": "0"}, {"N": "1"})
    assert planted(run, plant) == {"records_whole"}


def test_a_link_marked_used_without_a_password_change_is_caught(run: Run) -> None:
    key = {"token_hash": {"S": _token(run, ANNA)["token_hash"]}}
    plant = _overwrite(run, "ResetTokensTable", key, "status", {"S": "used"}, {"S": "issued"})
    assert planted(run, plant) == {"links_used_once"}


def test_a_link_without_its_reset_requested_event_is_caught(run: Run) -> None:
    [requested] = _events(run, "reset_requested", ANNA)
    item = run.stack.aws("dynamodb").get_item(
        TableName=run.table("EventsTable"), Key={"event_id": {"S": requested["event_id"]}}
    )["Item"]

    def plant(dynamodb: Any) -> Callable[[], None]:
        dynamodb.delete_item(TableName=run.table("EventsTable"), Key={"event_id": item["event_id"]})
        return lambda: dynamodb.put_item(TableName=run.table("EventsTable"), Item=item)

    assert planted(run, plant) == {"records_whole"}


def test_an_ses_event_recorded_twice_is_caught(run: Run) -> None:
    reset_id = _token(run, BRUNO)["reset_id"]
    timeline = run.snapshot.timelines[reset_id]

    def plant(dynamodb: Any) -> Callable[[], None]:
        table, key = run.table("DeliveryEventsTable"), {"reset_id": {"S": reset_id}}
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET events = list_append(events, :e)",
            ExpressionAttributeValues={":e": {"L": [{"S": timeline["events"][0]}]}},
        )
        original = {"L": [{"S": e} for e in timeline["events"]]}
        return lambda: dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET events = :e",
            ExpressionAttributeValues={":e": original},
        )

    assert planted(run, plant) == {"ses_events_recorded"}


def _dead_letter_queue(run: Run) -> tuple[Any, str]:
    sqs = run.stack.aws("sqs")
    return sqs, sqs.get_queue_url(QueueName=run.table("NotifyDeadLetterQueue"))["QueueUrl"]


def _with_dead_letter(run: Run, body: dict[str, Any], *, faults: bool) -> tuple[set[str], Snapshot]:
    sqs, url = _dead_letter_queue(run)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    try:
        snapshot = run.collect(faults=faults)
        again = run.collect(faults=faults)  # reading leaves the message there, redrivable
        assert len(again.dead_letters) == 1
        return failing(snapshot), snapshot
    finally:
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_dead_letter_that_names_nothing_is_caught_and_any_is_caught_without_faults(run: Run) -> None:
    failed, _ = _with_dead_letter(
        run, {"requestContext": {"condition": "RetryAttemptsExhausted"}}, faults=True
    )
    assert failed == {"dead_letters_accounted"}


def test_a_dead_lettered_stream_batch_is_accounted_for_with_faults_and_a_failure_without(run: Run) -> None:
    [first] = _events(run, "password_changed", JAMES)
    [change] = _events(run, "password_changed", MARIA_ID)
    streams = run.stack.aws("dynamodbstreams")
    stream_arn = run.stack.aws("dynamodb").describe_table(TableName=run.table("EventsTable"))["Table"][
        "LatestStreamArn"
    ]
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    by_event = {r["dynamodb"].get("NewImage", {}).get("event_id", {}).get("S"): r for r in records}
    start, sequence = (by_event[e["event_id"]]["dynamodb"]["SequenceNumber"] for e in (first, change))
    # The batch's range spans every item written between the two changes (links, sessions,
    # a bounce...): only what the mapping's filter lets through counts, and is redriven.
    assert sum(1 for r in records if int(start) <= int(r["dynamodb"]["SequenceNumber"]) <= int(sequence)) > 2
    lambda_record = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
        "DDBStreamBatchInfo": {
            "shardId": shard["ShardId"],
            "startSequenceNumber": start,
            "endSequenceNumber": sequence,
            "batchSize": 2,
            "streamArn": stream_arn,
        },
    }

    failed, snapshot = _with_dead_letter(run, lambda_record, faults=True)
    assert failed == set()
    [letter] = snapshot.dead_letters
    assert [r["dynamodb"]["SequenceNumber"] for r in letter.stream_records or []] == [start, sequence]
    [result] = [r for r in invariants.check(snapshot) if r.name == "dead_letters_accounted"]
    assert [note.split(": ")[1][6:18] for note in result.notes] == [
        first["event_id"][:12],
        change["event_id"][:12],
    ]

    failed, _ = _with_dead_letter(run, lambda_record, faults=False)
    assert failed == {"dead_letters_accounted"}

    # Redriven, the batch reaches the function again; its mails went out before, so none goes twice.
    sqs, url = _dead_letter_queue(run)
    before = run.collect()
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(lambda_record))
    outcome = redrive.redrive_streams(run.stack, TEMPLATE)
    assert [(letter.records, letter.ok) for letter in outcome.letters] == [(2, True)]
    assert invariants.settle(run.stack, TEMPLATE, timeout=30).ok
    after = run.collect()
    assert after.dead_letters == []
    assert failing(after) == set()
    assert len(after.mails) == len(before.mails)


# ------------------------------------------------------------------ planted in the snapshot (mail)
def _mails(snapshot: Snapshot, **tags: str) -> list[dict[str, Any]]:
    return [m for m in snapshot.mails if all(m["tags"].get(k) == v for k, v in tags.items())]


def test_a_notification_mailed_twice_is_caught(run: Run) -> None:
    snapshot = copy.deepcopy(run.snapshot)
    [holder] = _mails(
        snapshot,
        kind="password_changed_holder",
        event_id=_events(run, "password_changed", JAMES)[0]["event_id"],
    )
    snapshot.mails.append({**holder, "id": "planted-duplicate"})

    assert failing(snapshot) == {"notifications_once"}


def test_a_lost_owner_notification_is_caught(run: Run) -> None:
    snapshot = copy.deepcopy(run.snapshot)
    [change] = _events(run, "password_changed", MARIA_ID)
    [owner] = _mails(snapshot, kind="password_changed_owner", event_id=change["event_id"])
    snapshot.mails.remove(owner)

    assert failing(snapshot) == {"notifications_once"}


def test_a_link_whose_mail_never_went_out_is_caught(run: Run) -> None:
    snapshot = copy.deepcopy(run.snapshot)
    [mail] = _mails(snapshot, reset_id=_token(run, ANNA)["reset_id"])
    snapshot.mails.remove(mail)

    assert "links_mailed_or_reported" in failing(snapshot)


def test_an_accepted_self_service_request_without_its_link_is_caught(run: Run) -> None:
    snapshot = copy.deepcopy(run.snapshot)
    snapshot.flows.append({"type": "flow", "event": "self_service", "account_id": JAMES, "status": 202})

    assert failing(snapshot) == {"self_service_accounted"}


def test_a_link_confirmed_twice_by_the_users_is_caught(run: Run) -> None:
    snapshot = copy.deepcopy(run.snapshot)
    snapshot.flows.append(next(f for f in snapshot.flows if f["event"] == "confirmed"))

    assert failing(snapshot) == {"links_used_once"}


def test_a_queue_left_with_messages_is_caught(run: Run) -> None:
    snapshot = copy.deepcopy(run.snapshot)
    snapshot.queues_left["SelfServiceQueue"] = 2

    assert failing(snapshot) == {"queues_drained"}


def test_a_queue_dead_letter_must_name_a_request_of_the_run(run: Run) -> None:
    snapshot = copy.deepcopy(run.snapshot)
    snapshot.faults = True
    snapshot.dead_letters = [
        DeadLetter("SelfServiceDlq", "m-1", {"email": "anna.schmidt@example.com"}, None, "queue")
    ]
    assert failing(snapshot) == set()

    snapshot.dead_letters = [
        DeadLetter("SelfServiceDlq", "m-2", {"email": "someone@else.example"}, None, "queue")
    ]
    assert failing(snapshot) == {"dead_letters_accounted"}


def test_the_stack_journal_names_no_secret(run: Run) -> None:
    journal = Path(run.stack.journal)
    text = journal.read_text() if journal.exists() else ""
    assert not [secret for secret in SEEN.values if secret in text]


# ------------------------------------------------------------------ the events for the CRM
def test_an_event_lost_on_the_way_to_the_bus_is_caught_and_a_duplicate_is_not_one(run: Run) -> None:
    snapshot = copy.deepcopy(run.snapshot)
    [event] = [e for e in snapshot.crm_events if e["detail"]["account_id"] == MARIA_ID]
    snapshot.crm_events.append(copy.deepcopy(event))  # delivered twice: the CRM deduplicates
    assert failing(snapshot) == set()

    snapshot.crm_events = [e for e in snapshot.crm_events if e["detail"]["account_id"] != MARIA_ID]
    assert failing(snapshot) == {"crm_events_once"}


def test_an_event_without_its_change_is_caught(run: Run) -> None:
    snapshot = copy.deepcopy(run.snapshot)
    [event] = [e for e in snapshot.crm_events if e["detail"]["account_id"] == MARIA_ID]
    snapshot.crm_events.append({**event, "detail": {**event["detail"], "event_id": "planted-no-change"}})
    assert failing(snapshot) == {"crm_events_once"}

    snapshot = copy.deepcopy(run.snapshot)
    [event] = [e for e in snapshot.crm_events if e["detail"]["account_id"] == MARIA_ID]
    event["detail_type"] = "AccountLocked"  # Maria changed her password; nobody locked anything
    assert failing(snapshot) == {"crm_events_once"}


def test_a_parked_event_is_accounted_for_with_faults_and_put_on_the_bus_by_the_redrive(run: Run) -> None:
    [change] = _events(run, "password_changed", MARIA_ID)
    [event] = [e for e in run.snapshot.crm_events if e["detail"]["event_id"] == change["event_id"]]
    entry = {
        "Source": "pwreset",
        "DetailType": "PasswordChanged",
        "Detail": json.dumps(event["detail"]),
        "EventBusName": TEMPLATE.physical_name("CrmEventBus"),
        "Time": change["at"],
    }
    letter = {
        "event_id": change["event_id"],
        "detail_type": "PasswordChanged",
        "error_code": "InternalFailure",
    }
    letter |= {"attempts": 4, "entry": entry}
    sqs = run.stack.aws("sqs")
    url = sqs.get_queue_url(QueueName=run.table("CrmEventsDeadLetterQueue"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(letter))
    snapshot = run.collect(faults=True)
    [parked] = snapshot.dead_letters
    assert parked.source == "event"
    lost = copy.deepcopy(snapshot)
    lost.crm_events = [e for e in lost.crm_events if e["detail"]["event_id"] != change["event_id"]]
    assert failing(lost) == set()  # not on the bus, but parked: nothing lost
    assert failing(run.collect(faults=False)) == {"dead_letters_accounted"}

    outcome = redrive.redrive_streams(run.stack, TEMPLATE)

    assert [(letter.function, letter.ok) for letter in outcome.letters] == [("PutEvents", True)]
    after = run.collect()
    assert after.dead_letters == [] and failing(after) == set()
    ids = [e["detail"]["event_id"] for e in after.crm_events]
    assert ids.count(change["event_id"]) == 2  # once more on the bus, the same event_id
