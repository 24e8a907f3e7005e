"""The local stack's SES mailbox simulator, driven through the real webhook in-process: what a
person trying ``bounce@simulator.amazonses.com`` in ``make dev`` will see."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devstack.ses_simulator import SesSimulator
from support.accounts import add_account
from support.api import Api
from support.demo_accounts import OWNER
from support.recorded import assert_nothing_recorded_since, recorded


def add_client(address: str) -> str:
    account_id = "acc-sim-" + re.sub(r"[^a-z0-9]+", "-", address.split("@")[0])
    add_account(
        account_id,
        role="client",
        email=address,
        name="Sim Client",
        locale="de",
        timezone="Europe/Berlin",
        status="active",
    )
    return account_id


def send_and_simulate(
    api: Api, demo: dict[str, Any], simulator: SesSimulator, address: str
) -> dict[str, Any]:
    from support.sent_mail import sent_messages

    account_id = add_client(address)
    token = api.sign_in_as(demo[OWNER])
    sent = api.post(f"/v1/accounts/{account_id}/password-reset", token=token)
    assert sent.status == 202, sent.body
    mail = sent_messages()[-1]
    simulator.on_mail_sent(
        mail.id,
        sender=mail.source,
        recipients=[address],
        subject=mail.subject,
        tags={"reset_id": sent.body["reset_id"], "kind": "reset_link"},
        configuration_set="password-reset-dev",
    )
    simulator.wait()
    result = api.get(f"/v1/accounts/{account_id}/password-reset/deliveries", token=token)
    assert result.status == 200, result.body
    return {"account_id": account_id, "token": token, "view": result.body}


def test_bounce_address_shows_bounced_and_blocks_the_next_staff_send(
    api: Api, demo: dict[str, Any], simulator: SesSimulator
) -> None:
    seen = send_and_simulate(api, demo, simulator, "bounce@simulator.amazonses.com")
    [delivery] = seen["view"]["deliveries"]
    assert delivery["status"] == "bounced"
    assert [e["type"] for e in delivery["events"]][:2] == ["send", "bounce"]
    assert delivery["diagnosis"]["code"] == "address_not_found"
    assert seen["view"]["email_status"] == "undeliverable"

    before = recorded()
    again = api.post(f"/v1/accounts/{seen['account_id']}/password-reset", token=seen["token"])
    assert (again.status, again.error_code) == (409, "email_undeliverable")
    assert_nothing_recorded_since(before)
    assert again.body["error"]["diagnosis"]["summary"]


def test_complaint_address_shows_complained(api: Api, demo: dict[str, Any], simulator: SesSimulator) -> None:
    seen = send_and_simulate(api, demo, simulator, "complaint@simulator.amazonses.com")
    assert seen["view"]["deliveries"][0]["status"] == "complained"
    assert seen["view"]["email_status"] == "complained"


def test_suppression_list_address_shows_suppressed(
    api: Api, demo: dict[str, Any], simulator: SesSimulator
) -> None:
    seen = send_and_simulate(api, demo, simulator, "suppressionlist@simulator.amazonses.com")
    assert seen["view"]["deliveries"][0]["status"] == "suppressed"


@pytest.mark.parametrize(
    "address", ["success@simulator.amazonses.com", "ooto@simulator.amazonses.com", "someone@example.org"]
)
def test_other_addresses_are_delivered(
    api: Api, demo: dict[str, Any], simulator: SesSimulator, address: str
) -> None:
    seen = send_and_simulate(api, demo, simulator, address)
    assert seen["view"]["deliveries"][0]["status"] == "delivered"
    assert seen["view"]["email_status"] == "ok"


# Every outcome the webhook diagnoses, from an address (SES's mailbox simulator, its +labels, and the
# local-only switches docs/local-stack.md lists): what staff then read.
SWITCHES = [
    ("bounce+noemail", "bounced", "address_not_found", ["send", "bounce"]),
    ("bounce+suppressed", "suppressed", "suppressed_by_ses", ["send", "bounce"]),
    ("bounce+on-account-suppression-list", "suppressed", "suppressed", ["send", "bounce"]),
    ("bounce+spam", "bounced", "rejected_by_provider", ["send", "bounce"]),
    ("bounce+transient", "bounced", "temporary_failure", ["send", "bounce"]),
    ("bounce+mailbox-full", "bounced", "mailbox_full", ["send", "bounce"]),
    ("bounce+message-too-large", "bounced", "message_too_large", ["send", "bounce"]),
    ("bounce+content-rejected", "bounced", "content_rejected", ["send", "bounce"]),
    ("bounce+attachment-rejected", "bounced", "attachment_rejected", ["send", "bounce"]),
    ("bounce+undetermined", "bounced", "undetermined_bounce", ["send", "bounce"]),
    ("bounce+anna", "bounced", "address_not_found", ["send", "bounce"]),  # only a label, as in SES
    ("complaint+auth-failure", "complained", "complaint_auth_failure", ["send", "delivery", "complaint"]),
    ("complaint+fraud", "complained", "complaint_fraud", ["send", "delivery", "complaint"]),
    ("complaint+not-spam", "delivered", "marked_not_spam", ["send", "delivery", "complaint"]),
    ("complaint+other", "complained", "complaint", ["send", "delivery", "complaint"]),
    ("complaint+virus", "complained", "complaint_virus", ["send", "delivery", "complaint"]),
    ("complaint+none", "complained", "complaint", ["send", "delivery", "complaint"]),
    ("delay", "delayed", "delayed", ["send", "delivery_delay"]),
    ("delay+internal-failure", "delayed", "delayed_at_ses", ["send", "delivery_delay"]),
    ("delay+mailbox-full", "delayed", "delayed_mailbox_full", ["send", "delivery_delay"]),
    ("delay+spam-detected", "delayed", "delayed_spam_suspected", ["send", "delivery_delay"]),
    ("delay+recipient-server-error", "delayed", "delayed_recipient_server", ["send", "delivery_delay"]),
    ("delay+ip-failure", "delayed", "delayed_sender_blocked", ["send", "delivery_delay"]),
    (
        "delay+transient-communication-failure",
        "delayed",
        "delayed_recipient_server",
        ["send", "delivery_delay"],
    ),
    ("delay+byoip-host-name-lookup-unavailable", "delayed", "delayed_at_ses", ["send", "delivery_delay"]),
    ("delay+undetermined", "delayed", "delayed", ["send", "delivery_delay"]),
    ("delay+sending-deferral", "delayed", "delayed_at_ses", ["send", "delivery_delay"]),
    ("reject", "failed", "rejected_by_ses", ["send", "reject"]),
    ("renderingfailure", "failed", "rendering_failed", ["send", "rendering_failure"]),
    ("subscription", "delivered", "unsubscribed", ["send", "delivery", "subscription"]),
]


@pytest.mark.parametrize(("local", "status", "code", "types"), SWITCHES, ids=[s[0] for s in SWITCHES])
def test_the_simulator_produces_every_outcome_the_webhook_diagnoses(
    api: Api,
    demo: dict[str, Any],
    simulator: SesSimulator,
    local: str,
    status: str,
    code: str,
    types: list[str],
) -> None:
    seen = send_and_simulate(api, demo, simulator, f"{local}@simulator.amazonses.com")

    [delivery] = seen["view"]["deliveries"]
    assert (delivery["status"], delivery["diagnosis"]["code"]) == (status, code)
    assert [e["type"] for e in delivery["events"]] == types


def test_a_from_with_a_firms_display_name_is_reported_as_ses_reports_it() -> None:
    """``source`` is the address (what a white-label firm's display name never changes), the From
    header in full."""
    import json

    from devstack.sns_signer import SnsSigner

    posted: list[dict[str, Any]] = []
    simulator = SesSimulator(
        topic_arn="arn:aws:sns:eu-central-1:123456789012:ses-events",
        signer=SnsSigner(),
        deliver=lambda _headers, body: posted.append(json.loads(json.loads(body)["Message"])),
        delay_seconds=0,
    )
    sender = "=?utf-8?q?Kanzlei_Berger_=E2=80=93_Mandantenservice?= <no-reply@portal.example.com>"
    simulator.on_mail_sent("0100-abc", sender=sender, recipients=["anna@example.com"], subject="x", tags={})
    simulator.wait()

    mail = posted[0]["mail"]
    assert mail["source"] == "no-reply@portal.example.com"
    assert mail["commonHeaders"]["from"] == [sender]
    assert mail["tags"]["ses:from-domain"] == ["portal.example.com"]
