"""Over HTTP against the local stack (``make dev``): what a firm's client and the CRM do reaches the
CRM's event bus, and ``GET /_dev/events.json`` shows it as the contract says (newest first, each
``{"id", "source", "detail_type", "time", "detail"}``): the invitations' and a staff reset's
PasswordChanged, the lock from the client's mail, the simulator's bounce, the CRM's new address.
The stream poller runs the publisher as Lambda would; the listing is what a CRM's rule received."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.leaks import SEEN
from support.local_stack import Stack, firm_of_two, link_in, mail_ids, sign_in, wait_for_mail
from support.user_agents import SAFARI_ON_IPHONE

pytestmark = pytest.mark.e2e

BOUNCER = "bounce+crmevents@simulator.amazonses.com"


def events_of(stack: Stack, firm_id: str) -> list[dict[str, Any]]:
    answer = stack.get("/_dev/events.json")
    assert answer.status == 200
    listed = answer.json()["events"]
    for event in listed:
        assert set(event) == {"id", "source", "detail_type", "time", "detail"}, event
        assert event["source"] == "pwreset"
    return [e for e in listed if e["detail"]["firm_id"] == firm_id]


def test_the_crm_sees_changes_a_lock_a_bounce_and_a_new_address_newest_first(stack: Stack) -> None:
    firm = firm_of_two(stack, "crmevents")  # owner and client set first passwords from invitations
    owner = {"Authorization": f"Bearer {sign_in(stack, firm.owner_email, firm.owner_password)}"}
    before = mail_ids(stack)
    assert stack.post(f"/v1/accounts/{firm.client_id}/password-reset", headers=owner).status == 202
    token = link_in(wait_for_mail(stack, firm.client_email, before)).split("#token=", 1)[1]
    before = mail_ids(stack)
    new_password = "Steinerne Brücke über der Donau 1146"
    changed = stack.post(
        "/v1/password-resets/confirm",
        {"token": token, "password": new_password},
        headers={"User-Agent": SAFARI_ON_IPHONE},
    )
    assert changed.status == 200, changed.body
    # "It wasn't me", from the link of the client's password-changed mail.
    lock = link_in(wait_for_mail(stack, firm.client_email, before, timeout=20), "lock").split("#lock=", 1)[1]
    SEEN.add(lock)
    assert stack.post("/v1/account-locks", {"token": lock}).status == 200
    # The simulator bounces the welcome mail of a client whose address does not exist.
    bouncer = {"firm_id": firm.firm_id, "role": "client", "email": BOUNCER, "name": "Bruno Bounce"}
    assert (
        stack.signed(
            "PUT", "/v1/admin/accounts/acc-crmevents-bouncer", {**bouncer, "send_invitation": True}
        ).status
        == 201
    )
    stack.drain()
    # The CRM moves the client to another address.
    moved = {
        "firm_id": firm.firm_id,
        "role": "client",
        "email": "client.neu@kanzlei-kunde.example",
        "name": "Client Crmevents",
    }
    assert stack.signed("PUT", f"/v1/admin/accounts/{firm.client_id}", moved).status == 200
    stack.drain()

    events = events_of(stack, firm.firm_id)

    seen = [(e["detail_type"], e["detail"]["account_id"], e["detail"].get("via")) for e in reversed(events)]
    owner_id = "acc-crmevents-owner"
    assert seen == [
        ("PasswordChanged", owner_id, "invitation"),
        ("PasswordChanged", firm.client_id, "invitation"),
        ("PasswordChanged", firm.client_id, "staff_reset"),
        ("AccountLocked", firm.client_id, None),
        ("EmailUndeliverable", "acc-crmevents-bouncer", None),
        ("EmailChanged", firm.client_id, None),
    ]
    by_type = {e["detail_type"]: e["detail"] for e in reversed(events)}  # the newest of each
    assert by_type["PasswordChanged"]["requested_by"] == owner_id
    assert by_type["PasswordChanged"]["client"]["browser"] == "Mobile Safari 17.6"
    assert by_type["PasswordChanged"]["accounts"] == [{"account_id": firm.client_id, "firm_id": firm.firm_id}]
    assert by_type["AccountLocked"]["client"]["ip"] == "127.0.0.1"
    assert (by_type["EmailUndeliverable"]["email_status"], by_type["EmailUndeliverable"]["diagnosis"]) == (
        "undeliverable",
        {"code": "address_not_found"},
    )
    assert (by_type["EmailChanged"]["previous_hint"], by_type["EmailChanged"]["new_hint"]) == (
        "c***@example.com",
        "c***@kanzlei-kunde.example",
    )
    assert len({e["detail"]["event_id"] for e in events}) == len(events)  # one event per change
    # Nothing a person must not read: no address, password or token the tests handled.
    SEEN.remember_demo_data()
    text = json.dumps(events, ensure_ascii=False)
    secrets = SEEN.values | {new_password, firm.client_email, firm.owner_email, BOUNCER}
    assert not [s[:4] for s in secrets if s in text]
