"""Over HTTP against the local stack: the notifications a password change triggers (the stream
poller runs the notifier as Lambda would) and what staff see when a reset mail bounces (the SES
simulator posts signed SNS events to the webhook)."""

from __future__ import annotations

from typing import Any

import pytest

from support.local_stack import Stack, mail_ids, sign_in, wait_for_mail

pytestmark = pytest.mark.e2e

HARTMANN_OWNER = ("lena.hartmann@hartmann-tax.example", "Firm-Demo-Owner-2026")
MARIA = "maria.lopez@example.org"
BERGER_OWNER = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
BOUNCE_CLIENT = "acc-berger-client-bounce"


def test_a_reset_puts_the_owner_and_client_notifications_in_the_mailbox(stack: Stack) -> None:
    before = mail_ids(stack)
    owner = sign_in(stack, *HARTMANN_OWNER)
    sent = stack.post(
        "/v1/accounts/acc-hartmann-client-maria/password-reset", headers={"Authorization": f"Bearer {owner}"}
    )
    assert sent.status == 202, sent.body
    link_mail = wait_for_mail(stack, MARIA, before)
    token = link_mail["links"][0].split("#token=", 1)[1]
    seen = before | {link_mail["id"]}

    changed = stack.post(
        "/v1/password-resets/confirm",
        {"token": token, "password": "Sonnenblumen am Donaukanal 19"},
        headers={
            "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
        },
    )
    assert changed.status == 200, changed.body

    owner_mail = wait_for_mail(stack, HARTMANN_OWNER[0], seen, timeout=20)
    client_mail = wait_for_mail(stack, MARIA, seen, timeout=20)
    for mail in (owner_mail, client_mail):
        assert "127.0.0.1" in mail["text"]
        assert "Windows" in mail["text"] and "Chrome 131" in mail["text"]
    assert "Maria Lopez" in owner_mail["text"]
    assert "Hartmann Tax Advisors" in client_mail["text"]
    # Exactly one of each, once the stream has been read to its end and nothing is in flight.
    stack.drain()
    later = stack.mail()
    assert sum(1 for m in later if m["id"] not in seen and HARTMANN_OWNER[0] in m["to"]) == 1
    assert sum(1 for m in later if m["id"] not in seen and MARIA in m["to"]) == 1


def deliveries(stack: Stack, token: str, account_id: str) -> dict[str, Any]:
    result = stack.get(
        f"/v1/accounts/{account_id}/password-reset/deliveries", headers={"Authorization": f"Bearer {token}"}
    )
    assert result.status == 200, result.body
    return dict(result.json())


def test_a_bounced_reset_shows_the_diagnosis_and_blocks_the_next_send(stack: Stack) -> None:
    owner = sign_in(stack, *BERGER_OWNER)
    auth = {"Authorization": f"Bearer {owner}"}
    sent = stack.post(f"/v1/accounts/{BOUNCE_CLIENT}/password-reset", headers=auth)
    assert sent.status == 202, sent.body

    stack.drain()  # SES's bounce has reached the webhook
    view = deliveries(stack, owner, BOUNCE_CLIENT)

    latest = view["deliveries"][0]
    assert latest["reset_id"] == sent.json()["reset_id"]
    assert latest["status"] == "bounced"
    assert view["email_status"] == "undeliverable"
    assert latest["diagnosis"]["code"] == "address_not_found"
    assert "Adresse" in latest["diagnosis"]["summary"]  # Petra reads German
    assert {e["type"] for e in latest["events"]} >= {"send", "bounce"}

    again = stack.post(f"/v1/accounts/{BOUNCE_CLIENT}/password-reset", headers=auth)
    assert again.status == 409
    error = again.json()["error"]
    assert error["code"] == "email_undeliverable"
    assert error["diagnosis"]["code"]
