"""Invitations: staff invite a client without a password; the welcome link sets the first one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from support.api import Api
from support.demo_accounts import ANNA, MEMBER, OWNER
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import message_body, sent_messages, token_from

OTHER_FIRM_MEMBER = "acc-hartmann-member"
NEWBIE = "acc-berger-client-newbie"
GOOD_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"


@pytest.fixture
def newbie(api: Api, demo: dict[str, Any]) -> dict[str, Any]:
    """A client the CRM created without an invitation: no password yet."""
    body = {"firm_id": "firm-berger", "role": "client", "email": "nora.neu@example.com", "name": "Nora Neu"}
    assert api.signed("PUT", f"/v1/admin/accounts/{NEWBIE}", body).status == 201
    return {**demo, NEWBIE: {**body, "account_id": NEWBIE, "locale": "de"}}


def staff_token(api: Api, demo: dict[str, Any], staff: str) -> str:
    return api.sign_in(demo[staff]["email"], demo[staff]["password"])


def test_staff_invite_a_client_and_the_welcome_link_sets_the_first_password(
    api: Api, newbie: dict[str, Any]
) -> None:
    invited = api.post(f"/v1/accounts/{NEWBIE}/invitation", token=staff_token(api, newbie, MEMBER))

    assert invited.status == 202, invited.body
    assert invited.body["sent_to"] == "n***@example.com"
    expires = datetime.fromisoformat(invited.body["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    [mail] = sent_messages()
    body = message_body(mail)
    assert "Jonas Weber von Steuerkanzlei Berger &amp; Partner lädt Sie in das Mandantenportal ein" in body
    assert "Passwort festlegen" in body

    raw = token_from(mail)
    verified = api.post("/v1/password-resets/verify", {"token": raw})
    assert verified.status == 200
    assert (verified.body["purpose"], verified.body["email_hint"]) == ("invitation", "n***@example.com")

    confirmed = api.post("/v1/password-resets/confirm", {"token": raw, "password": GOOD_PASSWORD})
    assert confirmed.status == 200, confirmed.body
    assert api.get("/v1/sessions/current", token=confirmed.body["session"]["token"]).status == 200
    assert (
        api.post("/v1/sessions", {"email": "nora.neu@example.com", "password": GOOD_PASSWORD}).status == 201
    )


def test_an_account_with_a_password_gets_409_send_a_reset_instead(api: Api, demo: dict[str, Any]) -> None:
    petra = staff_token(api, demo, OWNER)
    before = recorded()
    result = api.post(f"/v1/accounts/{ANNA}/invitation", token=petra)
    assert (result.status, result.error_code) == (409, "password_already_set")
    assert_nothing_recorded_since(before)
    # In Petra's language, and it says what to do instead.
    assert result.body["error"]["message"].endswith("Senden Sie stattdessen einen Link zum Zurücksetzen.")
    assert sent_messages() == []


def test_invitations_follow_the_staff_rules(api: Api, newbie: dict[str, Any]) -> None:
    # Signed in first: their sign-ins are records of their own.
    other_firms_member = staff_token(api, newbie, OTHER_FIRM_MEMBER)
    a_client = staff_token(api, newbie, ANNA)
    before = recorded()
    other = api.post(f"/v1/accounts/{NEWBIE}/invitation", token=other_firms_member)
    assert (other.status, other.error_code) == (404, "account_not_found")
    client = api.post(f"/v1/accounts/{NEWBIE}/invitation", token=a_client)
    assert (client.status, client.error_code) == (403, "forbidden")
    anonymous = api.post(f"/v1/accounts/{NEWBIE}/invitation")
    assert (anonymous.status, anonymous.error_code) == (401, "unauthorized")
    assert_nothing_recorded_since(before)


def test_an_account_without_a_password_never_signs_in(api: Api, newbie: dict[str, Any]) -> None:
    before = recorded()
    for password in ("", "anything at all", GOOD_PASSWORD):
        result = api.post("/v1/sessions", {"email": "nora.neu@example.com", "password": password or "x"})
        assert (result.status, result.error_code) == (401, "invalid_credentials")
    assert_nothing_recorded_since(before)


def test_forgotten_password_without_one_mails_the_welcome_link_again(
    api: Api, newbie: dict[str, Any]
) -> None:
    """Self-service for an invited account that never set a password sends the invitation (with the
    self-service lifetime), so a lost welcome mail is not a dead end."""
    assert api.post("/v1/password-resets", {"email": "nora.neu@example.com"}).status == 202
    [mail] = sent_messages()
    assert "Sie haben einen Link angefordert, um Ihr Passwort" in message_body(mail)
    verified = api.post("/v1/password-resets/verify", {"token": token_from(mail)})
    assert verified.body["purpose"] == "invitation"
    expires = datetime.fromisoformat(verified.body["expires_at"])
    assert expires - datetime.now(UTC) <= timedelta(hours=1)


def test_a_staff_reset_for_a_client_without_a_password_sends_the_welcome_mail(
    api: Api, newbie: dict[str, Any]
) -> None:
    sent = api.post(f"/v1/accounts/{NEWBIE}/password-reset", token=staff_token(api, newbie, OWNER))
    assert sent.status == 202
    [mail] = sent_messages()
    verified = api.post("/v1/password-resets/verify", {"token": token_from(mail)})
    assert verified.body["purpose"] == "invitation"


# ---------------------------------------------------------------- a new invitation ends the earlier ones


def assert_refused_as_revoked(api: Api, raw: str) -> None:
    for route in ("verify", "confirm"):
        refused = api.post(f"/v1/password-resets/{route}", {"token": raw, "password": GOOD_PASSWORD})
        assert (refused.status, refused.error_code) == (410, "token_revoked"), route


def test_a_new_invitation_ends_the_earlier_invitation_link_and_only_the_new_one_works(
    api: Api, newbie: dict[str, Any]
) -> None:
    """Issue #24.8: a forwarded or older welcome mail must not set the first password once a new
    one went out; the staff member sees the new one's id, the earlier one answers 410."""
    jonas = staff_token(api, newbie, MEMBER)
    first = api.post(f"/v1/accounts/{NEWBIE}/invitation", token=jonas)
    second = api.post(f"/v1/accounts/{NEWBIE}/invitation", token=jonas)
    assert (first.status, second.status) == (202, 202)
    earlier, newer = (token_from(mail) for mail in sent_messages())

    assert_refused_as_revoked(api, earlier)
    verified = api.post("/v1/password-resets/verify", {"token": newer})
    assert (verified.status, verified.body["purpose"]) == (200, "invitation")
    confirmed = api.post("/v1/password-resets/confirm", {"token": newer, "password": GOOD_PASSWORD})
    assert confirmed.status == 200, confirmed.body


def test_an_invitation_from_staff_ends_the_one_the_crm_sent(api: Api, demo: dict[str, Any]) -> None:
    """The CRM's ``send_invitation`` and the staff route issue the same kind of link: the newest wins."""
    body = {
        "firm_id": "firm-berger",
        "role": "client",
        "email": "nora.neu@example.com",
        "name": "Nora Neu",
        "send_invitation": True,
    }
    provisioned = api.signed("PUT", f"/v1/admin/accounts/{NEWBIE}", body)
    assert provisioned.body["invitation"]["status"] == "sent", provisioned.body
    staff = api.post(f"/v1/accounts/{NEWBIE}/invitation", token=staff_token(api, demo, OWNER))
    assert staff.status == 202, staff.body
    from_crm, from_staff = (token_from(mail) for mail in sent_messages())

    assert_refused_as_revoked(api, from_crm)
    confirmed = api.post("/v1/password-resets/confirm", {"token": from_staff, "password": GOOD_PASSWORD})
    assert confirmed.status == 200, confirmed.body
