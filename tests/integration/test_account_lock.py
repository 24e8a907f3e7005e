""" "It wasn't me": the lock link in a client's password-changed mail, ``POST /v1/account-locks``,
and what a locked account means for sign-in, sessions, links, self-service, staff and the CRM.

Everything runs under moto: requests go through the template-driven gateway, the mails come from
the notification function fed the events table's stream as the template's mapping feeds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from support.accounts import SECOND_OWNER_EMAIL, add_second_owner
from support.api import Api
from support.demo_accounts import ANNA, JAMES, MEMBER, OWNER
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import SesSpy, html_of, sent_messages, subject_of, tags, text_of, token_from
from support.user_agents import CHROME_ON_WINDOWS, SAFARI_ON_IPHONE

ROUTE = "/v1/account-locks"
ATTACKER_IP = "203.0.113.66"
HOLDER_IP = "198.51.100.44"
ATTACKERS_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
LOCK_IN_LINK = re.compile(r"#lock=([A-Za-z0-9_-]{43})")


# --------------------------------------------------------------------------- fixtures and helpers


def staff_link(api: Api, demo: dict[str, Any], client: str, staff: str = OWNER) -> str:
    session = api.sign_in_as(demo[staff])
    sent = api.post(f"/v1/accounts/{client}/password-reset", token=session)
    assert sent.status == 202, sent.body
    return token_from(sent_messages()[-1])


def confirm(api: Api, raw: str, password: str = ATTACKERS_PASSWORD) -> str:
    """Set ``password`` with a link, as the attacker would, from their address; the session."""
    done = api.post(
        "/v1/password-resets/confirm",
        {"token": raw, "password": password},
        headers={"User-Agent": CHROME_ON_WINDOWS},
        source_ip=ATTACKER_IP,
    )
    assert done.status == 200, done.body
    return str(done.body["session"]["token"])


def lock_link_in(mail: dict[str, Any]) -> str:
    """The lock token of a holder's mail: the same link in the text and as the button's href."""
    [in_text] = set(LOCK_IN_LINK.findall(text_of(mail)))
    assert in_text in LOCK_IN_LINK.findall(html_of(mail))
    assert f'href="https://portal.example.com/reset#lock={in_text}"' in html_of(mail)
    return in_text


def hijack(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None], client: str = ANNA
) -> tuple[str, str]:
    """A staff-sent link used by someone else: the attacker's session and the holder's lock token."""
    session = confirm(api, staff_link(api, demo, client))
    stream()
    [mail] = mails.to(demo[client]["email"], "password_changed_holder")
    return session, lock_link_in(mail)


def lock(api: Api, raw: Any, **kw: Any) -> Any:
    kw.setdefault("source_ip", HOLDER_IP)
    kw.setdefault("headers", {"User-Agent": SAFARI_ON_IPHONE})
    return api.post(ROUTE, {"token": raw}, **kw)


def items(table_env: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=os.environ[table_env], ConsistentRead=True)["Items"]


def events_of(kind: str) -> list[dict[str, Any]]:
    return sorted((e for e in items("EVENTS_TABLE") if e["type"]["S"] == kind), key=lambda e: e["at"]["S"])


def sign_in(api: Api, email: str, password: str) -> Any:
    return api.post("/v1/sessions", {"email": email, "password": password})


# --------------------------------------------------------------------------- the link in the mail


def test_a_reset_mails_the_client_a_lock_link_that_locks_and_ends_every_session_and_link(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    anna = demo[ANNA]
    own_session = api.sign_in(anna["email"], anna["password"])
    attackers_session, raw = hijack(api, demo, mails, stream)
    open_link = staff_link(api, demo, ANNA)  # sent after the change, before the lock

    # Only the digest is stored, in the lock links' own table; the owners' mails carry no lock link.
    [stored] = items("LOCK_TOKENS_TABLE")
    assert stored["token_hash"]["S"] == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in json.dumps(items("LOCK_TOKENS_TABLE") + items("EVENTS_TABLE"))
    assert all(raw != token_from(m) for m in sent_messages() if "#token=" in str(m.body))
    [petra] = mails.to(demo[OWNER]["email"], "password_changed_owner")
    assert "#lock=" not in html_of(petra) + text_of(petra)
    [holder] = mails.to(anna["email"], "password_changed_holder")
    assert "Das war ich nicht: Konto sperren" in text_of(holder)

    locked = lock(api, raw)

    assert (locked.status, locked.body) == (200, {"status": "locked"})
    for ended in (own_session, attackers_session):
        assert api.get("/v1/sessions/current", token=ended).status == 401
    used = api.post("/v1/password-resets/verify", {"token": open_link})
    assert (used.status, used.error_code) == (410, "token_used")
    # The right password (the attacker's) hears of the lock; a wrong one stays 401.
    before = recorded()
    refused = sign_in(api, anna["email"], ATTACKERS_PASSWORD)
    assert (refused.status, refused.error_code) == (403, "account_locked")
    assert "gesperrt" in refused.body["error"]["message"]  # Anna's language
    wrong = sign_in(api, anna["email"], "not the password at all")
    assert (wrong.status, wrong.error_code) == (401, "invalid_credentials")
    assert_nothing_recorded_since(before)
    [event] = events_of("account_locked")
    detail = event["detail"]["M"]
    assert detail["source_ip"]["S"] == HOLDER_IP and detail["user_agent"]["S"] == SAFARI_ON_IPHONE
    assert detail["reported"]["M"]["source_ip"]["S"] == ATTACKER_IP
    assert detail["reported_change"]["S"] == "reset"
    assert detail["reported_event_id"]["S"] == events_of("password_changed")[0]["event_id"]["S"]


def test_a_change_while_signed_in_mails_a_lock_link_too(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    james = demo[JAMES]
    session = api.sign_in(james["email"], james["password"])
    changed = api.post(
        "/v1/sessions/current/password",
        {"current_password": james["password"], "new_password": ATTACKERS_PASSWORD},
        token=session,
        source_ip=ATTACKER_IP,
    )
    assert changed.status == 200, changed.body
    stream()
    [holder] = mails.to(james["email"], "password_changed_holder")
    assert "It wasn't me: lock my account" in text_of(holder)

    assert lock(api, lock_link_in(holder)).status == 200

    assert api.get("/v1/sessions/current", token=changed.body["session"]["token"]).status == 401
    [event] = events_of("account_locked")
    assert event["detail"]["M"]["reported_change"]["S"] == "portal"


def test_a_first_password_set_with_an_invitation_mails_a_lock_link_too(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    """The welcome link may have reached someone else too: the "access is set up" mail offers the
    lock as well."""
    body = {"firm_id": "firm-berger", "role": "client", "email": "nora.neu@example.com", "name": "Nora Neu"}
    assert api.signed("PUT", "/v1/admin/accounts/acc-nora", {**body, "send_invitation": True}).status == 201
    confirm(api, token_from(sent_messages()[-1]))
    stream()
    [holder] = mails.to("nora.neu@example.com", "password_changed_holder")

    assert lock(api, lock_link_in(holder)).status == 200

    [event] = events_of("account_locked")
    assert event["detail"]["M"]["reported_change"]["S"] == "invitation"


def test_staff_changing_their_own_password_get_no_lock_link(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    """Only the firm's link unlocks, and staff send links to clients only: a locked owner or team
    member would have no way back, so their mail keeps "contact ..." and offers no lock."""
    jonas = demo[MEMBER]
    session = api.sign_in(jonas["email"], jonas["password"])
    change = {"current_password": jonas["password"], "new_password": ATTACKERS_PASSWORD}
    assert api.post("/v1/sessions/current/password", change, token=session).status == 200
    stream()

    [holder] = mails.to(jonas["email"], "password_changed_holder")
    assert "#lock=" not in text_of(holder) + html_of(holder)
    assert items("LOCK_TOKENS_TABLE") == []


# --------------------------------------------------------------------------- the link itself


def test_a_lock_link_works_once(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    _, raw = hijack(api, demo, mails, stream)
    assert lock(api, raw).status == 200
    before = recorded()

    again = lock(api, raw)

    assert (again.status, again.error_code) == (410, "token_used")
    assert "bereits verwendet" in again.body["error"]["message"]
    assert_nothing_recorded_since(before)
    assert len(events_of("account_locked")) == 1


def test_a_lock_link_works_for_seven_days_decided_in_code(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwreset.credentials import tokens

    _, raw = hijack(api, demo, mails, stream)
    [stored] = items("LOCK_TOKENS_TABLE")
    issued = datetime.fromisoformat(stored["created_at"]["S"])
    expires = datetime.fromisoformat(stored["expires_at"]["S"])
    assert expires - issued == timedelta(days=7)
    generator = tokens.default_lock_token_generator

    monkeypatch.setattr(generator, "_now", lambda: expires)
    before = recorded()
    expired = lock(api, raw)
    assert (expired.status, expired.error_code) == (410, "token_expired")
    assert_nothing_recorded_since(before)
    # Still in the table (TTL only cleans up, days later): the code said no.
    assert items("LOCK_TOKENS_TABLE")[0]["status"]["S"] == "issued"

    monkeypatch.setattr(generator, "_now", lambda: expires - timedelta(seconds=1))
    assert lock(api, raw).status == 200


def test_a_lock_link_survives_a_later_password_change(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    """Changing the password once more must not kill the holder's lock link."""
    attackers_session, raw = hijack(api, demo, mails, stream)
    again = {"current_password": ATTACKERS_PASSWORD, "new_password": "Noch ein Passwort vom Angreifer 9"}
    changed = api.post("/v1/sessions/current/password", again, token=attackers_session)
    assert changed.status == 200, changed.body

    assert lock(api, raw).status == 200

    assert api.get("/v1/sessions/current", token=changed.body["session"]["token"]).status == 401


def test_a_second_link_locks_an_account_already_locked_and_is_used_up(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    attackers_session, first = hijack(api, demo, mails, stream)
    again = {"current_password": ATTACKERS_PASSWORD, "new_password": "Noch ein Passwort vom Angreifer 9"}
    assert api.post("/v1/sessions/current/password", again, token=attackers_session).status == 200
    stream()
    second = {lock_link_in(m) for m in mails.to(demo[ANNA]["email"], "password_changed_holder")} - {first}
    [second_raw] = second
    assert lock(api, first).status == 200

    assert lock(api, second_raw).status == 200

    assert {i["status"]["S"] for i in items("LOCK_TOKENS_TABLE")} == {"used"}
    firsts, seconds = events_of("account_locked")
    assert (
        "already_locked" in firsts["detail"]["M"] and firsts["detail"]["M"]["already_locked"]["BOOL"] is False
    )
    assert seconds["detail"]["M"]["already_locked"]["BOOL"] is True


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "invalid_request"),
        ({"token": 5}, 400, "invalid_request"),
        ({"token": ""}, 400, "invalid_request"),
        ({"token": "x" * 513}, 400, "invalid_request"),
        ({"token": "not-a-token"}, 404, "token_invalid"),
        ({"token": "A" * 43}, 404, "token_invalid"),
        ({"token": "../../etc/passwd"}, 404, "token_invalid"),
    ],
)
def test_bad_lock_requests_get_the_contracts_errors(
    api: Api, demo: dict[str, Any], body: dict[str, Any], status: int, code: str
) -> None:
    before = recorded()
    result = api.post(ROUTE, body, headers={"Accept-Language": "en"})
    assert (result.status, result.error_code) == (status, code)
    assert_nothing_recorded_since(before)
    assert result.body["error"]["message"]
    if code == "token_invalid":
        assert "lock the account" in result.body["error"]["message"]


def test_a_reset_token_is_no_lock_token(api: Api, demo: dict[str, Any]) -> None:
    raw = staff_link(api, demo, ANNA)
    before = recorded()
    result = lock(api, raw)
    assert (result.status, result.error_code) == (404, "token_invalid")
    assert_nothing_recorded_since(before)
    assert api.post("/v1/password-resets/verify", {"token": raw}).status == 200


def test_locking_is_limited_per_client_network(api: Api, demo: dict[str, Any]) -> None:
    before = recorded()
    guesses = [lock(api, "B" * 42 + str(i % 10)) for i in range(11)]
    assert [g.status for g in guesses] == [404] * 10 + [429]
    assert guesses[-1].error_code == "rate_limited" and int(guesses[-1].header("Retry-After") or 0) > 0
    # The same /64 is one client; another network is not held back.
    assert lock(api, "C" * 43, source_ip="2001:db8:1:2::1").status == 404
    assert lock(api, "C" * 43, source_ip=ATTACKER_IP).status == 404
    assert_nothing_recorded_since(before)  # the guesses only counted against the limit


# --------------------------------------------------------------------------- while locked


def test_self_service_sends_a_locked_account_nothing_and_answers_as_ever(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    _, raw = hijack(api, demo, mails, stream)
    assert lock(api, raw).status == 200
    before = len(sent_messages())

    asked = api.post("/v1/password-resets", {"email": demo[ANNA]["email"]})
    unknown = api.post("/v1/password-resets", {"email": "nobody@example.com"})

    assert (asked.status, asked.body) == (202, {"status": "accepted"})
    assert asked.raw.body == unknown.raw.body
    assert len(sent_messages()) == before


def test_a_link_staff_send_after_the_lock_unlocks_once_confirmed(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    _, raw = hijack(api, demo, mails, stream)
    assert lock(api, raw).status == 200
    petra = api.sign_in_as(demo[OWNER])
    deliveries = f"/v1/accounts/{ANNA}/password-reset/deliveries"
    assert api.get(deliveries, token=petra).body["account_status"] == "locked"

    sent = api.post(f"/v1/accounts/{ANNA}/password-reset", token=petra)  # staff may send to a locked account
    fresh = token_from(sent_messages()[-1])
    assert api.post("/v1/password-resets/verify", {"token": fresh}).status == 200
    done = api.post(
        "/v1/password-resets/confirm",
        {"token": fresh, "password": "Wiedergefunden am Neckarufer 2026", "code": sent.body["unlock_code"]},
    )

    assert done.status == 200, done.body
    assert api.get("/v1/sessions/current", token=done.body["session"]["token"]).status == 200
    assert sign_in(api, demo[ANNA]["email"], "Wiedergefunden am Neckarufer 2026").status == 201
    assert sign_in(api, demo[ANNA]["email"], ATTACKERS_PASSWORD).status == 401
    assert api.get(deliveries, token=petra).body["account_status"] == "active"
    assert api.signed("GET", f"/v1/admin/accounts/{ANNA}").body["account"]["status"] == "active"
    unlocking = events_of("password_changed")[-1]
    assert unlocking["detail"]["M"]["unlocked"]["BOOL"] is True


def test_the_crm_sees_locked_and_its_routine_put_of_active_changes_nothing(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    _, raw = hijack(api, demo, mails, stream)
    assert lock(api, raw).status == 200
    body = {
        "firm_id": "firm-berger",
        "role": "client",
        "email": demo[ANNA]["email"],
        "name": "Anna Schmidt",
        "locale": "de",
        "status": "active",
    }
    assert api.signed("GET", f"/v1/admin/accounts/{ANNA}").body["account"]["status"] == "locked"

    synced = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", body)

    assert synced.status == 200, synced.body
    assert synced.body["account"]["status"] == "locked"
    assert synced.body["revoked"] == {"links": 0, "sessions": 0}
    assert sign_in(api, demo[ANNA]["email"], ATTACKERS_PASSWORD).status == 403
    # Archiving wins over the lock, in every view.
    archived = api.signed("PUT", f"/v1/admin/accounts/{ANNA}", {**body, "status": "archived"})
    assert archived.body["account"]["status"] == "archived"
    petra = api.sign_in_as(demo[OWNER])
    view = api.get(f"/v1/accounts/{ANNA}/password-reset/deliveries", token=petra)
    assert view.body["account_status"] == "archived"


def test_an_archived_account_cannot_be_locked_and_its_lock_links_stay_dead(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    _, raw = hijack(api, demo, mails, stream)
    body = {"firm_id": "firm-berger", "role": "client", "email": demo[ANNA]["email"], "name": "Anna Schmidt"}
    assert api.signed("PUT", f"/v1/admin/accounts/{ANNA}", {**body, "status": "archived"}).status == 200

    before = recorded()
    archived = lock(api, raw)
    assert (archived.status, archived.error_code) == (409, "account_archived")
    assert_nothing_recorded_since(before)

    assert api.signed("PUT", f"/v1/admin/accounts/{ANNA}", {**body, "status": "active"}).status == 200
    before = recorded()
    revived = lock(api, raw)
    assert (revived.status, revived.error_code) == (404, "token_invalid")
    assert_nothing_recorded_since(before)
    assert events_of("account_locked") == []


def test_erasure_deletes_the_accounts_lock_links(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    _, raw = hijack(api, demo, mails, stream)
    _, other = hijack(api, demo, mails, stream, client=JAMES)

    assert api.signed("DELETE", f"/v1/admin/accounts/{ANNA}").status == 204

    assert [i["account_id"]["S"] for i in items("LOCK_TOKENS_TABLE")] == [JAMES]
    before = recorded()
    gone = lock(api, raw)
    assert (gone.status, gone.error_code) == (404, "token_invalid")
    assert_nothing_recorded_since(before)
    assert lock(api, other).status == 200
    # The audit event keeps which change was disowned, not whose device locked it.
    [james_lock] = events_of("account_locked")
    assert james_lock["account_id"]["S"] == JAMES


# --------------------------------------------------------------------------- who is told


def test_every_owner_and_the_holder_are_mailed_once_about_the_lock(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    add_second_owner()
    _, raw = hijack(api, demo, mails, stream)
    assert lock(api, raw).status == 200

    stream()
    stream()  # redelivered: nothing twice

    [petra] = mails.to(demo[OWNER]["email"], "account_locked_owner")
    [markus] = mails.to(SECOND_OWNER_EMAIL, "account_locked_owner")
    [anna] = mails.to(demo[ANNA]["email"], "account_locked_holder")
    assert len(mails.mails("account_locked_owner")) == 2 and len(mails.mails("account_locked_holder")) == 1
    assert (
        subject_of(petra) == "Konto gesperrt: Anna Schmidt – Mandantenportal Steuerkanzlei Berger & Partner"
    )
    assert subject_of(markus) == "Account locked: Anna Schmidt – Steuerkanzlei Berger & Partner client portal"
    for mail in (petra, markus):
        for part in (text_of(mail), html_of(mail)):
            assert HOLDER_IP in part and ATTACKER_IP in part  # the lock and the change it disowned
            assert "iOS 17.6.1" in part and "Mobile Safari 17.6" in part  # the lock's device
            assert "Windows 10" in part and "Chrome 131.0.0.0" in part  # the change's device
            assert "anna.schmidt@example.com" in part
    assert "Your client Anna Schmidt" in text_of(markus)
    assert "(Asia/Tokyo)" in text_of(markus)
    assert "Passwort zurücksetzen" in text_of(petra)  # how to send the link that unlocks
    assert subject_of(anna).startswith("Ihr Konto ist gesperrt")
    assert "bitten Sie um einen neuen Link" in text_of(anna)
    assert "#lock=" not in text_of(anna) and "#token=" not in text_of(anna)
    assert tags(anna)["event_id"] == events_of("account_locked")[0]["event_id"]["S"]
