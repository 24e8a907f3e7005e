"""Every SES event type, as the webhook parses it and the deliveries view judges it: the status a
mail gets and the diagnosis staff read, in German and in English. The table below is the one the
docs list (docs/features.md, "SES delivery events and what staff see")."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pwreset.delivery.deliveries import Mail, delivery_status, diagnose, timeline_events
from pwreset.delivery.ses_events import parse_event
from pwreset.storage.models import LOGIN_ITEM, Account, DeliveryTimeline, Login
from support.ses_events import ses_event

RECIPIENT = "anna.schmidt@example.com"
SENT_AT = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def changed(fixture: str, section: str, **fields: Any) -> dict[str, Any]:
    """A fixture with fields of its event section replaced (None removes one)."""
    event = copy.deepcopy(ses_event(fixture, recipient=RECIPIENT))
    for name, value in fields.items():
        if value is None:
            event[section].pop(name, None)
        else:
            event[section][name] = value
    return event


def delay(delay_type: str) -> dict[str, Any]:
    return changed("event-delivery-delay.json", "deliveryDelay", delayType=delay_type)


def bounce(fixture: str, **fields: Any) -> dict[str, Any]:
    return changed(fixture, "bounce", **fields)


def complaint(feedback_type: str | None, subtype: str | None = None) -> dict[str, Any]:
    return changed(
        "event-complaint.json", "complaint", complaintFeedbackType=feedback_type, complaintSubType=subtype
    )


def renamed(fixture: str, event_type: str) -> dict[str, Any]:
    event = ses_event(fixture, recipient=RECIPIENT)
    event["eventType"] = event_type
    return event


def without_diagnostic(fixture: str) -> dict[str, Any]:
    event = ses_event(fixture, recipient=RECIPIENT)
    for recipient in event["bounce"]["bouncedRecipients"]:
        recipient.pop("diagnosticCode", None)
    return event


# (SES event, status, diagnosis code). Every event type SES publishes to a configuration set but
# Open and Click (not published: no tracking), every bounce subtype, delay type and complaint
# feedback type.
OUTCOMES: list[tuple[str, dict[str, Any], str, str]] = [
    ("Send", ses_event("event-send.json", recipient=RECIPIENT), "sent", "sent"),
    ("Delivery", ses_event("event-delivery.json", recipient=RECIPIENT), "delivered", "delivered"),
    *[
        (f"DeliveryDelay {delay_type}", delay(delay_type), "delayed", code)
        for delay_type, code in (
            ("InternalFailure", "delayed_at_ses"),
            ("General", "delayed"),
            ("MailboxFull", "delayed_mailbox_full"),
            ("SpamDetected", "delayed_spam_suspected"),
            ("RecipientServerError", "delayed_recipient_server"),
            ("IPFailure", "delayed_sender_blocked"),
            ("TransientCommunicationFailure", "delayed_recipient_server"),
            ("BYOIPHostNameLookupUnavailable", "delayed_at_ses"),
            ("Undetermined", "delayed"),
            ("SendingDeferral", "delayed_at_ses"),
        )
    ],
    ("Reject", ses_event("event-reject.json", recipient=RECIPIENT), "failed", "rejected_by_ses"),
    (
        "Rendering Failure",
        ses_event("event-rendering-failure.json", recipient=RECIPIENT),
        "failed",
        "rendering_failed",
    ),
    (
        "RenderingFailure",
        renamed("event-rendering-failure.json", "RenderingFailure"),
        "failed",
        "rendering_failed",
    ),
    (
        "Bounce Permanent General (user unknown)",
        ses_event("event-bounce-permanent-general.json", recipient=RECIPIENT),
        "bounced",
        "address_not_found",
    ),
    (
        "Bounce Permanent General (spam block)",
        ses_event("event-bounce-permanent-spam-block.json", recipient=RECIPIENT),
        "bounced",
        "rejected_by_provider",
    ),
    (
        "Bounce Permanent General (no reason)",
        without_diagnostic("event-bounce-permanent-general.json"),
        "bounced",
        "address_rejected",
    ),
    (
        "Bounce Permanent NoEmail",
        ses_event("event-bounce-permanent-noemail.json", recipient=RECIPIENT),
        "bounced",
        "address_not_found",
    ),
    (
        "Bounce Permanent Suppressed",
        ses_event("event-bounce-suppressed.json", recipient=RECIPIENT),
        "suppressed",
        "suppressed_by_ses",
    ),
    (
        "Bounce Permanent OnAccountSuppressionList",
        ses_event("event-bounce-on-account-suppression-list.json", recipient=RECIPIENT),
        "suppressed",
        "suppressed",
    ),
    (
        "Bounce Transient General",
        ses_event("event-bounce-transient-general.json", recipient=RECIPIENT),
        "bounced",
        "temporary_failure",
    ),
    (
        "Bounce Transient MailboxFull",
        ses_event("event-bounce-transient-mailbox-full.json", recipient=RECIPIENT),
        "bounced",
        "mailbox_full",
    ),
    (
        "Bounce Transient MessageTooLarge",
        ses_event("event-bounce-transient-message-too-large.json", recipient=RECIPIENT),
        "bounced",
        "message_too_large",
    ),
    (
        "Bounce Transient ContentRejected",
        ses_event("event-bounce-transient-content-rejected.json", recipient=RECIPIENT),
        "bounced",
        "content_rejected",
    ),
    (
        "Bounce Transient AttachmentRejected",
        ses_event("event-bounce-transient-attachment-rejected.json", recipient=RECIPIENT),
        "bounced",
        "attachment_rejected",
    ),
    (
        "Bounce Undetermined",
        ses_event("event-bounce-undetermined.json", recipient=RECIPIENT),
        "bounced",
        "undetermined_bounce",
    ),
    *[
        (f"Complaint {feedback_type}", complaint(feedback_type), status, code)
        for feedback_type, status, code in (
            ("abuse", "complained", "complaint"),
            ("auth-failure", "complained", "complaint_auth_failure"),
            ("fraud", "complained", "complaint_fraud"),
            ("not-spam", "delivered", "marked_not_spam"),
            ("other", "complained", "complaint"),
            ("virus", "complained", "complaint_virus"),
        )
    ],
    ("Complaint without a feedback type", complaint(None), "complained", "complaint"),
    (
        "Complaint OnAccountSuppressionList",
        complaint(None, "OnAccountSuppressionList"),
        "suppressed",
        "suppressed",
    ),
    ("Subscription", ses_event("event-subscription.json", recipient=RECIPIENT), "delivered", "unsubscribed"),
]


def mail(
    *payloads: dict[str, Any], kind: str = "reset", opened: bool = False, send_failed: bool = False
) -> Mail:
    """A mail whose timeline holds the parsed events, as the webhook stores them."""
    events = []
    for payload in payloads:
        event = parse_event(payload)
        assert event is not None, payload
        events.append(event.to_json())
    return Mail(
        reset_id="r1",
        kind=kind,
        email=RECIPIENT,
        requested_at="2026-03-02T09:15:00.000000Z",
        requested_by=None,
        requested_by_name=None,
        send_failed=send_failed,
        carries_link=kind in ("reset", "invitation", "unlock"),
        opened=opened,
        password_version=0,
        timeline=DeliveryTimeline("r1", events=events),
    )


def judged(
    subject: Mail,
    *,
    locale: str = "en",
    now: datetime = SENT_AT + timedelta(hours=1),
    login: Login | None = None,
) -> tuple[str, dict[str, Any] | None]:
    events = timeline_events(subject.timeline)
    status = delivery_status(events, subject)
    reader = Account("acc", locale="de")
    login = login or Login(RECIPIENT, LOGIN_ITEM, password_version=0)
    return status, diagnose(status, events, subject, reader, login, locale=locale, now=now)


def test_the_table_names_every_type_the_configuration_set_publishes() -> None:
    types = {label.split(" ")[0] for label, *_ in OUTCOMES}
    assert types == {
        "Send",
        "Delivery",
        "DeliveryDelay",
        "Reject",
        "Rendering",
        "RenderingFailure",
        "Bounce",
        "Complaint",
        "Subscription",
    }


@pytest.mark.parametrize(("label", "payload", "status", "code"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_each_ses_event_gives_its_status_and_a_diagnosis_in_both_languages(
    label: str, payload: dict[str, Any], status: str, code: str
) -> None:
    got_status, en = judged(mail(payload), locale="en")
    _, de = judged(mail(payload), locale="de")

    assert got_status == status
    assert en is not None and de is not None
    assert en["code"] == de["code"] == code
    assert en["summary"] and de["summary"] and en["summary"] != de["summary"]
    assert len(en["advice"]) == len(de["advice"]) >= 1
    assert en["advice"] != de["advice"]


def test_a_delay_type_and_its_expiry_stay_on_the_timeline() -> None:
    [event] = timeline_events(mail(delay("MailboxFull")).timeline)

    assert event.detail["delay_type"] == "MailboxFull"
    assert event.detail["expiration_time"] == "2026-03-02T21:15:00.120000Z"


def test_an_unsubscription_says_how_and_from_what() -> None:
    [event] = timeline_events(mail(ses_event("event-subscription.json")).timeline)

    assert event.type == "subscription"
    assert event.detail == {
        "contact_list": "portal-mail",
        "source": "UnsubscribeHeader",
        "unsubscribe_all": True,
    }


def test_a_send_the_ses_call_refused_is_failed_whatever_else_is_known() -> None:
    status, diagnosis = judged(mail(send_failed=True))

    assert status == "failed"
    assert diagnosis is not None and diagnosis["code"] == "send_failed"


def test_a_mail_with_no_event_yet_is_sent() -> None:
    status, diagnosis = judged(mail())

    assert status == "sent"
    assert diagnosis is not None and diagnosis["code"] == "sent"


# ------------------------------------------------------------------- delivered, but not used

DELIVERED_AT = datetime(2026, 3, 2, 9, 15, 2, 311000, tzinfo=UTC)  # the fixture's Delivery
DELIVERY = ses_event("event-delivery.json", recipient=RECIPIENT)


def test_a_link_delivered_a_day_ago_and_never_opened_was_probably_filtered() -> None:
    just_before = judged(mail(DELIVERY), now=DELIVERED_AT + timedelta(hours=24) - timedelta(seconds=1))
    after = judged(mail(DELIVERY), now=DELIVERED_AT + timedelta(hours=24))

    assert just_before[1] is not None and just_before[1]["code"] == "delivered"
    assert after[0] == "delivered"
    assert after[1] is not None and after[1]["code"] == "delivered_not_used"


@pytest.mark.parametrize("kind", ["reset", "invitation", "unlock"])
def test_an_opened_link_needs_no_diagnosis(kind: str) -> None:
    later = DELIVERED_AT + timedelta(days=3)
    assert judged(mail(DELIVERY, kind=kind, opened=True), now=later) == ("delivered", None)


def test_a_link_whose_password_changed_since_needs_no_diagnosis() -> None:
    """Used without the page's verify (the API directly), or another link was used: either way the
    client got in."""
    moved_on = Login(RECIPIENT, LOGIN_ITEM, password_version=1)

    assert judged(mail(DELIVERY), now=DELIVERED_AT + timedelta(days=3), login=moved_on) == (
        "delivered",
        None,
    )


@pytest.mark.parametrize("kind", ["password_changed", "lock_notice"])
def test_a_notice_has_no_link_to_open_and_stays_delivered(kind: str) -> None:
    status, diagnosis = judged(mail(DELIVERY, kind=kind), now=DELIVERED_AT + timedelta(days=3))

    assert status == "delivered"
    assert diagnosis is not None and diagnosis["code"] == "delivered"
