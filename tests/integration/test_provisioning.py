"""The CRM's provisioning API through the gateway's SigV4 check, the handler and moto."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from devstack.seed import signed_headers
from devstack.sigv4 import KeyPair
from support.api import API_HOST, PROVISIONING_KEY, Api
from support.demo_accounts import ANNA, ANNA_PROVISIONED, OWNER
from support.html_parsing import ParsedHtml
from support.races import Overlap, all_at_once
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import (
    SesSpy,
    html_of,
    message_body,
    sent_messages,
    subject_of,
    tags,
    text_of,
    token_from,
)

BERGER = "firm-berger"
HARTMANN = "firm-hartmann"
GOOD_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"


def anna_body(**overrides: Any) -> dict[str, Any]:
    return {**ANNA_PROVISIONED, **overrides}


def new_client(account_id: str = "acc-new-client", **overrides: Any) -> dict[str, Any]:
    body = {"firm_id": BERGER, "role": "client", "email": "neu@example.com", "name": "Nina Neu"}
    body.update(overrides)
    return body


def items(table_env: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=os.environ[table_env], ConsistentRead=True)["Items"]


def claims(firm_id: str = BERGER) -> dict[str, str]:
    """Which account of the firm has each address: the memberships of the logins table."""
    memberships = [i for i in items("LOGINS_TABLE") if i["item"]["S"] == f"firm#{firm_id}"]
    return {i["email"]["S"]: i["account_id"]["S"] for i in memberships}


def provisioning_events(account_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in items("EVENTS_TABLE")
        if e["type"]["S"] == "account_provisioned" and e["account_id"]["S"] == account_id
    ]


def staff_link_to_anna(api: Api, demo: dict[str, Any]) -> str:
    token = api.sign_in(demo[OWNER]["email"], demo[OWNER]["password"])
    assert api.post(f"/v1/accounts/{ANNA}/password-reset", token=token).status == 202
    return token_from(sent_messages()[-1])


# --------------------------------------------------------------------------- firms


def test_a_firm_is_created_then_updated_and_the_same_body_twice_changes_nothing(api: Api, aws: None) -> None:
    body = {"name": "Kanzlei Neu", "locale": "en", "time_zone": "Europe/Vienna"}
    created = api.signed("PUT", "/v1/admin/firms/firm-neu", body)
    assert (created.status, created.body) == (
        201,
        {
            "firm": {
                "firm_id": "firm-neu",
                "name": "Kanzlei Neu",
                "locale": "en",
                "time_zone": "Europe/Vienna",
                # White-label (tests/integration/test_white_label.py): absent fields read as null.
                "portal_url": None,
                "sender_name": None,
                "contact": None,
                "brand": None,
            }
        },
    )
    again = api.signed("PUT", "/v1/admin/firms/firm-neu", body)
    assert (again.status, again.body) == (200, created.body)
    renamed = api.signed("PUT", "/v1/admin/firms/firm-neu", {**body, "name": "Kanzlei Neu & Co"})
    assert (renamed.status, renamed.body["firm"]["name"]) == (200, "Kanzlei Neu & Co")


# --------------------------------------------------------------------------- accounts


def test_an_account_is_created_with_its_firms_language_and_zone(api: Api, demo: dict[str, Any]) -> None:
    result = api.signed("PUT", "/v1/admin/accounts/acc-new-client", new_client())

    assert result.status == 201, result.body
    assert result.body == {
        "account": {
            "account_id": "acc-new-client",
            "firm_id": BERGER,
            "role": "client",
            "email": "neu@example.com",
            "name": "Nina Neu",
            "locale": "de",
            "time_zone": "Europe/Berlin",
            "status": "active",
            "has_password": False,
            "email_status": "ok",
        },
        "revoked": {"links": 0, "sessions": 0},
    }
    assert claims()["neu@example.com"] == "acc-new-client"
    read = api.signed("GET", "/v1/admin/accounts/acc-new-client")
    assert (read.status, read.body) == (200, {"account": result.body["account"]})


def test_a_password_sent_with_an_account_sets_nothing(api: Api, demo: dict[str, Any]) -> None:
    """The CRM cannot choose a password either (ASVS 6.4.6): the body has no such field, and one
    sent anyway (a password, or a ready hash of it) is not taken, for a new account or an existing one."""
    from argon2 import PasswordHasher

    chosen = {
        "password": GOOD_PASSWORD,
        "new_password": GOOD_PASSWORD,
        "password_hash": PasswordHasher().hash(GOOD_PASSWORD),
    }
    created = api.signed("PUT", "/v1/admin/accounts/acc-new-client", new_client(**chosen))
    updated = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", anna_body(**chosen))

    assert (created.status, created.body["account"]["has_password"]) == (201, False)
    assert updated.status == 200, updated.body
    for email in ("neu@example.com", demo[ANNA]["email"]):
        before = recorded()
        refused = api.post("/v1/sessions", {"email": email, "password": GOOD_PASSWORD})
        assert (refused.status, refused.error_code) == (401, "invalid_credentials")
        assert_nothing_recorded_since(before)
    assert api.sign_in_as(demo[ANNA])


def test_the_same_put_twice_writes_and_revokes_nothing(api: Api, demo: dict[str, Any]) -> None:
    staff_link_to_anna(api, demo)
    session = api.sign_in("anna.schmidt@example.com", demo[ANNA]["password"])
    before = len(provisioning_events(ANNA))

    again = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", anna_body())

    assert again.status == 200, again.body
    assert again.body["revoked"] == {"links": 0, "sessions": 0}
    assert len(provisioning_events(ANNA)) == before
    assert api.get("/v1/sessions/current", token=session).status == 200


def test_a_new_address_ends_every_open_link_and_session_in_the_same_write(
    api: Api, demo: dict[str, Any]
) -> None:
    raw = staff_link_to_anna(api, demo)
    sessions = [api.sign_in("anna.schmidt@example.com", demo[ANNA]["password"]) for _ in range(2)]

    moved = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", anna_body(email="anna.neu@example.com"))

    assert moved.status == 200, moved.body
    assert moved.body["revoked"] == {"links": 1, "sessions": 2}
    assert moved.body["account"]["email"] == "anna.neu@example.com"
    for token in sessions:
        assert api.get("/v1/sessions/current", token=token).status == 401
    for route in ("verify", "confirm"):
        used = api.post(f"/v1/password-resets/{route}", {"token": raw, "password": GOOD_PASSWORD})
        assert (used.status, used.error_code) == (410, "token_revoked"), route
    assert claims().get("anna.schmidt@example.com") is None
    assert claims()["anna.neu@example.com"] == ANNA
    # The old address is free for someone else now. The password was the old address's login's:
    # the new address's login has none yet (an invitation sets one), so it does not sign in.
    assert moved.body["account"]["has_password"] is False
    assert (
        api.signed("PUT", "/v1/admin/accounts/acc-other", new_client(email="anna.schmidt@example.com")).status
        == 201
    )
    assert (
        api.post("/v1/sessions", {"email": "anna.neu@example.com", "password": demo[ANNA]["password"]}).status
        == 401
    )


def anna_deliveries(api: Api, demo: dict[str, Any]) -> list[dict[str, Any]]:
    petra = api.sign_in(demo[OWNER]["email"], demo[OWNER]["password"])
    view = api.get(f"/v1/accounts/{ANNA}/password-reset/deliveries", token=petra)
    assert view.status == 200, view.body
    return list(view.body["deliveries"])


def test_a_new_address_is_told_to_the_previous_one_in_the_accounts_language_without_a_link(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #24.1: whoever changes a client's address to their own cannot take the account over
    unheard. The CRM also switches Anna to English here: the mail speaks the account's language."""
    mails = SesSpy(monkeypatch)
    body = anna_body(email="neu.anna@example.org", locale="en")

    moved = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", body)

    assert moved.status == 200, moved.body
    [mail] = mails.mails("previous_address")
    assert mail["Destination"]["ToAddresses"] == ["anna.schmidt@example.com"]
    assert subject_of(mail) == (
        "Your e-mail address for the Steuerkanzlei Berger & Partner client portal was changed"
    )
    html, text = ParsedHtml(html_of(mail)), text_of(mail)
    for part in (text, html.text):
        assert "the Steuerkanzlei Berger & Partner client portal uses the address n***@example.org" in part
        assert "neu.anna@example.org" not in part
        assert "please contact Steuerkanzlei Berger & Partner at once" in part
        assert "mandanten@berger-steuer.example" in part  # the firm's contact
    # No link that could undo or take over anything: only the firm's contact.
    assert set(html.hrefs) == {"mailto:mandanten@berger-steuer.example", "tel:+496221123450"}
    assert "http" not in text and "#token=" not in text + html_of(mail)
    # On Anna's timeline, so staff see it (and a bounce of it).
    [delivery] = [d for d in anna_deliveries(api, demo) if d["kind"] == "previous_address"]
    assert delivery["reset_id"] == tags(mail)["reset_id"]
    assert delivery["status"] == "sent"
    # The same PUT again changes nothing and sends nothing.
    assert api.signed("PUT", f"/v1/admin/accounts/{ANNA}", body).status == 200
    assert len(mails.mails("previous_address")) == 1


def test_a_previous_address_mail_ses_refuses_fails_nothing_but_shows_on_the_timeline(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    mails = SesSpy(monkeypatch)
    mails.fail_always.add("anna.schmidt@example.com")

    moved = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", anna_body(email="neu.anna@example.org"))

    assert moved.status == 200, moved.body
    assert moved.body["account"]["email"] == "neu.anna@example.org"
    assert mails.attempts == ["anna.schmidt@example.com"]
    [delivery] = [d for d in anna_deliveries(api, demo) if d["kind"] == "previous_address"]
    assert delivery["status"] == "failed"


def test_a_previous_address_ses_condemned_is_not_mailed_again(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A complaint about the old address (SES's verdict on its login): mailing it again would only
    raise the sender's complaint rate; the change itself goes through."""
    from pwreset.storage.models import LOGIN_ITEM, Login

    Login("anna.schmidt@example.com", LOGIN_ITEM).update(actions=[Login.email_status.set("complained")])
    mails = SesSpy(monkeypatch)

    moved = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", anna_body(email="neu.anna@example.org"))

    assert (moved.status, moved.body["account"]["email"]) == (200, "neu.anna@example.org")
    assert mails.attempts == []


@pytest.mark.parametrize("change", [{"role": "member"}, {"status": "archived"}], ids=["new role", "archived"])
def test_a_new_role_or_archiving_ends_access_too(
    api: Api, demo: dict[str, Any], change: dict[str, str]
) -> None:
    raw = staff_link_to_anna(api, demo)
    session = api.sign_in("anna.schmidt@example.com", demo[ANNA]["password"])

    result = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", anna_body(**change))

    assert result.body["revoked"] == {"links": 1, "sessions": 1}
    assert api.get("/v1/sessions/current", token=session).status == 401
    verify = api.post("/v1/password-resets/verify", {"token": raw})
    assert (verify.status, verify.error_code) == (410, "token_revoked")


def test_a_new_name_or_language_ends_nothing(api: Api, demo: dict[str, Any]) -> None:
    raw = staff_link_to_anna(api, demo)
    session = api.sign_in("anna.schmidt@example.com", demo[ANNA]["password"])

    result = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", anna_body(name="Anna Schmidt-Berg", locale="en"))

    assert result.status == 200
    assert result.body["revoked"] == {"links": 0, "sessions": 0}
    assert result.body["account"]["locale"] == "en"
    assert api.get("/v1/sessions/current", token=session).status == 200
    assert api.post("/v1/password-resets/verify", {"token": raw}).status == 200


def test_an_address_already_in_use_is_409_and_nothing_is_written(api: Api, demo: dict[str, Any]) -> None:
    before = recorded()
    taken = api.signed("PUT", "/v1/admin/accounts/acc-copycat", new_client(email="ANNA.Schmidt@example.com "))

    assert (taken.status, taken.error_code) == (409, "email_taken")
    assert_nothing_recorded_since(before)
    assert api.signed("GET", "/v1/admin/accounts/acc-copycat").status == 404
    assert claims()["anna.schmidt@example.com"] == ANNA
    assert provisioning_events("acc-copycat") == []


def test_two_concurrent_puts_claiming_one_address_exactly_one_wins(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty different accounts claim one address at the same moment: DynamoDB's transaction
    condition on the claim decides, not a read before the write."""
    from pwreset.accounts import provisioning

    puts = Overlap()
    puts.install(monkeypatch, provisioning, "put_account")

    statuses = all_at_once(
        20,
        lambda index: (
            api.signed(
                "PUT", f"/v1/admin/accounts/acc-racer-{index}", new_client(email="same@example.com")
            ).status
        ),
    )

    assert puts.peak >= 2, "the puts never ran at the same time: nothing raced"
    assert sorted(statuses) == [201] + [409] * 19
    [winner] = [i for i, status in enumerate(statuses) if status == 201]
    assert claims()["same@example.com"] == f"acc-racer-{winner}"
    created = [
        i["account_id"]["S"] for i in items("ACCOUNTS_TABLE") if i["account_id"]["S"].startswith("acc-racer")
    ]
    assert created == [f"acc-racer-{winner}"]


def test_an_account_cannot_move_between_firms(api: Api, demo: dict[str, Any]) -> None:
    before = recorded()
    moved = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", anna_body(firm_id=HARTMANN))
    assert (moved.status, moved.error_code) == (409, "firm_mismatch")
    assert_nothing_recorded_since(before)
    assert api.signed("GET", f"/v1/admin/accounts/{ANNA}").body["account"]["firm_id"] == BERGER


def test_an_unknown_firm_is_404(api: Api, demo: dict[str, Any]) -> None:
    before = recorded()
    result = api.signed("PUT", "/v1/admin/accounts/acc-x", new_client(firm_id="firm-nowhere"))
    assert (result.status, result.error_code) == (404, "firm_not_found")
    assert_nothing_recorded_since(before)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role", "admin"),
        ("locale", "fr"),
        ("email", "not an address"),
        ("time_zone", "Mars/Olympus"),
        ("time_zone", "../../etc/passwd"),
        ("status", "locked"),
        ("name", ""),
        ("firm_id", "firm with spaces"),
        ("send_invitation", "yes"),
    ],
)
def test_bad_fields_are_400_naming_the_field(api: Api, demo: dict[str, Any], field: str, value: Any) -> None:
    before = recorded()
    result = api.signed("PUT", "/v1/admin/accounts/acc-bad", new_client(**{field: value}))
    assert (result.status, result.error_code) == (400, "invalid_request"), result.body
    assert_nothing_recorded_since(before)
    assert field in result.body["error"]["fields"]
    assert api.signed("GET", "/v1/admin/accounts/acc-bad").status == 404


@pytest.mark.parametrize("account_id", ["acc with space", "a" * 129, "-leading-dash", "acc%2Fslash"])
def test_a_malformed_account_id_is_400(api: Api, demo: dict[str, Any], account_id: str) -> None:
    before = recorded()
    result = api.signed("PUT", f"/v1/admin/accounts/{account_id}", new_client())
    assert result.status == 400
    assert_nothing_recorded_since(before)


def test_an_unknown_account_reads_404(api: Api, demo: dict[str, Any]) -> None:
    before = recorded()
    result = api.signed("GET", "/v1/admin/accounts/acc-nobody")
    assert (result.status, result.error_code) == (404, "account_not_found")
    assert_nothing_recorded_since(before)


# --------------------------------------------------------------------------- signatures


def put_signed_for(path: str, body: bytes, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The headers of a PUT of ``body`` to ``path``, signed as the CRM signs (``extra`` signed too)."""
    headers = {"Host": API_HOST, "Content-Type": "application/json", **(extra or {})}
    return signed_headers(PROVISIONING_KEY, "PUT", f"https://{API_HOST}{path}", body, headers)


def test_unsigned_wrongly_signed_and_skewed_requests_are_403(api: Api, demo: dict[str, Any]) -> None:
    path = f"/v1/admin/accounts/{ANNA}"
    before = recorded()
    unsigned = api.get(path)
    assert (unsigned.status, unsigned.error_code) == (403, "forbidden")

    wrong = KeyPair(PROVISIONING_KEY.access_key_id, "not-the-secret-" + "x" * 25, PROVISIONING_KEY.region)
    assert api.signed("GET", path, key=wrong).status == 403
    stranger = KeyPair("AKIASTRANGER00000001", PROVISIONING_KEY.secret_access_key, PROVISIONING_KEY.region)
    assert api.signed("GET", path, key=stranger).status == 403
    elsewhere = KeyPair(PROVISIONING_KEY.access_key_id, PROVISIONING_KEY.secret_access_key, "us-east-1")
    assert api.signed("GET", path, key=elsewhere).status == 403

    # A body other than the one signed: the signature covers the payload's hash.
    headers = put_signed_for(path, json.dumps(anna_body(name="Mallory")).encode())
    tampered = api.request("PUT", path, raw_body=json.dumps(anna_body(name="Eve")).encode(), headers=headers)
    assert tampered.status == 403
    assert_nothing_recorded_since(before)
    assert api.signed("GET", path).body["account"]["name"] == "Anna Schmidt"


@pytest.mark.parametrize("claim", ["UNSIGNED-PAYLOAD", "hash of the signed body"])
def test_a_body_swapped_under_a_payload_hash_claim_is_403(api: Api, demo: dict[str, Any], claim: str) -> None:
    """Security review #24, item 4: botocore's signer signs ``X-Amz-Content-SHA256`` instead of the
    body when the header is there. API Gateway hashes an ``execute-api`` body itself, so a
    signature over ``UNSIGNED-PAYLOAD`` or over another body's hash must not carry a new body."""
    path = f"/v1/admin/accounts/{ANNA}"
    signed_for = json.dumps(anna_body()).encode()
    value = "UNSIGNED-PAYLOAD" if claim == "UNSIGNED-PAYLOAD" else hashlib.sha256(signed_for).hexdigest()
    headers = put_signed_for(path, signed_for, {"X-Amz-Content-SHA256": value})
    before = recorded()
    swapped = json.dumps(anna_body(email="mallory@example.net", name="Mallory")).encode()
    refused = api.request("PUT", path, raw_body=swapped, headers=headers)

    assert (refused.status, refused.error_code) == (403, "forbidden")
    assert_nothing_recorded_since(before)
    assert api.signed("GET", path).body["account"]["email"] == "anna.schmidt@example.com"


def test_a_signer_that_sends_the_bodys_own_hash_is_served(api: Api, demo: dict[str, Any]) -> None:
    """The header itself is fine when it tells the truth (S3-style signers always send it)."""
    path = f"/v1/admin/accounts/{ANNA}"
    body = json.dumps(anna_body(name="Anna Schmidt-Berg")).encode()
    headers = put_signed_for(path, body, {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert api.request("PUT", path, raw_body=body, headers=headers).status == 200
    assert api.signed("GET", path).body["account"]["name"] == "Anna Schmidt-Berg"


def test_a_signature_more_than_five_minutes_old_is_403(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.auth

    path = f"/v1/admin/accounts/{ANNA}"
    before = recorded()
    for minutes, status in ((6, 403), (-6, 403), (4, 200), (-4, 200)):
        signed_at = datetime.now(UTC) - timedelta(minutes=minutes)
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda at=signed_at: at)
        assert api.signed("GET", path).status == status, minutes
    assert_nothing_recorded_since(before)  # a GET records nothing either way


# --------------------------------------------------------------------------- invitations on PUT


def test_send_invitation_mails_a_welcome_once_and_the_link_sets_the_first_password(
    api: Api, demo: dict[str, Any]
) -> None:
    body = new_client(locale="en", send_invitation=True)
    first = api.signed("PUT", "/v1/admin/accounts/acc-new-client", body)

    assert first.status == 201, first.body
    assert first.body["invitation"]["status"] == "sent"
    assert first.body["invitation"]["sent_to"] == "n***@example.com"
    [mail] = sent_messages()
    assert "Welcome" in message_body(mail) and "Set password" in message_body(mail)
    expires = datetime.fromisoformat(first.body["invitation"]["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)

    again = api.signed("PUT", "/v1/admin/accounts/acc-new-client", body)
    assert again.body["invitation"] == {**first.body["invitation"], "status": "pending"}
    assert len(sent_messages()) == 1

    raw = token_from(mail)
    verified = api.post("/v1/password-resets/verify", {"token": raw})
    assert (verified.status, verified.body["purpose"]) == (200, "invitation")
    assert api.post("/v1/sessions", {"email": "neu@example.com", "password": GOOD_PASSWORD}).status == 401
    confirmed = api.post("/v1/password-resets/confirm", {"token": raw, "password": GOOD_PASSWORD})
    assert confirmed.status == 200, confirmed.body
    assert api.signed("GET", "/v1/admin/accounts/acc-new-client").body["account"]["has_password"] is True
    after = api.signed("PUT", "/v1/admin/accounts/acc-new-client", body)
    assert after.body["invitation"] == {"status": "password_already_set"}
    assert len(sent_messages()) == 1


def test_no_invitation_goes_to_an_archived_account(api: Api, demo: dict[str, Any]) -> None:
    result = api.signed(
        "PUT", "/v1/admin/accounts/acc-new-client", new_client(status="archived", send_invitation=True)
    )
    assert result.body["invitation"] == {"status": "not_sent", "reason": "archived"}
    assert sent_messages() == []


# --------------------------------------------------------------------------- erasure


def test_delete_erases_personal_data_links_sessions_and_deliveries_and_keeps_audit_events_anonymous(
    api: Api, demo: dict[str, Any]
) -> None:
    staff_link_to_anna(api, demo)
    api.sign_in("anna.schmidt@example.com", demo[ANNA]["password"])
    assert [e for e in items("EVENTS_TABLE") if e["account_id"]["S"] == ANNA]

    erased = api.signed("DELETE", f"/v1/admin/accounts/{ANNA}")

    assert (erased.status, erased.raw.body) == (204, b"")
    assert api.signed("GET", f"/v1/admin/accounts/{ANNA}").status == 404
    assert all(i["account_id"]["S"] != ANNA for i in items("ACCOUNTS_TABLE"))
    assert all(i["account_id"]["S"] != ANNA for i in items("RESET_TOKENS_TABLE"))
    assert all(i["account_id"]["S"] != ANNA for i in items("SESSIONS_TABLE"))
    assert items("DELIVERY_EVENTS_TABLE") == []
    assert "anna.schmidt@example.com" not in claims()
    events = [e for e in items("EVENTS_TABLE") if e["account_id"]["S"] == ANNA]
    assert events, "audit events stay"
    text = repr(events)
    for personal in ("anna", "Schmidt", "198.51.100", "pytest", "Petra"):
        assert personal not in text.replace(ANNA, ""), personal
    assert (
        api.post(
            "/v1/sessions", {"email": "anna.schmidt@example.com", "password": demo[ANNA]["password"]}
        ).status
        == 401
    )
    before = recorded()
    assert api.signed("DELETE", f"/v1/admin/accounts/{ANNA}").status == 404
    assert_nothing_recorded_since(before)


def test_an_erasure_that_fails_part_way_is_finished_by_the_next_delete(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwreset.accounts import provisioning

    staff_link_to_anna(api, demo)
    api.sign_in("anna.schmidt@example.com", demo[ANNA]["password"])
    original = provisioning._delete_sessions
    monkeypatch.setattr(provisioning, "_delete_sessions", _fails_once(original))

    failed = api.signed("DELETE", f"/v1/admin/accounts/{ANNA}")
    assert failed.status >= 500 and failed.error_code == "internal_error"
    # Already nothing signs in or reads back; the address is free.
    assert api.signed("GET", f"/v1/admin/accounts/{ANNA}").status == 404
    assert "anna.schmidt@example.com" not in claims()

    assert api.signed("DELETE", f"/v1/admin/accounts/{ANNA}").status == 204
    assert all(i["account_id"]["S"] != ANNA for i in items("SESSIONS_TABLE") + items("ACCOUNTS_TABLE"))


def _fails_once(function: Any) -> Any:
    calls = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated failure part-way")
        return function(*args, **kwargs)

    return wrapper
