"""Over HTTP against the local stack: "It wasn't me". Someone else sets a client's password; the
client locks the account with the link in the password-changed mail; the firm is told; only a
link the firm sends lets the client back in."""

from __future__ import annotations

from typing import Any

import pytest

from support.local_stack import FirmOfTwo, Stack, firm_of_two, link_in, mail_ids, sign_in, wait_for_mail

pytestmark = pytest.mark.e2e

ATTACKERS_PASSWORD = "Kopfsteinpflaster im Regen 4711"
CLIENTS_NEW_PASSWORD = "Wiedergefunden am Neckarufer 2026"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mails_to(stack: Stack, address: str, subject_part: str, after: set[str]) -> list[dict[str, Any]]:
    return [
        m
        for m in stack.mail()
        if address in m["to"] and m["id"] not in after and subject_part in m["subject"]
    ]


def wait_for_subject(stack: Stack, address: str, subject: str, after: set[str]) -> dict[str, Any]:
    return wait_for_mail(stack, address, after, timeout=20, subject=subject)


def hijack(stack: Stack, firm: FirmOfTwo) -> tuple[str, set[str]]:
    """A link the owner sent, used by someone else: their session, and the mailbox before it."""
    owner = sign_in(stack, firm.owner_email, firm.owner_password)
    before = mail_ids(stack)
    assert stack.post(f"/v1/accounts/{firm.client_id}/password-reset", headers=bearer(owner)).status == 202
    token = link_in(wait_for_mail(stack, firm.client_email, before)).split("#token=", 1)[1]
    done = stack.post("/v1/password-resets/confirm", {"token": token, "password": ATTACKERS_PASSWORD})
    assert done.status == 200, done.body
    return str(done.json()["session"]["token"]), before


def test_it_wasnt_me_locks_the_account_and_a_link_from_the_firm_unlocks_it(stack: Stack) -> None:
    firm = firm_of_two(stack, "lockhttp")
    attackers_session, before = hijack(stack, firm)
    changed_mail = wait_for_subject(stack, firm.client_email, "password was changed", before)
    lock_link = link_in(changed_mail, "lock")
    assert lock_link.startswith(f"{stack.base_url}/reset#lock=")
    raw = lock_link.split("#lock=", 1)[1]
    # The attacker changes the password once more: the holder's link must still work.
    again = stack.post(
        "/v1/sessions/current/password",
        {"current_password": ATTACKERS_PASSWORD, "new_password": ATTACKERS_PASSWORD + "!"},
        headers=bearer(attackers_session),
    )
    assert again.status == 200, again.body
    attackers_session = str(again.json()["session"]["token"])
    # Opening the page (as a mail scanner would) changes nothing.
    assert stack.get("/reset").status == 200
    assert stack.get("/v1/sessions/current", headers=bearer(attackers_session)).status == 200

    locked = stack.post("/v1/account-locks", {"token": raw})

    assert (locked.status, locked.json()) == (200, {"status": "locked"})
    assert stack.get("/v1/sessions/current", headers=bearer(attackers_session)).status == 401
    refused = stack.post("/v1/sessions", {"email": firm.client_email, "password": ATTACKERS_PASSWORD + "!"})
    assert (refused.status, refused.json()["error"]["code"]) == (403, "account_locked")
    wrong = stack.post("/v1/sessions", {"email": firm.client_email, "password": "not the password at all"})
    assert (wrong.status, wrong.json()["error"]["code"]) == (401, "invalid_credentials")
    reused = stack.post("/v1/account-locks", {"token": raw})
    assert (reused.status, reused.json()["error"]["code"]) == (410, "token_used")

    # The owner and the holder are told, once each.
    owner_mail = wait_for_subject(stack, firm.owner_email, "Konto gesperrt", before)
    holder_mail = wait_for_subject(stack, firm.client_email, "account is locked", before)
    assert "127.0.0.1" in owner_mail["text"] and firm.client_email in owner_mail["text"]
    assert "ask for a new link" in holder_mail["text"]
    # The firm's view and the CRM's say locked; self-service sends nothing.
    owner = sign_in(stack, firm.owner_email, firm.owner_password)
    view = stack.get(f"/v1/accounts/{firm.client_id}/password-reset/deliveries", headers=bearer(owner))
    assert view.json()["account_status"] == "locked"
    assert stack.signed("GET", f"/v1/admin/accounts/{firm.client_id}").json()["account"]["status"] == "locked"
    quiet = mail_ids(stack)
    assert stack.post("/v1/password-resets", {"email": firm.client_email}).status == 202
    stack.drain()  # the request's queue message handled: a mail would be in the mailbox now
    assert [m for m in stack.mail() if firm.client_email in m["to"] and m["id"] not in quiet] == []
    assert len(mails_to(stack, firm.owner_email, "Konto gesperrt", before)) == 1
    assert len(mails_to(stack, firm.client_email, "account is locked", before)) == 1

    # A link from the firm: the mailbox alone does not unlock; with the code staff read over the
    # phone, setting a password unlocks, and the next sign-in works.
    sent = stack.post(f"/v1/accounts/{firm.client_id}/password-reset", headers=bearer(owner))
    assert sent.status == 202, sent.body
    code = sent.json()["unlock_code"]
    token = link_in(wait_for_mail(stack, firm.client_email, quiet)).split("#token=", 1)[1]
    body = {"token": token, "password": CLIENTS_NEW_PASSWORD}
    without = stack.post("/v1/password-resets/confirm", body)
    assert (without.status, without.json()["error"]["code"]) == (422, "code_invalid")
    done = stack.post("/v1/password-resets/confirm", {**body, "code": code})
    assert done.status == 200, done.body
    assert (
        stack.post("/v1/sessions", {"email": firm.client_email, "password": CLIENTS_NEW_PASSWORD}).status
        == 201
    )
    assert stack.signed("GET", f"/v1/admin/accounts/{firm.client_id}").json()["account"]["status"] == "active"


def test_erasing_the_account_ends_its_lock_link(stack: Stack) -> None:
    firm = firm_of_two(stack, "lockerase")
    _, before = hijack(stack, firm)
    raw = link_in(wait_for_subject(stack, firm.client_email, "password was changed", before), "lock").split(
        "#lock="
    )[1]

    assert stack.signed("DELETE", f"/v1/admin/accounts/{firm.client_id}").status == 204

    gone = stack.post("/v1/account-locks", {"token": raw})
    assert (gone.status, gone.json()["error"]["code"]) == (404, "token_invalid")
