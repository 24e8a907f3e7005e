"""The reset journey against the running local stack, over HTTP only, as a person would make it:
staff send a link, the mail arrives in the dev mailbox, the link's token sets a new password and
signs the client in."""

from __future__ import annotations

import re
import time
from http.cookies import SimpleCookie

import pytest

from support.local_stack import Stack, mail_ids, sign_in, wait_for_mail

pytestmark = pytest.mark.e2e

OWNER = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
JAMES = ("james.miller@example.com", "Client-Demo-Oak-Tree-2026")
NEW_PASSWORD = "Ahornblatt im Herbstwind 42"
# bcrypt would keep only these first 72 bytes (ASCII: characters) of the password below.
FIRST_72 = "Der Nebel liegt still auf dem Moor, und die Kraniche ziehen nach Sueden "
LONG_PASSWORD = FIRST_72 + "vor dem ersten Morgengrauen."
LONG_ONES_ACCOUNT = ("acc-e2e-long-password", "paul.quist@example.com")


def test_owner_sends_a_link_and_the_client_sets_a_new_password(stack: Stack) -> None:
    before = mail_ids(stack)
    owner_token = sign_in(stack, *OWNER)

    sent = stack.post(
        "/v1/accounts/acc-berger-client-james/password-reset",
        headers={"Authorization": f"Bearer {owner_token}"},
    )
    assert sent.status == 202, sent.body
    assert sent.json()["sent_to"] == "j***@example.com"

    mail = wait_for_mail(stack, JAMES[0], before)
    # James is a client of Berger, a white-label firm: From carries its sender name (RFC 2047, the
    # dash is not ASCII), Reply-To its contact.
    sender_name = "=?utf-8?q?Kanzlei_Berger_=E2=80=93_Mandantenservice?="
    assert mail["from"] == f"{sender_name} <no-reply@portal.example.com>"
    assert mail["from_name"] == "Kanzlei Berger – Mandantenservice"
    assert mail["reply_to"] == ["mandanten@berger-steuer.example"]
    assert mail["subject"]
    assert mail["html"] and mail["text"]  # both parts, which moto alone would not keep
    reset_base = f"{stack.base_url}/reset#token="
    links = re.findall(re.escape(reset_base) + r"[A-Za-z0-9_-]+", mail["text"])
    assert links, mail["text"]
    link = links[0]
    assert link in mail["html"]
    # The reset link, then the help article beside the configured reset page (never the Host's).
    assert mail["links"] == [link, f"{stack.base_url}/help/reset-email?lang=en&firm=firm-berger"]
    token = link.removeprefix(reset_base)

    # The mailbox page shows it, newest first, with the clickable link.
    page = stack.get("/_dev/mail", headers={"Accept": "text/html"})
    assert page.status == 200
    assert page.text.index(mail["id"]) < min(
        (page.text.index(i) for i in before if i in page.text), default=len(page.text)
    )
    assert f'href="{link}"' in page.text

    confirmed = stack.post("/v1/password-resets/confirm", {"token": token, "password": NEW_PASSWORD})
    assert confirmed.status == 200, confirmed.body
    body = confirmed.json()
    assert body["redirect_url"] == f"{stack.base_url}/_dev/portal?firm=firm-berger"  # Berger's portal
    [set_cookie] = confirmed.header_values("Set-Cookie")
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie and "SameSite=Lax" in set_cookie
    cookie = SimpleCookie()
    cookie.load(set_cookie)
    session_cookie = cookie["__Host-portal_session"].value
    assert session_cookie == body["session"]["token"]

    by_cookie = stack.get(
        "/v1/sessions/current", headers={"Cookie": f"__Host-portal_session={session_cookie}"}
    )
    assert by_cookie.status == 200, by_cookie.body
    assert by_cookie.json()["account"]["email"] == JAMES[0]
    by_bearer = stack.get(
        "/v1/sessions/current", headers={"Authorization": f"Bearer {body['session']['token']}"}
    )
    assert by_bearer.json()["account"]["account_id"] == "acc-berger-client-james"

    old = stack.post("/v1/sessions", {"email": JAMES[0], "password": JAMES[1]})
    assert old.status == 401
    assert old.json()["error"]["code"] == "invalid_credentials"
    assert sign_in(stack, JAMES[0], NEW_PASSWORD)

    again = stack.post("/v1/password-resets/confirm", {"token": token, "password": NEW_PASSWORD + "!"})
    assert (again.status, again.json()["error"]["code"]) == (410, "token_used")


def test_self_service_request_answers_the_same_for_known_and_unknown_addresses(stack: Stack) -> None:
    before = mail_ids(stack)
    known = stack.post("/v1/password-resets", {"email": "maria.lopez@example.org"})
    unknown = stack.post("/v1/password-resets", {"email": "nobody@example.org"})

    assert (known.status, known.body) == (unknown.status, unknown.body) == (202, b'{"status":"accepted"}')
    mail = wait_for_mail(stack, "maria.lopez@example.org", before)
    assert mail["links"][0].startswith(f"{stack.base_url}/reset#token=")
    assert all("nobody@example.org" not in m["to"] for m in stack.mail())


def link_from_mail(stack: Stack, to: str, before: set[str]) -> str:
    """The token of the next mail to ``to`` that carries a ``#token=`` link: the password-changed
    mail of an earlier change (its links are the lock link and the help article) may come first."""
    seen = set(before)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        mail = wait_for_mail(stack, to, seen, timeout=max(0.1, deadline - time.monotonic()))
        links = [link for link in mail["links"] if "#token=" in link]
        if links:
            return str(links[0].split("#token=", 1)[1])
        seen.add(mail["id"])
    pytest.fail(f"no mail with a link to {to}")


def test_a_100_character_password_set_by_a_reset_is_kept_whole(stack: Stack) -> None:
    """No truncation anywhere between the page and the hash: the first 72 characters of a
    100-character password (all bcrypt would keep) do not sign in; all 100 do."""
    assert (len(FIRST_72), len(LONG_PASSWORD)) == (72, 100)
    account_id, email = LONG_ONES_ACCOUNT
    # A client of their own (the other tests' accounts keep their passwords): invited, a first
    # password set, then a reset like any other.
    before = mail_ids(stack)
    body = {
        "firm_id": "firm-berger",
        "role": "client",
        "email": email,
        "name": "Paul Quist",
        "send_invitation": True,
    }
    assert stack.signed("PUT", f"/v1/admin/accounts/{account_id}", body).status == 201
    first = stack.post(
        "/v1/password-resets/confirm",
        {"token": link_from_mail(stack, email, before), "password": NEW_PASSWORD},
    )
    assert first.status == 200, first.body

    before = mail_ids(stack)
    owner_token = sign_in(stack, *OWNER)
    sent = stack.post(
        f"/v1/accounts/{account_id}/password-reset", headers={"Authorization": f"Bearer {owner_token}"}
    )
    assert sent.status == 202, sent.body
    token = link_from_mail(stack, email, before)
    verified = stack.post("/v1/password-resets/verify", {"token": token})
    assert verified.json()["purpose"] == "reset"
    confirmed = stack.post("/v1/password-resets/confirm", {"token": token, "password": LONG_PASSWORD})
    assert confirmed.status == 200, confirmed.body

    for truncated in (FIRST_72, LONG_PASSWORD[:99]):
        refused = stack.post("/v1/sessions", {"email": email, "password": truncated})
        assert (refused.status, refused.json()["error"]["code"]) == (401, "invalid_credentials")
    assert stack.post("/v1/sessions", {"email": email, "password": LONG_PASSWORD}).status == 201
