"""SES events drive each mail's timeline, its status and the diagnosis staff read at
GET /v1/accounts/{account_id}/password-reset/deliveries; bad addresses block staff sends (409).
The fixtures' events happened on 2 March 2026; the view's clock reads an hour later (a link is not
yet "delivered, but never opened")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from support.accounts import login_of, password_hash, set_login
from support.api import Api
from support.demo_accounts import ANNA, JAMES, MARIA, MEMBER, OWNER
from support.recorded import assert_nothing_recorded_since, assert_only_recorded_since, recorded
from support.samples import load_event
from support.sent_mail import sent_messages
from support.ses_events import ses_event
from support.sns import post, publish, signer, topic_arn
from support.spies import ApiCall, ApiCallSpy

OTHER_OWNER = "acc-hartmann-owner"  # Lena Hartmann, reads English
OTHER_MEMBER = "acc-hartmann-member"
SENDER = "no-reply@portal.example.com"

pytestmark = pytest.mark.usefixtures("fake_sns")  # every SES event here is signed and verified
FIXTURES_DAY = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)  # an hour after the fixtures' events


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from pwreset.delivery import deliveries

    monkeypatch.setattr(deliveries, "_now", lambda: FIXTURES_DAY)


def staff_send(api: Api, demo: dict[str, Any], client: str = ANNA, staff: str = OWNER) -> Any:
    """A staff-sent reset; returns its token record (reset_id, ses_message_id, email)."""
    from pwreset.storage.models import ResetToken

    result = api.post(f"/v1/accounts/{client}/password-reset", token=api.sign_in_as(demo[staff]))
    assert result.status == 202, result.body
    [record] = [r for r in ResetToken.scan() if r.reset_id == result.body["reset_id"]]
    return record


def report(api: Api, record: Any, fixture: str, *, tagged: bool = True, **kw: Any) -> Any:
    """SES reports ``fixture`` about the mail of ``record`` (through a signed SNS message)."""
    event = ses_event(
        fixture,
        ses_message_id=record.ses_message_id,
        reset_id=record.reset_id if tagged else None,
        recipient=record.email,
    )
    result = publish(api, event, **kw)
    assert result.status == 200, result.body
    return result


def deliveries(api: Api, demo: dict[str, Any], client: str = ANNA, staff: str = OWNER) -> Any:
    result = api.get(f"/v1/accounts/{client}/password-reset/deliveries", token=api.sign_in_as(demo[staff]))
    assert result.status == 200, result.body
    return result.body


def only_delivery(api: Api, demo: dict[str, Any], **kw: Any) -> dict[str, Any]:
    [delivery] = deliveries(api, demo, **kw)["deliveries"]
    return delivery


# --------------------------------------------------------------------------- the timeline


def test_send_and_delivery_make_a_delivered_timeline(api: Api, demo: dict[str, Any]) -> None:
    record = staff_send(api, demo)
    report(api, record, "event-send.json")
    report(api, record, "event-delivery.json")

    body = deliveries(api, demo)

    assert body["email"] == "anna.schmidt@example.com"
    assert body["email_status"] == "ok"
    [delivery] = body["deliveries"]
    assert delivery["reset_id"] == record.reset_id
    assert delivery["kind"] == "reset"
    assert delivery["requested_at"] == record.requested_at
    assert delivery["requested_by"] == {"account_id": OWNER, "name": "Petra Berger"}
    assert delivery["status"] == "delivered"
    assert delivery["diagnosis"]["code"] == "delivered"  # if the client cannot find it: the spam folder
    assert [(e["type"], e["at"]) for e in delivery["events"]] == [
        ("send", "2026-03-02T09:15:00.120000Z"),
        ("delivery", "2026-03-02T09:15:02.311000Z"),
    ]
    assert delivery["events"][1]["detail"]["smtp_response"].startswith("250 2.0.0 OK")
    assert delivery["events"][1]["detail"]["processing_time_ms"] == 2191


# Every fixture, through the whole path: status, diagnosis code, what it does to the address.
FIXTURE_OUTCOMES = [
    ("event-send.json", "sent", "sent", "ok"),
    ("event-delivery.json", "delivered", "delivered", "ok"),
    ("event-bounce-permanent-general.json", "bounced", "address_not_found", "undeliverable"),
    ("event-bounce-permanent-noemail.json", "bounced", "address_not_found", "undeliverable"),
    ("event-bounce-permanent-spam-block.json", "bounced", "rejected_by_provider", "undeliverable"),
    ("event-bounce-suppressed.json", "suppressed", "suppressed_by_ses", "undeliverable"),
    ("event-bounce-on-account-suppression-list.json", "suppressed", "suppressed", "undeliverable"),
    ("event-bounce-transient-general.json", "bounced", "temporary_failure", "ok"),
    ("event-bounce-transient-mailbox-full.json", "bounced", "mailbox_full", "ok"),
    ("event-bounce-transient-message-too-large.json", "bounced", "message_too_large", "ok"),
    ("event-bounce-transient-content-rejected.json", "bounced", "content_rejected", "ok"),
    ("event-bounce-transient-attachment-rejected.json", "bounced", "attachment_rejected", "ok"),
    ("event-bounce-undetermined.json", "bounced", "undetermined_bounce", "ok"),
    ("event-complaint.json", "complained", "complaint", "complained"),
    ("event-complaint-not-spam.json", "delivered", "marked_not_spam", "ok"),
    ("event-reject.json", "failed", "rejected_by_ses", "ok"),
    ("event-delivery-delay.json", "delayed", "delayed_recipient_server", "ok"),
    ("event-delivery-delay-mailbox-full.json", "delayed", "delayed_mailbox_full", "ok"),
    ("event-rendering-failure.json", "failed", "rendering_failed", "ok"),
    ("event-subscription.json", "delivered", "unsubscribed", "ok"),
    ("event-open.json", "sent", "sent", "ok"),  # not published (no tracking); kept, says nothing
    ("notification-bounce.json", "bounced", "address_not_found", "undeliverable"),
    ("notification-complaint.json", "complained", "complaint", "complained"),
    ("notification-delivery.json", "delivered", "delivered", "ok"),
    ("notification-subscription-succeeded.json", "sent", "sent", "ok"),
]


def test_every_fixture_has_an_expected_outcome() -> None:
    from support.ses_events import fixture_names

    assert sorted(name for name, *_ in FIXTURE_OUTCOMES) == fixture_names()


@pytest.mark.parametrize(("fixture", "status", "code", "email_status"), FIXTURE_OUTCOMES)
def test_each_ses_event_gives_its_status_diagnosis_and_address_verdict(
    api: Api, demo: dict[str, Any], fixture: str, status: str, code: str, email_status: str
) -> None:
    record = staff_send(api, demo)
    # Identity notifications carry no tags: they are matched by the SES message id.
    report(api, record, fixture, tagged=fixture.startswith("event-"))

    body = deliveries(api, demo)

    [delivery] = body["deliveries"]
    assert delivery["status"] == status
    assert delivery["diagnosis"]["code"] == code
    assert body["email_status"] == email_status
    assert delivery["diagnosis"]["summary"]
    assert delivery["diagnosis"]["advice"]
    assert set(delivery["diagnosis"]) == {"code", "summary", "advice"}
    if fixture == "notification-subscription-succeeded.json":
        assert delivery["events"] == []
    else:
        [event] = delivery["events"]
        assert event["at"].startswith("2026-03-02T")


def test_unknown_event_types_are_kept_without_their_details(api: Api, demo: dict[str, Any]) -> None:
    record = staff_send(api, demo)
    report(api, record, "event-open.json")

    [event] = only_delivery(api, demo)["events"]

    assert event == {"type": "open", "at": "2026-03-02T09:40:19.652000Z", "detail": {}}


def test_unknown_fields_are_tolerated(api: Api, demo: dict[str, Any]) -> None:
    record = staff_send(api, demo)
    event = ses_event("event-bounce-permanent-general.json", reset_id=record.reset_id, recipient=record.email)
    event["bounce"]["newField"] = {"nested": [1, 2, 3]}
    event["mail"]["somethingElse"] = None
    event["extraTopLevel"] = "x"

    assert publish(api, event).status == 200
    assert only_delivery(api, demo)["status"] == "bounced"


# --------------------------------------------------------------------------- order does not matter


@pytest.mark.parametrize(
    ("arrivals", "status"),
    [
        (["event-bounce-permanent-general.json", "event-send.json"], "bounced"),
        (["event-send.json", "event-delivery.json", "event-bounce-permanent-general.json"], "bounced"),
        (["event-bounce-permanent-general.json", "event-delivery.json", "event-send.json"], "bounced"),
        (["event-delivery.json", "event-delivery-delay.json", "event-send.json"], "delivered"),
        (["event-delivery-delay.json", "event-send.json"], "delayed"),
        (["event-complaint.json", "event-delivery.json", "event-send.json"], "complained"),
    ],
)
def test_unordered_arrival_gives_the_right_final_status(
    api: Api, demo: dict[str, Any], arrivals: list[str], status: str
) -> None:
    record = staff_send(api, demo)
    for fixture in arrivals:
        report(api, record, fixture)

    delivery = only_delivery(api, demo)

    assert delivery["status"] == status
    times = [e["at"] for e in delivery["events"]]
    assert times == sorted(times), "the timeline reads in event time, not arrival order"


def test_an_event_that_overtakes_the_message_id_write_still_lands(api: Api, demo: dict[str, Any]) -> None:
    """SES can report before the send's message id is written to the token; the tag carries it."""
    from pwreset.storage.models import ResetToken

    record = staff_send(api, demo)
    ses_message_id = record.ses_message_id
    record.update(actions=[ResetToken.ses_message_id.remove()])
    record.ses_message_id = ses_message_id

    report(api, record, "event-bounce-permanent-general.json")

    assert only_delivery(api, demo)["status"] == "bounced"


def tables_holding(text: str) -> list[str]:
    """Every table (rate-limit counters too) with an item that holds ``text``, in any case."""
    everything = recorded(counters=True).items
    return sorted(table for table, items in everything.items() if text.lower() in repr(items).lower())


@pytest.mark.parametrize(
    ("fixture", "tagged"),
    [
        ("event-bounce-permanent-general.json", True),
        ("notification-bounce.json", False),
        ("event-complaint.json", True),
        ("event-delivery-delay.json", True),
    ],
)
def test_an_ses_event_after_the_erasure_writes_the_address_nowhere(
    api: Api, demo: dict[str, Any], fixture: str, tagged: bool
) -> None:
    """#24.6: erasure deletes the account's links and their delivery timelines; SES reports days
    late (a bounce, a complaint), and the timeline that event would have made again held the
    address. Events land only on a timeline that exists, or while the link exists."""
    from pwreset.storage.models import DeliveryTimeline

    record = staff_send(api, demo)
    report(api, record, "event-delivery.json")
    assert DeliveryTimeline.get(record.reset_id).events
    assert api.signed("DELETE", f"/v1/admin/accounts/{ANNA}").status == 204
    assert tables_holding(record.email) == []

    late = ses_event(
        fixture,
        ses_message_id=record.ses_message_id,
        reset_id=record.reset_id if tagged else None,
        recipient=record.email,
    )
    result = publish(api, late)

    assert tables_holding(record.email) == []
    assert DeliveryTimeline.count() == 0
    assert (result.status, result.body) == (200, {"status": "unmatched"})


def test_a_link_issued_without_a_timeline_gets_one_from_its_first_event_while_it_exists(
    api: Api, demo: dict[str, Any]
) -> None:
    """Links issued before their timeline started with them (the empty timeline is written in the
    link's transaction now) still get their events: the first one checks that the link exists."""
    from pwreset.storage.models import DeliveryTimeline

    record = staff_send(api, demo)
    DeliveryTimeline(record.reset_id).delete()  # as a link issued before the change has none

    report(api, record, "event-bounce-permanent-general.json")

    assert only_delivery(api, demo)["status"] == "bounced"
    assert len(DeliveryTimeline.get(record.reset_id).events) == 1


def test_an_event_for_a_reset_nobody_issued_starts_no_timeline(api: Api, demo: dict[str, Any]) -> None:
    from pwreset.storage.models import DeliveryTimeline

    result = publish(api, ses_event("event-bounce-permanent-general.json", reset_id="f" * 32))

    assert (result.status, result.body) == (200, {"status": "unmatched"})
    assert DeliveryTimeline.count() == 0
    assert deliveries(api, demo)["email_status"] == "undeliverable"  # the address is still judged


def test_a_mail_to_staff_has_no_timeline_but_its_bounce_still_marks_the_address(
    api: Api, demo: dict[str, Any]
) -> None:
    """The owners' notices carry no reset_id: nothing of the client's timeline changes, but an
    address that bounces is undeliverable whoever's mail found out."""
    record = staff_send(api, demo)
    event = ses_event(
        "event-bounce-permanent-general.json",
        ses_message_id="another-mail",
        reset_id=None,
        recipient=record.email,
    )
    event["mail"]["tags"]["kind"] = ["password_changed_owner"]

    assert publish(api, event).body == {"status": "unmatched"}

    body = deliveries(api, demo)
    assert body["deliveries"][0]["events"] == []
    assert body["email_status"] == "undeliverable"


def readdress_anna(api: Api, email: str) -> None:
    """The CRM gives Anna a new address: her account moves to that address's login."""
    body = {"firm_id": "firm-berger", "role": "client", "email": email, "name": "Anna Schmidt"}
    assert api.signed("PUT", f"/v1/admin/accounts/{ANNA}", body).status == 200


def test_a_bounce_for_an_old_address_does_not_mark_the_new_one(api: Api, demo: dict[str, Any]) -> None:
    record = staff_send(api, demo)
    readdress_anna(api, "anna.neu@example.com")

    report(api, record, "event-bounce-permanent-general.json")

    assert login_of("anna.neu@example.com").email_status == "ok"
    assert login_of(demo[ANNA]["email"]) is None  # the old address's login went with its account


def test_a_complaint_is_not_downgraded_by_a_later_bounce(api: Api, demo: dict[str, Any]) -> None:
    record = staff_send(api, demo)
    report(api, record, "event-complaint.json")
    report(api, record, "event-bounce-permanent-general.json")

    assert login_of(demo[ANNA]["email"]).email_status == "complained"


def test_a_bounce_refused_for_the_address_still_lands_on_the_timeline(api: Api, demo: dict[str, Any]) -> None:
    from pwreset.storage.models import DeliveryTimeline

    record = staff_send(api, demo)
    report(api, record, "event-complaint.json")

    assert report(api, record, "event-bounce-permanent-general.json").body == {"status": "recorded"}

    assert login_of(demo[ANNA]["email"]).email_status == "complained"
    events = [json.loads(str(e))["type"] for e in DeliveryTimeline.get(record.reset_id).events]
    assert sorted(events) == ["bounce", "complaint"]


def test_a_redelivered_bounce_changes_nothing_even_after_the_address_was_cleared(
    api: Api, demo: dict[str, Any]
) -> None:
    from pwreset.storage.models import DeliveryTimeline

    record = staff_send(api, demo)
    bounce = ses_event(
        "event-bounce-permanent-general.json",
        ses_message_id=record.ses_message_id,
        reset_id=record.reset_id,
        recipient=record.email,
    )
    message = signer().notification(topic_arn(), bounce)
    assert post(api, message).body == {"status": "recorded"}
    assert login_of(record.email).email_status == "undeliverable"
    set_login(record.email, email_status="ok")  # the mailbox was fixed

    assert post(api, message).body == {"status": "duplicate"}  # SNS delivers at least once

    assert login_of(record.email).email_status == "ok"
    assert len(DeliveryTimeline.get(record.reset_id).events) == 1


def test_a_bounce_costs_one_query_and_one_transaction(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    record = staff_send(api, demo)
    calls = ApiCallSpy(monkeypatch)

    report(api, record, "event-bounce-permanent-general.json")

    # The address's login with its accounts (one Query by its key: each active account gets the
    # CRM's event), then the marker, the timeline entry, the mark and the events together.
    webhook = [c.name for c in calls.calls if c.function == "SesEventsFunction"]
    assert webhook == ["dynamodb.Query", "dynamodb.TransactWriteItems"]
    assert login_of(demo[ANNA]["email"]).email_status == "undeliverable"


# --------------------------------------------------------------------------- what staff read


def test_the_diagnosis_is_in_the_staff_members_language(api: Api, demo: dict[str, Any]) -> None:
    german = staff_send(api, demo, ANNA, OWNER)
    english = staff_send(api, demo, MARIA, OTHER_OWNER)
    report(api, german, "event-bounce-permanent-general.json")
    report(api, english, "event-bounce-permanent-general.json")

    de = only_delivery(api, demo, client=ANNA, staff=OWNER)["diagnosis"]
    en = only_delivery(api, demo, client=MARIA, staff=OTHER_OWNER)["diagnosis"]

    assert de["code"] == en["code"] == "address_not_found"
    assert de["summary"] == "Der E-Mail-Anbieter des Mandanten meldet, dass es diese Adresse nicht gibt."
    assert en["summary"] == "The client's mail provider reports that this address does not exist."
    assert any("Tippfehler" in line for line in de["advice"])
    assert any("typo" in line for line in en["advice"])


def test_a_misspelt_provider_gets_a_did_you_mean(api: Api, demo: dict[str, Any]) -> None:
    readdress_anna(api, "anna.schmidt@gmial.com")
    set_login("anna.schmidt@gmial.com", password_hash=password_hash(demo[ANNA]["password"]))
    record = staff_send(api, demo)
    report(api, record, "event-bounce-permanent-noemail.json")

    # The address change also told the previous address (a mail of its own on the timeline).
    [delivery] = [d for d in deliveries(api, demo)["deliveries"] if d["kind"] == "reset"]
    diagnosis = delivery["diagnosis"]

    assert diagnosis["code"] == "address_not_found"
    assert diagnosis["advice"][0] == (
        "Meinten Sie anna.schmidt@gmail.com? "
        "Die Domain gmial.com sieht nach einem Tippfehler von gmail.com aus."
    )


@pytest.mark.parametrize("fixture", ["event-bounce-permanent-spam-block.json", "event-complaint.json"])
def test_rejections_and_complaints_name_the_sender_to_whitelist(
    api: Api, demo: dict[str, Any], fixture: str
) -> None:
    record = staff_send(api, demo)
    report(api, record, fixture)

    diagnosis = only_delivery(api, demo)["diagnosis"]

    assert any(SENDER in line for line in diagnosis["advice"])


def test_delivered_but_never_opened_for_a_day_points_to_the_spam_folder(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwreset.delivery import deliveries as view

    record = staff_send(api, demo)
    report(api, record, "event-delivery.json")  # delivered at 2026-03-02T09:15:02.311Z
    delivered_at = datetime(2026, 3, 2, 9, 15, 2, 311000, tzinfo=UTC)
    monkeypatch.setattr(view, "_now", lambda: delivered_at + timedelta(hours=23, minutes=59))
    assert only_delivery(api, demo)["diagnosis"]["code"] == "delivered"  # not a day yet

    monkeypatch.setattr(view, "_now", lambda: delivered_at + timedelta(hours=24))
    delivery = only_delivery(api, demo)

    assert delivery["status"] == "delivered"
    assert delivery["diagnosis"]["code"] == "delivered_not_used"
    assert "Spam-" in delivery["diagnosis"]["summary"] and "Quarantäne" in delivery["diagnosis"]["summary"]
    assert any(SENDER in line and "Whitelist" in line for line in delivery["diagnosis"]["advice"])
    # The help article for the client, in the client's language (Anna reads German).
    assert any(line.endswith("/help/reset-email?lang=de") for line in delivery["diagnosis"]["advice"])


def test_a_link_opened_on_the_page_is_not_called_filtered(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwreset.delivery import deliveries as view
    from support.sent_mail import token_from

    record = staff_send(api, demo)
    report(api, record, "event-delivery.json")
    verified = api.post("/v1/password-resets/verify", {"token": token_from(sent_messages()[-1])})
    assert verified.status == 200
    monkeypatch.setattr(view, "_now", lambda: FIXTURES_DAY + timedelta(days=3))

    delivery = only_delivery(api, demo)

    assert (delivery["status"], delivery["diagnosis"]) == ("delivered", None)


def test_a_used_link_needs_no_diagnosis(api: Api, demo: dict[str, Any]) -> None:
    from support.sent_mail import token_from

    record = staff_send(api, demo)
    report(api, record, "event-delivery.json")
    raw = token_from(sent_messages()[-1])
    confirmed = api.post(
        "/v1/password-resets/confirm", {"token": raw, "password": "Lindenbaum am Brunnen vor dem Tore 7"}
    )
    assert confirmed.status == 200

    delivery = only_delivery(api, demo)
    assert (delivery["status"], delivery["diagnosis"]) == ("delivered", None)


def test_details_show_no_other_recipients_and_no_smtp_transcript(api: Api, demo: dict[str, Any]) -> None:
    record = staff_send(api, demo)
    event = ses_event(
        "event-bounce-transient-mailbox-full.json", reset_id=record.reset_id, recipient=record.email
    )
    other = dict(event["bounce"]["bouncedRecipients"][0])
    other.update(
        emailAddress="someone.else@example.org", diagnosticCode="smtp; 550 5.1.1 someone.else@example.org"
    )
    event["bounce"]["bouncedRecipients"].append(other)
    own = event["bounce"]["bouncedRecipients"][0]
    own["diagnosticCode"] = (
        f"smtp; 552 5.2.2 <{record.email}> forwards to boss@corp.example: mailbox full\r\n"
        "<<< 250 OK\r\n>>> RCPT TO:<x@y.example>"
    )

    publish(api, event)
    body = json.dumps(deliveries(api, demo))

    assert "someone.else" not in body
    assert "boss@corp.example" not in body and "b***@corp.example" in body
    assert "RCPT TO" not in body
    [detail] = [e["detail"] for e in only_delivery(api, demo)["events"]]
    # The recipient's own address stays readable; the diagnosis still reads the code.
    assert detail["diagnostic_code"] == (
        "smtp; 552 5.2.2 <anna.schmidt@example.com> forwards to b***@corp.example: mailbox full"
    )
    assert detail["bounce_type"] == "Transient"


def test_newest_first_and_at_most_twenty(api: Api, demo: dict[str, Any]) -> None:
    from pwreset.storage.models import ResetToken

    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(23):
        at = start + timedelta(hours=i)
        ResetToken(
            f"{i:064x}",
            reset_id=f"reset-{i:02d}",
            account_id=ANNA,
            firm_id="firm-berger",
            email="anna.schmidt@example.com",
            requested_at=at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            expires_at=at + timedelta(hours=1),
            password_version=0,
            status="issued",
        ).save()

    body = deliveries(api, demo)

    assert [d["reset_id"] for d in body["deliveries"]] == [f"reset-{i:02d}" for i in range(22, 2, -1)]
    assert body["deliveries"][0]["requested_by"] is None  # self-service


def test_a_failed_send_shows_as_failed(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(call: ApiCall) -> Any:
        raise EndpointConnectionError(endpoint_url="https://email.eu-central-1.amazonaws.com")

    staff = api.sign_in_as(demo[OWNER])
    with monkeypatch.context() as patch:
        ApiCallSpy(patch).answer("SendEmail", unreachable)
        assert api.post(f"/v1/accounts/{ANNA}/password-reset", token=staff).status == 502

    delivery = only_delivery(api, demo)
    assert (delivery["status"], delivery["diagnosis"]["code"]) == ("failed", "send_failed")


# --------------------------------------------------------------------------- who may read


def test_only_staff_of_the_clients_firm_may_read(api: Api, demo: dict[str, Any]) -> None:
    path = f"/v1/accounts/{ANNA}/password-reset/deliveries"

    assert api.get(path, token=api.sign_in_as(demo[MEMBER])).status == 200
    # Everyone signs in first: their sign-ins are records of their own, the refusals are not.
    other_firms_member, owner, james, anna = (
        api.sign_in_as(demo[who]) for who in (OTHER_MEMBER, OWNER, JAMES, ANNA)
    )
    before = recorded()
    other_firm = api.get(path, token=other_firms_member)
    assert (other_firm.status, other_firm.error_code) == (404, "account_not_found")
    assert other_firm.body["error"]["message"] == "Dieses Mandantenkonto gibt es in Ihrer Kanzlei nicht."
    unknown = api.get("/v1/accounts/acc-nobody/password-reset/deliveries", token=owner)
    assert (unknown.status, unknown.error_code) == (404, "account_not_found")
    staff_account = api.get(f"/v1/accounts/{MEMBER}/password-reset/deliveries", token=owner)
    assert (staff_account.status, staff_account.error_code) == (404, "account_not_found")
    client = api.get(path, token=james)
    assert (client.status, client.error_code) == (403, "forbidden")
    own = api.get(path, token=anna)
    assert (own.status, own.error_code) == (403, "forbidden")
    for bad in (None, "x" * 43):
        anonymous = api.get(path, token=bad)
        assert (anonymous.status, anonymous.error_code) == (401, "unauthorized")
    assert_nothing_recorded_since(before)


def test_the_sample_deliveries_event_answers_in_the_contract_shape(api: Api, demo: dict[str, Any]) -> None:
    from support.api import gateway

    staff_send(api, demo)
    response = gateway().runner.invoke("SesEventsFunction", load_event("ses_events_deliveries.json"))

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert set(body) == {"email", "email_status", "account_status", "deliveries"}
    assert body["account_status"] == "active"
    assert set(body["deliveries"][0]) == {
        "reset_id",
        "kind",
        "requested_at",
        "requested_by",
        "status",
        "events",
        "diagnosis",
    }


# --------------------------------------------------------------------------- blocked addresses


def test_a_bounced_address_blocks_staff_resets_with_the_diagnosis(api: Api, demo: dict[str, Any]) -> None:
    record = staff_send(api, demo)
    report(api, record, "event-bounce-permanent-general.json")
    mails_before = len(sent_messages())
    owner = api.sign_in_as(demo[OWNER])
    before = recorded()

    result = api.post(f"/v1/accounts/{ANNA}/password-reset", token=owner)

    assert (result.status, result.error_code) == (409, "email_undeliverable")
    assert_nothing_recorded_since(before)
    assert result.body["error"]["message"].startswith("E-Mails an die Adresse dieses Mandanten")
    diagnosis = result.body["error"]["diagnosis"]
    assert diagnosis["code"] == "address_not_found"
    assert (
        diagnosis["summary"] == "Der E-Mail-Anbieter des Mandanten meldet, dass es diese Adresse nicht gibt."
    )
    assert len(sent_messages()) == mails_before


def test_a_complained_address_blocks_staff_resets_in_english_too(api: Api, demo: dict[str, Any]) -> None:
    record = staff_send(api, demo, MARIA, OTHER_OWNER)
    report(api, record, "notification-complaint.json", tagged=False)
    owner = api.sign_in_as(demo[OTHER_OWNER])
    before = recorded()

    result = api.post(f"/v1/accounts/{MARIA}/password-reset", token=owner)

    assert (result.status, result.error_code) == (409, "email_undeliverable")
    assert_nothing_recorded_since(before)
    assert result.body["error"]["diagnosis"]["code"] == "complaint"
    assert result.body["error"]["diagnosis"]["summary"] == "The client marked the e-mail as spam."


def test_an_address_marked_by_another_mail_gets_a_general_diagnosis(api: Api, demo: dict[str, Any]) -> None:
    set_login(demo[ANNA]["email"], email_status="undeliverable")
    owner = api.sign_in_as(demo[OWNER])
    before = recorded()

    result = api.post(f"/v1/accounts/{ANNA}/password-reset", token=owner)

    assert result.status == 409
    assert_nothing_recorded_since(before)
    assert result.body["error"]["diagnosis"]["code"] == "undeliverable"


def test_self_service_to_a_bounced_address_sends_nothing_and_still_answers_202(
    api: Api, demo: dict[str, Any]
) -> None:
    record = staff_send(api, demo)
    report(api, record, "event-bounce-permanent-general.json")
    mails_before = len(sent_messages())
    before = recorded()

    result = api.post("/v1/password-resets", {"email": "anna.schmidt@example.com"})
    unknown = api.post("/v1/password-resets", {"email": "nobody@example.com"})

    assert (result.status, result.body) == (202, {"status": "accepted"})
    assert result.raw.body == unknown.raw.body
    assert len(sent_messages()) == mails_before
    # Refused in silence: no link, no event, no mail. Only the queue's idempotency record of each
    # request, kept for known and unknown addresses alike (by design, so both look the same).
    assert_only_recorded_since(before, added={"NotifyIdempotencyTable": 2})
