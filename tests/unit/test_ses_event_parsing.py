"""Normalising SES records of both formats into timeline events."""

from __future__ import annotations

import pytest

from pwreset.delivery.ses_events import address_verdict, parse_event, smtp_line
from support.ses_events import fixture_names, ses_event


@pytest.mark.parametrize("name", [n for n in fixture_names() if "subscription-succeeded" not in n])
def test_every_fixture_parses_to_an_event_about_the_recipient(name: str) -> None:
    event = parse_event(ses_event(name, ses_message_id="msg-1", reset_id="r1", recipient="Anna@Example.com"))

    assert event is not None
    assert event.ses_message_id == "msg-1"
    assert event.recipients == ("anna@example.com",)
    assert event.at.startswith("2026-03-02T") and event.at.endswith("Z")
    if name.startswith("event-"):
        assert (event.reset_id, event.kind) == ("r1", "reset_link")
    else:
        assert (event.reset_id, event.kind) == (None, None)  # identity notifications carry no tags


@pytest.mark.parametrize(
    ("name", "type_"),
    [
        ("event-send.json", "send"),
        ("event-delivery.json", "delivery"),
        ("notification-delivery.json", "delivery"),
        ("event-bounce-permanent-general.json", "bounce"),
        ("notification-bounce.json", "bounce"),
        ("event-complaint.json", "complaint"),
        ("notification-complaint.json", "complaint"),
        ("event-reject.json", "reject"),
        ("event-delivery-delay.json", "delivery_delay"),
        ("event-rendering-failure.json", "rendering_failure"),
        ("event-subscription.json", "subscription"),
        ("event-open.json", "open"),
    ],
)
def test_types_are_named_alike_in_both_formats(name: str, type_: str) -> None:
    event = parse_event(ses_event(name))
    assert event is not None and event.type == type_


def test_event_time_is_the_events_own_not_the_mails() -> None:
    bounce = parse_event(ses_event("event-bounce-permanent-general.json"))
    send = parse_event(ses_event("event-send.json"))
    assert bounce is not None and send is not None
    assert bounce.at == "2026-03-02T09:15:03.500000Z"
    assert send.at == "2026-03-02T09:15:00.120000Z"  # Send has no timestamp of its own


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        [],
        {},
        {"eventType": "Bounce"},
        {"eventType": "Bounce", "mail": "x"},
        {"eventType": "Bounce", "mail": {}},
        {"eventType": 5, "mail": {"messageId": "m"}},
        {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"},
    ],
)
def test_things_that_are_no_mail_event_give_none(payload: object) -> None:
    assert parse_event(payload) is None


def test_odd_values_inside_a_known_type_are_tolerated() -> None:
    event = parse_event(
        {
            "eventType": "Bounce",
            "mail": {"messageId": "m", "timestamp": "yesterday", "tags": {"reset_id": ["../../etc"]}},
            "bounce": {
                "bounceType": 7,
                "bouncedRecipients": [None, {"emailAddress": 3}, "x"],
                "timestamp": None,
            },
        }
    )
    assert event is not None
    assert event.type == "bounce"
    assert event.reset_id is None  # not an id of ours
    assert event.detail["bounce_type"] is None
    assert address_verdict(event) is None


def test_verdicts_on_the_address() -> None:
    def verdict(name: str) -> str | None:
        event = parse_event(ses_event(name))
        assert event is not None
        return address_verdict(event)

    assert verdict("event-bounce-permanent-general.json") == "undeliverable"
    assert verdict("event-bounce-suppressed.json") == "undeliverable"
    assert verdict("event-bounce-transient-mailbox-full.json") is None
    assert verdict("event-complaint.json") == "complained"
    assert verdict("event-delivery.json") is None
    not_spam = ses_event("event-complaint.json")
    not_spam["complaint"]["complaintFeedbackType"] = "not-spam"
    event = parse_event(not_spam)
    assert event is not None and address_verdict(event) is None


def test_smtp_lines_keep_the_first_line_and_mask_other_addresses() -> None:
    raw = "smtp; 550 5.1.1 <anna@example.com> via relay@mx.example: no\r\n>>> RCPT TO:<x@y.example>"
    assert smtp_line(raw, "anna@example.com") == "smtp; 550 5.1.1 <anna@example.com> via r***@mx.example: no"
    assert smtp_line("x" * 1000) == "x" * 300
    assert smtp_line("   ") is None
    assert smtp_line(None) is None
