"""After a password change the firm's owners and the client get a mail with time, IP, location, OS
and browser; nothing is lost and nothing is sent twice.

Everything runs under moto: the reset goes through the HTTP API, the stream records are the ones
moto's DynamoDB stream holds, and the notification function runs as Lambda would invoke it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.gateway import FunctionRunner
from devstack.template import local_origin_secret
from pwreset.core.times import format_datetime
from support.accounts import SECOND_OWNER, SECOND_OWNER_EMAIL, add_second_owner, set_login
from support.api import Api
from support.demo_accounts import ANNA, JAMES, MEMBER, OWNER
from support.environment import TEMPLATE
from support.samples import load_event, shape_of
from support.sent_mail import SesSpy, html_of, sent_messages, subject_of, tags, text_of, token_from
from support.spies import ApiCall, ApiCallSpy
from support.streams import MappingRun, lambda_event, run_mapping, stream_records
from support.user_agents import CHROME_ON_WINDOWS, SAFARI_ON_IPHONE

FUNCTION = "NotifyPasswordChangedFunction"
NEW_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"

BERLIN = {
    # Through the stack's own CloudFront: only then are its viewer headers believed.
    "X-Origin-Verify": local_origin_secret(),
    "CloudFront-Viewer-Country": "DE",
    "CloudFront-Viewer-Country-Name": "Germany",
    "CloudFront-Viewer-Country-Region-Name": "Berlin",
    "CloudFront-Viewer-City": "Berlin",
}
CLIENT_IP = "198.51.100.77"
FORGED_IP = "203.0.113.66"


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def firm(demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The demo firm with a second owner who reads English in Tokyo, and the function's own
    environment (as the template gives it) on top of the global one."""
    from pwreset.core.config import settings
    from pwreset.credentials import notifications

    add_second_owner()
    for key, value in TEMPLATE.function_environment(FUNCTION).items():
        monkeypatch.setenv(key, value)
    settings.cache_clear()
    notifications.reset_clients()
    boto3.client("sqs").create_queue(QueueName=TEMPLATE.physical_name("NotifyDeadLetterQueue"))
    yield {**demo, SECOND_OWNER: {"email": SECOND_OWNER_EMAIL, "locale": "en"}}
    notifications.reset_clients()
    settings.cache_clear()


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> SesSpy:
    return SesSpy(monkeypatch, kind="password_changed")


def staff_sends_link(api: Api, demo: dict[str, Any], staff: str, client: str) -> str:
    return api.staff_link(demo[staff], client)


def confirm(api: Api, raw: str, *, user_agent: str, headers: dict[str, str] | None = None) -> None:
    result = api.post(
        "/v1/password-resets/confirm",
        {"token": raw, "password": NEW_PASSWORD},
        headers={"User-Agent": user_agent, **(headers or {})},
        source_ip=CLIENT_IP,
    )
    assert result.status == 200, result.body


def resets_own_password(api: Api, demo: dict[str, Any], person: str, *, user_agent: str) -> None:
    """``person`` asks for a link by their address (self-service) and sets a new password with it."""
    assert api.post("/v1/password-resets", {"email": demo[person]["email"]}).status == 202
    confirm(api, token_from(sent_messages()[-1]), user_agent=user_agent)


def events_table() -> str:
    return os.environ["EVENTS_TABLE"]


def changed_records() -> list[dict[str, Any]]:
    return [
        r
        for r in stream_records(events_table())
        if r["dynamodb"]["NewImage"]["type"]["S"] == "password_changed"
    ]


def changed_at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["dynamodb"]["NewImage"]["at"]["S"])


def notify(runner: FunctionRunner, records: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(runner.invoke(FUNCTION, lambda_event(records)))


def run_stream(runner: FunctionRunner) -> MappingRun:
    """The function fed the events table's stream as the template's event source mapping does."""
    return run_mapping(TEMPLATE, FUNCTION, runner)


def dead_letters() -> list[dict[str, Any]]:
    """What reached the notifier's on-failure queue."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=TEMPLATE.physical_name("NotifyDeadLetterQueue"))["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


# --------------------------------------------------------------------------- what the mails say


def test_chrome_on_windows_in_berlin_mails_every_owner_and_the_client(
    api: Api, firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner
) -> None:
    raw = staff_sends_link(api, firm, MEMBER, ANNA)
    confirm(api, raw, user_agent=CHROME_ON_WINDOWS, headers={**BERLIN, "X-Forwarded-For": FORGED_IP})

    run = run_stream(runner)

    assert run.invocations == 1 and dead_letters() == []
    [record] = changed_records()
    at = changed_at(record)
    readers = {
        firm[OWNER]["email"]: ("Europe/Berlin", "de"),
        firm[SECOND_OWNER]["email"]: ("Asia/Tokyo", "en"),
        firm[ANNA]["email"]: ("Europe/Berlin", "de"),
    }
    # CloudFront names the country in English; German readers get CLDR's name for its code.
    location = {"de": "Berlin, Deutschland", "en": "Berlin, Germany"}
    assert sorted(p["Destination"]["ToAddresses"][0] for p in ses.mails()) == sorted(readers)
    for address, (zone, locale) in readers.items():
        [mail] = ses.to(address)
        when = format_datetime(at, zone, locale)
        assert f"({zone})" in when
        for part in (text_of(mail), html_of(mail)):
            assert when in part, address
            assert CLIENT_IP in part
            assert location[locale] in part
            assert "Windows 10" in part
            assert "Chrome 131.0.0.0" in part
            assert "Jonas Weber" in part  # the member who sent the link
            assert FORGED_IP not in part
            assert NEW_PASSWORD not in part
        assert tags(mail)["event_id"] == record["dynamodb"]["Keys"]["event_id"]["S"]
        assert mail["ConfigurationSetName"] == "password-reset-dev"

    petra, markus, anna = (ses.to(firm[a]["email"])[0] for a in (OWNER, SECOND_OWNER, ANNA))
    assert (
        subject_of(petra)
        == "Passwort geändert: Anna Schmidt – Mandantenportal Steuerkanzlei Berger & Partner"
    )
    assert "anna.schmidt@example.com" in text_of(petra)
    assert "Uhr (Europe/Berlin)" in text_of(petra)
    assert (
        subject_of(markus) == "Password changed: Anna Schmidt – Steuerkanzlei Berger & Partner client portal"
    )
    assert " pm (Asia/Tokyo)" in text_of(markus) or " am (Asia/Tokyo)" in text_of(markus)
    assert tags(petra)["kind"] == "password_changed_owner"
    assert subject_of(anna) == "Ihr Passwort wurde geändert – Mandantenportal Steuerkanzlei Berger & Partner"
    assert tags(anna)["kind"] == "password_changed_holder"
    assert "wenden Sie sich umgehend an Steuerkanzlei Berger &amp; Partner" in html_of(anna)
    assert "enthält diese E-Mail niemals Ihr Passwort" in text_of(anna)


def test_safari_on_iphone_without_location_headers_says_location_unknown(
    api: Api, firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner
) -> None:
    resets_own_password(api, firm, JAMES, user_agent=SAFARI_ON_IPHONE)

    run_stream(runner)

    james = ses.to(firm[JAMES]["email"])[0]
    petra = ses.to(firm[OWNER]["email"])[0]
    markus = ses.to(firm[SECOND_OWNER]["email"])[0]
    for mail, unknown in ((james, "unknown"), (petra, "unbekannt"), (markus, "unknown")):
        text = text_of(mail)
        assert "iOS 17.6.1" in text
        assert "Mobile Safari 17.6" in text
        assert CLIENT_IP in text
        assert "Germany" not in text
        assert unknown in text
    assert "Location:          unknown" in text_of(james)
    assert "Standort:                unbekannt" in text_of(petra)
    assert "Location:          unknown" in text_of(markus)
    assert "(America/New_York)" in text_of(james)
    # Self-service: nobody from the firm sent the link.
    assert "You requested a reset link yourself" in text_of(james)
    assert "Selbstbedienung: James Miller hat" in text_of(petra)


def test_location_comes_from_the_geoip_database_when_one_is_configured(
    api: Api,
    firm: dict[str, Any],
    ses: SesSpy,
    runner: FunctionRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pwreset.core.config import settings
    from pwreset.credentials import notifications
    from support.geoip import write_city_database

    monkeypatch.setenv("GEOIP_DATABASE_PATH", str(write_city_database(tmp_path / "city.mmdb")))
    settings.cache_clear()
    notifications.reset_clients()
    raw = staff_sends_link(api, firm, OWNER, ANNA)
    confirm(api, raw, user_agent=CHROME_ON_WINDOWS)  # no CloudFront headers

    run_stream(runner)

    assert "München, Bayern, Deutschland" in text_of(ses.to(firm[OWNER]["email"])[0])
    assert "Munich, Bavaria, Germany" in text_of(ses.to(firm[SECOND_OWNER]["email"])[0])


# --------------------------------------------------------------------------- what the confirm records


def test_the_event_records_the_gateways_source_ip_never_x_forwarded_for(
    api: Api, firm: dict[str, Any]
) -> None:
    raw = staff_sends_link(api, firm, MEMBER, ANNA)
    confirm(api, raw, user_agent=CHROME_ON_WINDOWS, headers={**BERLIN, "X-Forwarded-For": FORGED_IP})

    [record] = changed_records()
    image = record["dynamodb"]["NewImage"]
    detail = {k: next(iter(v.values())) for k, v in image["detail"]["M"].items()}
    assert detail["source_ip"] == CLIENT_IP
    assert FORGED_IP not in json.dumps(record)
    assert detail["user_agent"] == CHROME_ON_WINDOWS
    assert (detail["city"], detail["region"], detail["country"], detail["country_name"]) == (
        "Berlin",
        "Berlin",
        "DE",
        "Germany",
    )
    assert detail["requested_by"] == MEMBER
    assert detail["requested_by_name"] == "Jonas Weber"
    assert datetime.fromisoformat(detail["requested_at"]) < changed_at(record)
    assert image["account_id"]["S"] == ANNA and image["firm_id"]["S"] == "firm-berger"
    assert record["eventName"] == "INSERT"


# --------------------------------------------------------------------------- nothing lost, nothing twice


@pytest.mark.parametrize("throttled", [OWNER, ANNA], ids=["owner-mail-throttled", "client-mail-throttled"])
def test_ses_throttling_fails_the_item_and_the_retry_sends_each_mail_exactly_once(
    api: Api, firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner, throttled: str
) -> None:
    raw = staff_sends_link(api, firm, OWNER, ANNA)
    confirm(api, raw, user_agent=CHROME_ON_WINDOWS, headers=BERLIN)
    [record] = changed_records()
    ses.fail_once.add(firm[throttled]["email"])
    ses.attempts.clear()

    first = notify(runner, [record])

    assert first == {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    # The other mails went out on the first try; the throttled one did not.
    assert len(ses.mails()) == 2
    assert ses.to(firm[throttled]["email"]) == []

    second = notify(runner, [record])

    assert second == {"batchItemFailures": []}
    for account in (OWNER, SECOND_OWNER, ANNA):
        assert len(ses.to(firm[account]["email"])) == 1, account
    # SES saw the throttled address twice (the failure and the retry), every other address once.
    assert sorted(ses.attempts) == sorted([firm[a]["email"] for a in (OWNER, SECOND_OWNER, ANNA, throttled)])

    # A third delivery of the same record (Lambda retries records after a failed one too).
    assert notify(runner, [record]) == {"batchItemFailures": []}
    assert len(ses.mails()) == 3


def test_a_permanently_failing_event_ends_in_the_dead_letter_queue_and_the_rest_is_mailed(
    api: Api, firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner
) -> None:
    # James's change comes first in the stream, Anna's after it in the same batch.
    resets_own_password(api, firm, JAMES, user_agent=SAFARI_ON_IPHONE)
    confirm(api, staff_sends_link(api, firm, OWNER, ANNA), user_agent=CHROME_ON_WINDOWS, headers=BERLIN)
    james_record, anna_record = changed_records()
    ses.fail_always.add(firm[JAMES]["email"])
    ses.attempts.clear()

    run = run_stream(runner)

    sub = TEMPLATE.stream_subscriptions()[0]
    assert (sub.maximum_retry_attempts, sub.bisect_on_error, sub.report_batch_item_failures) == (
        5,
        True,
        True,
    )
    # One first try and five retries, each starting at James's record.
    assert run.invocations == 1 + sub.maximum_retry_attempts
    assert all(seqs[0] == james_record["dynamodb"]["SequenceNumber"] for seqs in run.delivered)
    # The dead-letter queue names where the failing record is.
    [message] = dead_letters()
    info = message["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == james_record["dynamodb"]["SequenceNumber"]
    assert info["streamArn"] == james_record["eventSourceARN"]
    # Anna's change was mailed once although her record was delivered six times; James's owners
    # were mailed once although his event was retried five times; James's own mail never went.
    for account in (OWNER, SECOND_OWNER):
        assert len(ses.to(firm[account]["email"])) == 2, account
    assert len(ses.to(firm[ANNA]["email"])) == 1
    assert ses.to(firm[JAMES]["email"]) == []
    assert ses.attempts.count(firm[JAMES]["email"]) == 1 + sub.maximum_retry_attempts
    assert anna_record["dynamodb"]["SequenceNumber"] in run.delivered[0]


def test_owners_who_cannot_receive_mail_are_skipped_not_retried(
    api: Api, firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner
) -> None:
    set_login(firm[SECOND_OWNER]["email"], email_status="undeliverable")
    confirm(api, staff_sends_link(api, firm, OWNER, ANNA), user_agent=CHROME_ON_WINDOWS)

    run = run_stream(runner)

    assert run.invocations == 1
    assert ses.to(firm[SECOND_OWNER]["email"]) == []
    assert len(ses.mails()) == 2


def test_other_events_are_filtered_out_by_the_template(
    api: Api, firm: dict[str, Any], runner: FunctionRunner
) -> None:
    staff_sends_link(api, firm, OWNER, ANNA)  # a reset_requested event only

    run = run_stream(runner)

    kinds = {r["dynamodb"]["NewImage"]["type"]["S"] for r in stream_records(events_table())}
    assert kinds == {"account_provisioned", "reset_requested"}
    assert run.invocations == 0 and run.delivered == []


def test_a_record_that_slips_past_the_filter_is_skipped_not_mailed(
    api: Api, firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner
) -> None:
    staff_sends_link(api, firm, OWNER, ANNA)
    [requested] = [
        r
        for r in stream_records(events_table())
        if r["dynamodb"]["NewImage"]["type"]["S"] == "reset_requested"
    ]

    assert notify(runner, [requested]) == {"batchItemFailures": []}
    assert ses.mails() == []


# --------------------------------------------------------------------------- what a notification costs


@pytest.fixture
def aws_calls(ses: SesSpy, monkeypatch: pytest.MonkeyPatch) -> ApiCallSpy:
    """Every AWS call the function makes once ``recording`` is on (over the SES spy, so SendEmail
    is seen too)."""
    spy = ApiCallSpy(monkeypatch)
    spy.recording = False
    return spy


def throttled_batch_read(call: ApiCall) -> dict[str, Any]:
    """BatchGetItem answered as if DynamoDB throttled it all."""
    return {"Responses": {}, "UnprocessedKeys": call.params["RequestItems"]}


GUARDED_MAIL = ["dynamodb.PutItem", "sesv2.SendEmail", "dynamodb.UpdateItem"]
# The client's mail stores its lock link's digest once its claim is won (on its account still
# having the address: a transaction), and its delivery record (the deliveries timeline), before it
# is sent.
GUARDED_MAIL_WITH_LOCK_LINK = [
    "dynamodb.PutItem",
    "dynamodb.TransactWriteItems",
    "dynamodb.UpdateItem",
    "sesv2.SendEmail",
    "dynamodb.UpdateItem",
]


def test_a_notification_reads_twice_and_claims_sends_and_marks_each_mail(
    api: Api, firm: dict[str, Any], ses: SesSpy, aws_calls: ApiCallSpy, runner: FunctionRunner
) -> None:
    confirm(api, staff_sends_link(api, firm, OWNER, ANNA), user_agent=CHROME_ON_WINDOWS, headers=BERLIN)
    [record] = changed_records()
    aws_calls.recording = True

    assert notify(runner, [record]) == {"batchItemFailures": []}

    # The client and the firm in one batch, the client's login and its firms in one query, the
    # owners in one query and their logins (may they be mailed) in one batch, then per mail (two
    # owners and the client) an idempotency claim, the send and the mark: no record per event on
    # top. The client's mail also writes its lock link and its delivery record.
    names = aws_calls.names()
    assert names == [
        "dynamodb.BatchGetItem",
        "dynamodb.Query",
        "dynamodb.Query",
        "dynamodb.BatchGetItem",
        *GUARDED_MAIL * 2,
        *GUARDED_MAIL_WITH_LOCK_LINK,
    ]
    [lock_link] = [
        item["Put"]
        for c in aws_calls.calls
        if c.operation == "TransactWriteItems"
        for item in c.params["TransactItems"]
        if "Put" in item
    ]
    assert lock_link["TableName"] == os.environ["LOCK_TOKENS_TABLE"] and "token_hash" in lock_link["Item"]
    [record_write] = [
        c for c in aws_calls.calls if c.params.get("TableName") == os.environ["DELIVERY_EVENTS_TABLE"]
    ]
    assert record_write.params["Key"] == {"reset_id": {"S": tags(ses.to(firm[ANNA]["email"])[0])["reset_id"]}}
    assert len(ses.mails()) == 3

    aws_calls.calls.clear()
    assert notify(runner, [record]) == {"batchItemFailures": []}  # redelivered after it finished

    assert "sesv2.SendEmail" not in aws_calls.names()
    assert "dynamodb.TransactWriteItems" not in aws_calls.names()  # the claims fail: no new lock link
    assert len(ses.mails()) == 3


def test_a_throttled_batch_read_falls_back_to_single_reads_and_still_mails(
    api: Api, firm: dict[str, Any], ses: SesSpy, aws_calls: ApiCallSpy, runner: FunctionRunner
) -> None:
    confirm(api, staff_sends_link(api, firm, OWNER, ANNA), user_agent=CHROME_ON_WINDOWS, headers=BERLIN)
    [record] = changed_records()
    aws_calls.answer("BatchGetItem", throttled_batch_read)
    aws_calls.recording = True

    assert notify(runner, [record]) == {"batchItemFailures": []}

    # The client and the firm, then the two owners' logins, each read singly.
    assert aws_calls.names().count("dynamodb.GetItem") == 4
    anna = ses.to(firm[ANNA]["email"])
    assert len(anna) == 1
    assert "Steuerkanzlei Berger & Partner" in subject_of(anna[0])  # the firm's name, read singly
    assert len(ses.mails()) == 3


# --------------------------------------------------------------------------- the sample event


def test_the_sample_event_is_a_real_stream_record_that_the_function_handles(
    firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner
) -> None:
    event = load_event("notify_password_changed.json")
    [record] = event["Records"]
    assert record["eventSource"] == "aws:dynamodb" and record["eventName"] == "INSERT"

    assert notify(runner, event["Records"]) == {"batchItemFailures": []}

    assert len(ses.mails()) == 3
    assert "Chrome 131.0.0.0" in text_of(ses.to(firm[ANNA]["email"])[0])


def test_the_sample_event_has_the_shape_of_a_fresh_record(firm: dict[str, Any]) -> None:
    """The committed sample was made by tests/support/notify_sample.py; if the confirm path records
    something new, this fails until the sample is made again."""
    from support.notify_sample import record_from_a_real_reset

    assert shape_of(record_from_a_real_reset()) == shape_of(
        load_event("notify_password_changed.json")["Records"][0]
    )


# --------------------------------------------------------------------------- staff changing their own


def test_an_owner_resets_her_own_password_and_the_other_owner_is_told_once(
    api: Api, firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner
) -> None:
    """Staff use the same self-service as clients. The other owner hears of it in words for an
    owner (not "your client"); Petra gets her own mail once, not an owner's mail about herself
    (security review #14, item 8)."""
    resets_own_password(api, firm, OWNER, user_agent=CHROME_ON_WINDOWS)

    run_stream(runner)

    [markus] = ses.to(firm[SECOND_OWNER]["email"])
    assert tags(markus)["kind"] == "password_changed_owner"
    assert "Petra Berger, an owner of Steuerkanzlei Berger & Partner, was changed" in text_of(markus)
    assert "your client" not in text_of(markus)
    [petra] = ses.to(firm[OWNER]["email"])
    assert tags(petra)["kind"] == "password_changed_holder"
    assert len(ses.mails()) == 2


def test_a_team_members_change_reaches_every_owner_in_words_for_a_team_member(
    api: Api, firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner
) -> None:
    resets_own_password(api, firm, MEMBER, user_agent=CHROME_ON_WINDOWS)

    run_stream(runner)

    [petra] = ses.to(firm[OWNER]["email"])
    assert subject_of(petra).startswith("Passwort geändert: Jonas Weber")
    assert "Jonas Weber (Teammitglied)" in text_of(petra) and "Mandant:" not in text_of(petra)
    [markus] = ses.to(firm[SECOND_OWNER]["email"])
    assert "your team member Jonas Weber was changed" in text_of(markus)
    assert [tags(p)["kind"] for p in ses.to(firm[MEMBER]["email"])] == ["password_changed_holder"]


# --------------------------------------------------------------------------- a run of changes (#24.3)


def change_while_signed_in(api: Api, email: str, current: str, new: str) -> None:
    session = api.sign_in(email, current)
    changed = api.post(
        "/v1/sessions/current/password", {"current_password": current, "new_password": new}, token=session
    )
    assert changed.status == 200, changed.body


def test_owners_hear_of_a_logins_changes_once_in_ten_minutes_and_the_holder_of_each(
    api: Api, firm: dict[str, Any], ses: SesSpy, runner: FunctionRunner
) -> None:
    """A client changing the password again and again must not mail every owner each time: a
    change within OWNER_MAIL_COALESCE_SECONDS of the owner's last mail about the login mails the
    owners nothing, while the holder gets every mail (with its lock link)."""
    from pwreset.credentials import notifications

    assert getattr(notifications, "OWNER_MAIL_COALESCE_SECONDS", None) == 600
    email, owners = firm[ANNA]["email"], [firm[OWNER]["email"], firm[SECOND_OWNER]["email"]]
    passwords = [firm[ANNA]["password"], NEW_PASSWORD, "Kastanienallee im Herbstnebel 42"]
    change_while_signed_in(api, email, passwords[0], passwords[1])
    change_while_signed_in(api, email, passwords[1], passwords[2])
    run_stream(runner)

    assert len(changed_records()) == 2 and dead_letters() == []
    assert len(ses.to(email)) == 2
    assert [len(ses.to(owner)) for owner in owners] == [1, 1]

    # Ten minutes after the owners' mail (its record expired), the next change mails them again.
    table = boto3.resource("dynamodb").Table(os.environ["IDEMPOTENCY_TABLE"])
    for item in table.scan(ConsistentRead=True)["Items"]:
        if str(item["id"]).startswith("password_changed_owner_mail#"):
            table.update_item(Key={"id": item["id"]}, AttributeUpdates={"expiration": {"Value": 1}})
    change_while_signed_in(api, email, passwords[2], passwords[0] + " und mehr")
    run_stream(runner)
    assert len(ses.to(email)) == 3
    assert [len(ses.to(owner)) for owner in owners] == [2, 2]
