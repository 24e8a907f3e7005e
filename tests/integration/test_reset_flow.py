"""The core flows through the template-driven gateway, handlers and authorizer under moto."""

from __future__ import annotations

import email.utils
import hashlib
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import boto3
import pytest

from support.accounts import login_of, set_login
from support.api import Api, Result
from support.demo_accounts import ANNA, JAMES, MEMBER, OWNER
from support.environment import TEMPLATE
from support.races import Overlap, all_at_once
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import message_body, sent_messages, token_from
from support.spies import ApiCallSpy

ARCHIVED = "acc-berger-client-archived"
OTHER_FIRM_MEMBER = "acc-hartmann-member"
GOOD_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"


def send_link(api: Api, demo: dict[str, Any], staff: str, client: str) -> Any:
    return api.post(f"/v1/accounts/{client}/password-reset", token=api.sign_in_as(demo[staff]))


def all_items(table_env: str) -> list[dict[str, Any]]:
    import os

    return boto3.client("dynamodb").scan(TableName=os.environ[table_env])["Items"]


# --------------------------------------------------------------------------- staff-sent links


@pytest.mark.parametrize("staff", [OWNER, MEMBER])
def test_owner_and_member_send_a_link_to_their_firms_client(
    api: Api, demo: dict[str, Any], staff: str
) -> None:
    result = send_link(api, demo, staff, ANNA)

    assert result.status == 202, result.body
    assert result.body["sent_to"] == "a***@example.com"
    expires = datetime.fromisoformat(result.body["expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=24)
    [mail] = sent_messages()
    assert mail.destinations["ToAddresses"] == ["anna.schmidt@example.com"]
    # From the firm (tests/integration/test_white_label.py), at the configured sender address.
    assert email.utils.parseaddr(mail.source)[1] == "no-reply@portal.example.com"
    assert demo[staff]["name"] in message_body(mail)


def send_refused(api: Api, account_id: str, token: str | None) -> Result:
    """A staff send of a link that the service refuses: no mail goes out and nothing is recorded."""
    before = recorded()
    result = api.post(f"/v1/accounts/{account_id}/password-reset", token=token)
    assert sent_messages() == []
    assert_nothing_recorded_since(before)
    return result


def test_member_of_another_firm_gets_404_and_nothing_is_sent(api: Api, demo: dict[str, Any]) -> None:
    stranger = api.sign_in_as(demo[OTHER_FIRM_MEMBER])
    result = send_refused(api, ANNA, stranger)

    assert result.status == 404
    assert result.error_code == "account_not_found"


def test_unknown_account_is_the_same_404(api: Api, demo: dict[str, Any]) -> None:
    owner = api.sign_in_as(demo[OWNER])
    result = send_refused(api, "acc-does-not-exist", owner)
    assert (result.status, result.error_code) == (404, "account_not_found")


def test_a_client_caller_gets_403(api: Api, demo: dict[str, Any]) -> None:
    client = api.sign_in_as(demo[JAMES])
    result = send_refused(api, ANNA, client)

    assert result.status == 403
    assert result.error_code == "forbidden"
    assert result.body["error"]["message"] == "You are not allowed to do this."


def test_no_session_gets_401_in_the_contract_shape(api: Api, demo: dict[str, Any]) -> None:
    for token in (None, "x" * 43, "not-a-token"):
        result = send_refused(api, ANNA, token)
        assert result.status == 401
        assert result.error_code == "unauthorized"


def test_archived_client_gets_409_and_no_mail(api: Api, demo: dict[str, Any]) -> None:
    owner = api.sign_in_as(demo[OWNER])
    result = send_refused(api, ARCHIVED, owner)

    assert result.status == 409
    assert result.error_code == "account_archived"
    assert result.body["error"]["message"].startswith("Dieses Konto ist archiviert")  # owner reads German


def test_the_session_cookie_works_like_the_bearer_header(api: Api, demo: dict[str, Any]) -> None:
    token = api.sign_in_as(demo[OWNER])
    # From script, as the portal sends it: a JSON body (see test_cross_site_requests.py for why).
    result = api.post(
        f"/v1/accounts/{ANNA}/password-reset",
        {},
        headers={"Cookie": f"theme=dark; __Host-portal_session={token}"},
    )
    assert result.status == 202


# --------------------------------------------------------------------------- the mail and the link


@pytest.mark.parametrize(
    ("client", "subject_word", "expiry_word"), [(ANNA, "Passwort", "Uhr"), (JAMES, "password", "pm")]
)
def test_mail_in_the_clients_language_carries_a_link_that_works(
    api: Api, demo: dict[str, Any], client: str, subject_word: str, expiry_word: str
) -> None:
    assert send_link(api, demo, OWNER, client).status == 202
    [mail] = sent_messages()
    body = message_body(mail)

    assert subject_word in mail.subject
    assert "Steuerkanzlei Berger &amp; Partner" in body
    assert "https://portal.example.com/reset#token=" in body
    raw = token_from(mail)
    verified = api.post("/v1/password-resets/verify", {"token": raw})
    assert verified.status == 200, verified.body
    assert verified.body["locale"] == demo[client]["locale"]
    assert (
        verified.body["email_hint"] == demo[client]["email"][0] + "***@" + demo[client]["email"].split("@")[1]
    )
    assert verified.body["policy"]["min_length"] == 15

    # Only the digest is stored: the raw token appears nowhere in the table.
    [item] = all_items("RESET_TOKENS_TABLE")
    assert item["token_hash"]["S"] == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(item)
    assert item["ses_message_id"]["S"] == mail.id


def test_text_part_is_sent_too_and_in_both_languages(
    monkeypatch: pytest.MonkeyPatch, api: Api, demo: dict[str, Any]
) -> None:
    """moto keeps only the HTML part, so look at what the service hands to SES."""
    spy = ApiCallSpy(monkeypatch)
    send_link(api, demo, OWNER, ANNA)
    send_link(api, demo, OWNER, JAMES)

    captured = [call.params for call in spy.of("SendEmail")]
    de, en = (c["Content"]["Simple"] for c in captured)
    assert "neues Passwort festzulegen" in de["Body"]["Text"]["Data"]
    assert "Reset password" in en["Body"]["Html"]["Data"]
    for part in (de, en):
        assert "#token=" in part["Body"]["Text"]["Data"]
    assert captured[0]["ConfigurationSetName"] == "password-reset-dev"
    tags = {t["Name"]: t["Value"] for t in captured[0]["EmailTags"]}
    [first, _] = sorted(all_items("RESET_TOKENS_TABLE"), key=lambda i: i["requested_at"]["S"])
    assert tags["reset_id"] == first["reset_id"]["S"]


def test_reset_requested_event_is_written_with_the_token(api: Api, demo: dict[str, Any]) -> None:
    send_link(api, demo, MEMBER, ANNA)
    [event] = [e for e in all_items("EVENTS_TABLE") if e["type"]["S"] == "reset_requested"]
    assert event["account_id"]["S"] == ANNA
    assert event["detail"]["M"]["requested_by"]["S"] == MEMBER


# --------------------------------------------------------------------------- confirm


def test_policy_violations_are_reported_one_per_rule_in_the_clients_language(
    api: Api, demo: dict[str, Any]
) -> None:
    send_link(api, demo, OWNER, ANNA)
    raw = token_from(sent_messages()[-1])
    before = recorded()

    cases = {
        "passwort": {"too_short", "common_password"},
        "iloveyou": {"too_short", "common_password"},
        "Schmidt im Sommerwind 2026": {"contains_name"},
        "AnnaSchmidt!2026x": {"contains_email", "contains_name"},
        "Berger und Partner seit 1999": {"contains_firm_name"},
        "anna.schmidt is my secret phrase": {"contains_email", "contains_name"},
        "aaaaaaaaaaaaaaa": {"pattern"},
        "123456789012345": {"pattern"},
        "passwordpassword": {"pattern"},
        "qwertzuiopasdfgh": {"pattern"},
    }
    for password, rules in cases.items():
        result = api.post("/v1/password-resets/confirm", {"token": raw, "password": password})
        assert result.status == 422, password
        assert result.error_code == "password_rejected"
        violations = result.body["error"]["violations"]
        assert {v["rule"] for v in violations} == rules, password
        assert len(violations) == len(rules)
        assert all(v["message"] for v in violations)
    short = api.post("/v1/password-resets/confirm", {"token": raw, "password": "kurz"})
    assert "mindestens 15 Zeichen" in short.body["error"]["violations"][0]["message"]
    repeated = api.post("/v1/password-resets/confirm", {"token": raw, "password": "Sommer Sommer Sommer"})
    [pattern] = repeated.body["error"]["violations"]
    assert pattern["rule"] == "pattern" and "fortlaufenden Zeichen" in pattern["message"]
    # A rejected password consumes nothing.
    assert_nothing_recorded_since(before)
    assert api.post("/v1/password-resets/verify", {"token": raw}).status == 200


def test_good_password_signs_in_and_rotates_credentials(api: Api, demo: dict[str, Any]) -> None:
    anna = demo[ANNA]
    old_session = api.sign_in(anna["email"], anna["password"])
    send_link(api, demo, OWNER, ANNA)
    raw = token_from(sent_messages()[-1])

    result = api.post("/v1/password-resets/confirm", {"token": raw, "password": GOOD_PASSWORD})

    assert result.status == 200, result.body
    # Anna's firm's portal (the demo data's, on the configured site): white-label.
    assert result.body["redirect_url"] == "https://portal.example.com/_dev/portal?firm=firm-berger"
    new_session = result.body["session"]["token"]
    cookie = result.raw.header_values("Set-Cookie")
    assert any(c.startswith(f"__Host-portal_session={new_session}") for c in cookie)
    assert all(flag in cookie[0] for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"))
    current = api.get("/v1/sessions/current", token=new_session)
    assert current.status == 200
    assert current.body["account"]["account_id"] == ANNA
    # Every older session is gone, the old password fails, the new one works.
    before = recorded()
    assert api.get("/v1/sessions/current", token=old_session).status == 401
    bad = api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]})
    assert (bad.status, bad.error_code) == (401, "invalid_credentials")
    assert_nothing_recorded_since(before)
    assert api.sign_in(anna["email"], GOOD_PASSWORD)
    # One password-changed event, written with the change.
    changed = [e for e in all_items("EVENTS_TABLE") if e["type"]["S"] == "password_changed"]
    assert len(changed) == 1
    assert changed[0]["detail"]["M"]["source_ip"]["S"] == "198.51.100.20"


def test_reusing_a_token_is_410_token_used(api: Api, demo: dict[str, Any]) -> None:
    send_link(api, demo, OWNER, ANNA)
    raw = token_from(sent_messages()[-1])
    assert api.post("/v1/password-resets/confirm", {"token": raw, "password": GOOD_PASSWORD}).status == 200
    before = recorded()

    again = api.post("/v1/password-resets/confirm", {"token": raw, "password": GOOD_PASSWORD + "!"})
    assert (again.status, again.error_code) == (410, "token_used")
    assert api.post("/v1/password-resets/verify", {"token": raw}).error_code == "token_used"
    assert_nothing_recorded_since(before)


def test_expired_token_still_in_the_table_is_410_token_expired(api: Api, demo: dict[str, Any]) -> None:
    from pwreset.storage.models import ResetToken

    send_link(api, demo, OWNER, ANNA)
    raw = token_from(sent_messages()[-1])
    [record] = list(ResetToken.scan())
    record.update(actions=[ResetToken.expires_at.set(datetime.now(UTC) - timedelta(seconds=1))])
    before = recorded()

    for route in ("verify", "confirm"):
        result = api.post(f"/v1/password-resets/{route}", {"token": raw, "password": GOOD_PASSWORD})
        assert (result.status, result.error_code) == (410, "token_expired")
        assert "abgelaufen" in result.body["error"]["message"]  # Anna reads German
    assert_nothing_recorded_since(before)


def test_a_second_token_issued_before_the_change_dies_with_it(api: Api, demo: dict[str, Any]) -> None:
    send_link(api, demo, OWNER, ANNA)
    api.post("/v1/password-resets", {"email": demo[ANNA]["email"]})
    first, second = (token_from(m) for m in sent_messages())

    assert api.post("/v1/password-resets/confirm", {"token": second, "password": GOOD_PASSWORD}).status == 200
    before = recorded()
    result = api.post("/v1/password-resets/confirm", {"token": first, "password": GOOD_PASSWORD + "?"})
    assert (result.status, result.error_code) == (410, "token_used")
    assert_nothing_recorded_since(before)


def test_a_link_for_an_account_archived_since_is_409(api: Api, demo: dict[str, Any]) -> None:
    from pwreset.storage.models import Account

    send_link(api, demo, OWNER, ANNA)
    raw = token_from(sent_messages()[-1])
    Account.get(ANNA).update(actions=[Account.status.set("archived")])
    before = recorded()
    result = api.post("/v1/password-resets/confirm", {"token": raw, "password": GOOD_PASSWORD})
    assert (result.status, result.error_code) == (409, "account_archived")
    assert_nothing_recorded_since(before)


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        ("", 400, "invalid_request"),  # no token at all: the request is malformed
        ("A" * 43, 404, "token_invalid"),  # well-formed, unknown
        ("short", 404, "token_invalid"),  # any other string is simply no token we issued
        ("A" * 42 + "!", 404, "token_invalid"),
        ("ä" * 43, 404, "token_invalid"),
    ],
)
@pytest.mark.parametrize("route", ["verify", "confirm"])
def test_unknown_or_malformed_tokens_are_the_contracts_error_and_change_nothing(
    api: Api, demo: dict[str, Any], route: str, token: str, status: int, code: str
) -> None:
    before = recorded()
    result = api.post(f"/v1/password-resets/{route}", {"token": token, "password": GOOD_PASSWORD})
    assert (result.status, result.error_code) == (status, code)
    assert_nothing_recorded_since(before)


def test_twenty_concurrent_confirms_of_one_token_exactly_one_wins(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwreset.credentials import resets
    from pwreset.storage.models import Session

    send_link(api, demo, OWNER, ANNA)
    raw = token_from(sent_messages()[-1])
    confirms = Overlap()
    confirms.install(monkeypatch, resets, "confirm_reset")

    statuses = all_at_once(
        20,
        lambda i: (
            api.post("/v1/password-resets/confirm", {"token": raw, "password": f"{GOOD_PASSWORD} {i}"}).status
        ),
    )

    assert confirms.peak >= 2, "the confirms never ran at the same time: nothing raced"
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 410}
    assert login_of(demo[ANNA]["email"]).password_version == 1  # the login's: bumped once
    assert len([s for s in Session.scan() if s.account_id == ANNA]) == 1
    changed = [e for e in all_items("EVENTS_TABLE") if e["type"]["S"] == "password_changed"]
    assert len(changed) == 1


# --------------------------------------------------------------------------- self-service


def test_self_service_answers_byte_identical_for_known_unknown_and_archived(
    api: Api, demo: dict[str, Any]
) -> None:
    # Within the per-address limit (three for Anna): no firm, her firm (with the address as typed,
    # normalised), a firm where she has no account, a firm that does not exist.
    asked = [
        {"email": demo[ANNA]["email"]},
        {"email": "nobody@example.com"},
        {"email": demo[ARCHIVED]["email"]},
        {"email": "  ANNA.Schmidt@Example.COM ", "firm_id": "firm-berger"},
        {"email": demo[ANNA]["email"], "firm_id": "firm-hartmann"},
        {"email": "nobody@example.com", "firm_id": "firm-nowhere"},
        {"email": demo[ARCHIVED]["email"], "firm_id": "firm-berger"},
    ]
    responses = [api.post("/v1/password-resets", body) for body in asked]
    assert {r.status for r in responses} == {202}
    assert len({r.raw.body for r in responses}) == 1
    assert responses[0].body == {"status": "accepted"}
    # Every header but API Gateway's per-request id is the same.
    header_sets = {
        tuple(sorted((k.lower(), v) for k, v in r.raw.headers if k.lower() != "x-amzn-requestid"))
        for r in responses
    }
    assert len(header_sets) == 1
    # Only the active account got mail: without a firm and for her own firm; nothing for a firm where
    # she has no account.
    assert [m.destinations["ToAddresses"] for m in sent_messages()] == [[demo[ANNA]["email"]]] * 2


def test_self_service_link_lives_one_hour(api: Api, demo: dict[str, Any]) -> None:
    from pwreset.storage.models import ResetToken

    api.post("/v1/password-resets", {"email": demo[JAMES]["email"]})
    [record] = list(ResetToken.scan())
    assert record.requested_by is None
    assert timedelta(minutes=59) < record.expires_at - datetime.now(UTC) <= timedelta(hours=1)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"email": 5}',
        b'{"email": "not-an-address"}',
        b"{}",
        b'{"email": "a@example.com", "locale": "fr"}',
    ],
)
def test_self_service_rejects_bad_input_with_400(api: Api, demo: dict[str, Any], body: bytes) -> None:
    before = recorded()
    result = api.request(
        "POST", "/v1/password-resets", raw_body=body, headers={"Content-Type": "application/json"}
    )
    assert result.status == 400
    assert result.error_code == "invalid_request"
    assert result.body["error"]["message"]
    assert_nothing_recorded_since(before)


def test_errors_follow_accept_language_when_no_account_is_known(api: Api, demo: dict[str, Any]) -> None:
    result = api.request(
        "POST", "/v1/password-resets", raw_body=b"{", headers={"Accept-Language": "de-AT,de;q=0.9"}
    )
    assert result.body["error"]["message"].startswith("Die Anfrage ist ungültig")


# --------------------------------------------------------------------------- sessions


def test_sign_in_errors_are_identical_for_unknown_wrong_and_archived(api: Api, demo: dict[str, Any]) -> None:
    attempts = [
        {"email": "nobody@example.com", "password": "whatever-password"},
        {"email": demo[ANNA]["email"], "password": "wrong-password-123"},
        {"email": demo[ARCHIVED]["email"], "password": demo[ARCHIVED]["password"]},
        # The right password, but a firm where the login has no account, or no such firm.
        {"email": demo[ANNA]["email"], "password": demo[ANNA]["password"], "firm_id": "firm-hartmann"},
        {"email": demo[ANNA]["email"], "password": demo[ANNA]["password"], "firm_id": "firm-nowhere"},
    ]
    bodies = {api.post("/v1/sessions", a).raw.body for a in attempts}
    assert len(bodies) == 1
    assert b"invalid_credentials" in bodies.pop()


def test_sign_in_current_and_sign_out(api: Api, demo: dict[str, Any]) -> None:
    anna = demo[ANNA]
    result = api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]})
    assert result.status == 201
    assert result.body["account"] == {
        "account_id": ANNA,
        "firm_id": "firm-berger",
        "role": "client",
        "name": "Anna Schmidt",
        "email": "anna.schmidt@example.com",
        "locale": "de",
    }
    token = result.body["session"]["token"]
    assert api.get("/v1/sessions/current", token=token).status == 200
    out = api.delete("/v1/sessions/current", token=token)
    assert out.status == 204
    assert any(c.startswith("__Host-portal_session=;") for c in out.raw.header_values("Set-Cookie"))
    assert api.get("/v1/sessions/current", token=token).status == 401


def test_expired_session_is_rejected(api: Api, demo: dict[str, Any]) -> None:
    from pwreset.storage.models import Session

    token = api.sign_in_as(demo[OWNER])
    [session] = list(Session.scan())
    session.update(actions=[Session.expires_at.set(datetime.now(UTC) - timedelta(seconds=1))])
    assert api.get("/v1/sessions/current", token=token).status == 401


def open_session(api: Api, demo: dict[str, Any], how: str) -> Result:
    anna = demo[ANNA]
    if how == "sign-in":
        return api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]})
    send_link(api, demo, OWNER, ANNA)
    return api.post(
        "/v1/password-resets/confirm", {"token": token_from(sent_messages()[-1]), "password": GOOD_PASSWORD}
    )


@pytest.mark.parametrize("how", ["sign-in", "reset"])
def test_a_session_lasts_the_templates_lifetime_and_not_a_second_longer(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Sessions end on time in code (the table's TTL only cleans up), and the browser is told
    the same lifetime in the cookie."""
    from pwreset.credentials import changes, sessions

    lifetime = int(TEMPLATE.parameter("SessionLifetimeSeconds"))
    opened = datetime.now(UTC).replace(microsecond=0)

    def clock_at(at: datetime) -> None:
        monkeypatch.setattr(sessions, "_now", lambda: at)
        monkeypatch.setattr(changes, "_now", lambda: at)

    clock_at(opened)
    result = open_session(api, demo, how)
    assert result.status in (200, 201), result.body
    token = result.body["session"]["token"]
    ends = opened + timedelta(seconds=lifetime)
    assert datetime.fromisoformat(result.body["session"]["expires_at"]) == ends
    [set_cookie] = result.raw.header_values("Set-Cookie")
    cookie = SimpleCookie()
    cookie.load(set_cookie)
    assert cookie["__Host-portal_session"].value == token
    assert cookie["__Host-portal_session"]["max-age"] == str(lifetime)
    if cookie["__Host-portal_session"]["expires"]:  # optional; Max-Age wins where both are sent
        expires = datetime.strptime(cookie["__Host-portal_session"]["expires"], "%a, %d %b %Y %H:%M:%S GMT")
        assert expires.replace(tzinfo=UTC) == ends

    clock_at(ends - timedelta(seconds=1))
    assert api.get("/v1/sessions/current", token=token).status == 200
    assert api.get("/v1/sessions/current", headers={"Cookie": f"__Host-portal_session={token}"}).status == 200

    clock_at(ends)
    before = recorded()
    for expired in (
        api.get("/v1/sessions/current", token=token),
        api.get("/v1/sessions/current", headers={"Cookie": f"__Host-portal_session={token}"}),
    ):
        assert (expired.status, expired.error_code) == (401, "unauthorized")
    assert_nothing_recorded_since(before)


def test_sign_in_upgrades_a_hash_made_with_weaker_parameters(api: Api, demo: dict[str, Any]) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(demo[ANNA]["password"])
    set_login(demo[ANNA]["email"], password_hash=weak)

    api.sign_in_as(demo[ANNA])

    upgraded = login_of(demo[ANNA]["email"]).password_hash or ""
    assert upgraded != weak
    assert "m=19456,t=2,p=1" in upgraded
    assert api.sign_in_as(demo[ANNA])


def test_unknown_route_is_the_gateways_403_in_the_contract_shape(api: Api, demo: dict[str, Any]) -> None:
    before = recorded()
    result = api.get("/v1/nothing-here")
    assert (result.status, result.error_code) == (403, "forbidden")
    assert_nothing_recorded_since(before)
    assert "No such resource" in result.body["error"]["message"]


@pytest.mark.parametrize(
    "forged",
    [
        {"Host": "evil.example"},
        {"X-Forwarded-Host": "evil.example"},
        {
            "Host": "evil.example",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "http",
            "Forwarded": "host=evil.example;proto=http",
            "X-Original-Host": "evil.example",
        },
    ],
)
def test_links_never_come_from_host_headers(api: Api, demo: dict[str, Any], forged: dict[str, str]) -> None:
    token = api.sign_in_as(demo[OWNER])
    assert api.post(f"/v1/accounts/{ANNA}/password-reset", token=token, headers=forged).status == 202
    assert api.post("/v1/password-resets", {"email": demo[JAMES]["email"]}, headers=forged).status == 202
    for mail in sent_messages():
        body = message_body(mail)
        assert "evil.example" not in body
        assert "https://portal.example.com/reset#token=" in body
