"""Changing the password while signed in: ``POST /v1/sessions/current/password``."""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
import pytest

from support.accounts import password_hash, set_login
from support.api import Api
from support.demo_accounts import ANNA, OWNER
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import sent_messages, token_from
from support.spies import ApiCallSpy

NEW_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
ROUTE = "/v1/sessions/current/password"


def anna(api: Api, demo: dict[str, Any]) -> str:
    return api.sign_in(demo[ANNA]["email"], demo[ANNA]["password"])


def password_changed_events() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=os.environ["EVENTS_TABLE"], ConsistentRead=True)["Items"]
    return [i for i in items if i["type"]["S"] == "password_changed"]


def test_a_change_replaces_this_session_and_ends_every_other_session_and_link(
    api: Api, demo: dict[str, Any]
) -> None:
    owner = api.sign_in(demo[OWNER]["email"], demo[OWNER]["password"])
    assert api.post(f"/v1/accounts/{ANNA}/password-reset", token=owner).status == 202
    open_link = token_from(sent_messages()[-1])
    this, other = anna(api, demo), anna(api, demo)

    changed = api.post(
        ROUTE, {"current_password": demo[ANNA]["password"], "new_password": NEW_PASSWORD}, token=this
    )

    assert changed.status == 200, changed.body
    replacement = changed.body["session"]["token"]
    assert replacement not in (this, other)
    cookie = changed.header("Set-Cookie") or ""
    assert (
        cookie.startswith(f"__Host-portal_session={replacement};")
        and "HttpOnly" in cookie
        and "Secure" in cookie
    )
    assert api.get("/v1/sessions/current", token=replacement).status == 200
    for ended in (this, other):
        assert api.get("/v1/sessions/current", token=ended).status == 401
    used = api.post("/v1/password-resets/verify", {"token": open_link})
    assert (used.status, used.error_code) == (410, "token_used")
    old = api.post("/v1/sessions", {"email": demo[ANNA]["email"], "password": demo[ANNA]["password"]})
    assert old.status == 401
    assert api.post("/v1/sessions", {"email": demo[ANNA]["email"], "password": NEW_PASSWORD}).status == 201
    [event] = password_changed_events()
    assert event["detail"]["M"]["change"]["S"] == "portal"
    assert event["account_id"]["S"] == ANNA


def test_a_change_reads_the_account_its_login_and_its_firm_in_one_call(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every key comes with the session: the account, its login (the password is the login's) and
    its firm (the policy refuses the firm's name) in one BatchGetItem, and one transaction writes
    the change (bench/flows.py counts the sign-in counters between them)."""
    session = anna(api, demo)
    spy = ApiCallSpy(monkeypatch)
    changed = api.post(
        ROUTE, {"current_password": demo[ANNA]["password"], "new_password": NEW_PASSWORD}, token=session
    )
    assert changed.status == 200, changed.body
    made = [call for call in spy.calls if call.function == "SessionsFunction"]
    assert made[0].name == "dynamodb.BatchGetItem"
    read = set(made[0].params["RequestItems"])
    assert read == {os.environ["ACCOUNTS_TABLE"], os.environ["LOGINS_TABLE"], os.environ["FIRMS_TABLE"]}
    assert [call.name for call in made if call.name != "dynamodb.UpdateItem"] == [
        "dynamodb.BatchGetItem",
        "dynamodb.TransactWriteItems",
    ]


def test_a_wrong_current_password_is_401_and_changes_nothing(api: Api, demo: dict[str, Any]) -> None:
    session = anna(api, demo)
    before = recorded()
    wrong = api.post(
        ROUTE, {"current_password": "not my password at all", "new_password": NEW_PASSWORD}, token=session
    )

    assert (wrong.status, wrong.error_code) == (401, "invalid_credentials")
    assert_nothing_recorded_since(before)
    assert api.get("/v1/sessions/current", token=session).status == 200
    assert (
        api.post("/v1/sessions", {"email": demo[ANNA]["email"], "password": demo[ANNA]["password"]}).status
        == 201
    )
    assert password_changed_events() == []


def test_wrong_current_passwords_count_like_failed_sign_ins(api: Api, demo: dict[str, Any]) -> None:
    session = anna(api, demo)
    before = recorded()
    statuses = [
        api.post(
            ROUTE, {"current_password": f"guess number {i}", "new_password": NEW_PASSWORD}, token=session
        ).status
        for i in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    # The attempts count against the limit (counters are not compared), but left no other trace.
    assert_nothing_recorded_since(before)
    limited = api.post(
        ROUTE, {"current_password": demo[ANNA]["password"], "new_password": NEW_PASSWORD}, token=session
    )
    assert limited.status == 429 and int(limited.header("Retry-After") or 0) > 0
    assert_nothing_recorded_since(before)


def test_a_new_password_the_policy_rejects_is_422_with_every_rule(api: Api, demo: dict[str, Any]) -> None:
    session = anna(api, demo)
    before = recorded()
    rejected = api.post(
        ROUTE, {"current_password": demo[ANNA]["password"], "new_password": "anna"}, token=session
    )

    assert (rejected.status, rejected.error_code) == (422, "password_rejected")
    assert_nothing_recorded_since(before)
    assert {v["rule"] for v in rejected.body["error"]["violations"]} >= {"too_short", "contains_name"}
    repeated = api.post(
        ROUTE, {"current_password": demo[ANNA]["password"], "new_password": "123456789012345"}, token=session
    )
    assert (repeated.status, [v["rule"] for v in repeated.body["error"]["violations"]]) == (422, ["pattern"])
    assert_nothing_recorded_since(before)
    assert api.get("/v1/sessions/current", token=session).status == 200
    assert password_changed_events() == []


def test_a_password_set_under_an_older_shorter_minimum_still_signs_in_and_the_next_change_needs_15(
    api: Api, demo: dict[str, Any]
) -> None:
    """NIST SP 800-63B-4 asks 15 characters of a password that is the only factor (#24.10). A
    sign-in compares with the stored hash and never applies the policy, so nobody is locked out
    by the raise; the next change (while signed in, or by a link) must meet it."""
    old_password = "Zq7#vL2!pW9x"  # 12 characters: what the minimum allowed before
    set_login(demo[ANNA]["email"], password_hash=password_hash(old_password))

    session = api.sign_in(demo[ANNA]["email"], old_password)
    before = recorded()
    for fourteen in ("Hq4&nT8?cX2mLw", "Birkenwald 2026"[:14]):
        refused = api.post(ROUTE, {"current_password": old_password, "new_password": fourteen}, token=session)
        assert (refused.status, refused.error_code) == (422, "password_rejected"), fourteen
        assert [v["rule"] for v in refused.body["error"]["violations"]] == ["too_short"]
        assert "15" in refused.body["error"]["violations"][0]["message"]
    assert_nothing_recorded_since(before)

    owner = api.sign_in(demo[OWNER]["email"], demo[OWNER]["password"])
    assert api.post(f"/v1/accounts/{ANNA}/password-reset", token=owner).status == 202
    link = token_from(sent_messages()[-1])
    short = api.post("/v1/password-resets/confirm", {"token": link, "password": "Hq4&nT8?cX2mLw"})
    assert (short.status, short.error_code) == (422, "password_rejected")

    changed = api.post(ROUTE, {"current_password": old_password, "new_password": NEW_PASSWORD}, token=session)
    assert changed.status == 200, changed.body
    assert api.post("/v1/sessions", {"email": demo[ANNA]["email"], "password": NEW_PASSWORD}).status == 201


def test_without_a_session_it_is_401(api: Api, demo: dict[str, Any]) -> None:
    before = recorded()
    result = api.post(ROUTE, {"current_password": demo[ANNA]["password"], "new_password": NEW_PASSWORD})
    assert (result.status, result.error_code) == (401, "unauthorized")
    assert_nothing_recorded_since(before)


def test_a_body_that_is_not_the_contracts_is_400(api: Api, demo: dict[str, Any]) -> None:
    session = anna(api, demo)
    bodies: list[Any] = [
        {"new_password": NEW_PASSWORD},
        {"current_password": 5, "new_password": NEW_PASSWORD},
        [],
    ]
    for body in bodies:
        before = recorded()
        result = api.post(ROUTE, body, token=session)
        assert (result.status, result.error_code) == (400, "invalid_request"), body
        assert_nothing_recorded_since(before)


# --------------------------------------------------------------------------- how often (#24.3)

SOPHIE_EMAIL = "sophie.wagner@example.net"  # a client of both demo firms, one login
PASSWORDS = [f"Wanderweg am Bodensee Nummer {n}" for n in range(1, 6)]


def test_a_fourth_change_of_a_login_within_the_hour_is_429_across_its_firms_and_changes_nothing(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each change mails every owner of every firm of the login, so a signed-in client looping the
    route flooded them: at most 3 changes made per login an hour, counted across all its
    accounts; a refused one (a rejected new password) does not count."""
    from pwreset.credentials.ratelimit import RateLimiter

    still = time.time() // 3600 * 3600 + 100
    monkeypatch.setattr(RateLimiter, "_now", lambda self: still)
    current = demo["acc-berger-client-sophie"]["password"]
    firms = ["firm-berger", "firm-hartmann", "firm-berger", "firm-hartmann"]

    def signed_in(firm_id: str) -> str:
        answer = api.post("/v1/sessions", {"email": SOPHIE_EMAIL, "password": current, "firm_id": firm_id})
        assert answer.status == 201, answer.body
        return str(answer.body["session"]["token"])

    def change(firm_id: str, new: str, session: str | None = None) -> Any:
        body = {"current_password": current, "new_password": new}
        return api.post(ROUTE, body, token=session or signed_in(firm_id))

    assert change("firm-hartmann", "sophie").status == 422  # refused: not counted
    for firm_id, new in zip(firms[:3], PASSWORDS, strict=False):
        assert change(firm_id, new).status == 200
        current = new
    session = signed_in(firms[3])
    before = recorded()
    fourth = change(firms[3], PASSWORDS[3], session)
    assert (fourth.status, fourth.error_code) == (429, "rate_limited")
    assert 0 < int(fourth.header("Retry-After") or 0) <= 3600 - 100
    assert_nothing_recorded_since(before)
    assert len(password_changed_events()) == 3

    # The next hour's window admits changes again.
    still += 3600
    assert change(firms[3], PASSWORDS[3]).status == 200
