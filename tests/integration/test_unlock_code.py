"""Whoever holds the mailbox cannot unlock (issue #24, item 2; "It wasn't me" in the contract).

A locked login's staff reset answers an ``unlock_code``; the link's verify says ``code_required``;
its confirm needs the code (``422 code_invalid``), the fifth wrong one ends the link (``410
token_revoked``), and only the right one unlocks. A CRM that moved the account to an address the
client has proven may instead send a plain link, which needs no code.

Everything runs under moto: requests go through the template-driven gateway, the lock link comes
from the holder's password-changed mail, sent by the notification function fed the events stream.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from support.api import Api, Result
from support.demo_accounts import ANNA, JAMES, OWNER
from support.sent_mail import SesSpy, sent_messages, text_of, token_from

ATTACKERS_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
HOLDERS_PASSWORD = "Wiedergefunden am Neckarufer 2026"
CONFIRM = "/v1/password-resets/confirm"
VERIFY = "/v1/password-resets/verify"
SIX_DIGITS = re.compile(r"[0-9]{6}")


def staff_reset(api: Api, demo: dict[str, Any], client: str = ANNA) -> tuple[Result, str]:
    """The owner sends ``client`` a reset: the answer and the token of the mailed link."""
    sent = api.post(f"/v1/accounts/{client}/password-reset", token=api.sign_in_as(demo[OWNER]))
    assert sent.status == 202, sent.body
    return sent, token_from(sent_messages()[-1])


@pytest.fixture
def locked(api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]) -> None:
    """Anna's login, taken over with a link from her mailbox, then locked by her "It wasn't me"."""
    _, taken = staff_reset(api, demo)
    assert api.post(CONFIRM, {"token": taken, "password": ATTACKERS_PASSWORD}).status == 200
    stream()
    [mail] = mails.to(demo[ANNA]["email"], "password_changed_holder")
    [lock_token] = set(re.findall(r"#lock=([A-Za-z0-9_-]{43})", text_of(mail)))
    assert api.post("/v1/account-locks", {"token": lock_token}).status == 200


def confirm(api: Api, raw: str, code: str | None = None, password: str = HOLDERS_PASSWORD) -> Result:
    return api.post(CONFIRM, {"token": raw, "password": password, **({"code": code} if code else {})})


def still_locked(api: Api, demo: dict[str, Any]) -> bool:
    """Sign-in with the attacker's (the login's current) password is refused as locked, and the
    CRM sees the account locked."""
    refused = api.post("/v1/sessions", {"email": demo[ANNA]["email"], "password": ATTACKERS_PASSWORD})
    status = api.signed("GET", f"/v1/admin/accounts/{ANNA}").body["account"]["status"]
    return (refused.status, refused.error_code, status) == (403, "account_locked", "locked")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def link_record(reset_id: str) -> dict[str, Any]:
    [record] = [i for i in every_item() if "token_hash" in i and i.get("reset_id", {}).get("S") == reset_id]
    return record


def every_item() -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb")
    return [
        item
        for table in dynamodb.list_tables()["TableNames"]
        for item in dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    ]


def test_a_staff_reset_to_a_locked_login_answers_an_unlock_code_and_verify_asks_for_it(
    api: Api, demo: dict[str, Any], locked: None
) -> None:
    sent, raw = staff_reset(api, demo)

    assert set(sent.body) == {"reset_id", "sent_to", "expires_at", "unlock_code"}
    assert SIX_DIGITS.fullmatch(sent.body["unlock_code"])
    verified = api.post(VERIFY, {"token": raw})
    assert verified.status == 200, verified.body
    assert (verified.body["purpose"], verified.body["code_required"]) == ("unlock", True)
    # A client who is not locked gets a plain link: no code, and verify asks for none.
    plain, plain_raw = staff_reset(api, demo, JAMES)
    assert "unlock_code" not in plain.body
    plain_verified = api.post(VERIFY, {"token": plain_raw}).body
    assert plain_verified["purpose"] == "reset" and "code_required" not in plain_verified


def test_a_confirm_without_the_code_or_with_a_wrong_one_is_422_and_unlocks_nothing(
    api: Api, demo: dict[str, Any], locked: None
) -> None:
    sent, raw = staff_reset(api, demo)
    code = sent.body["unlock_code"]

    for attempt in (confirm(api, raw), confirm(api, raw, ""), confirm(api, raw, wrong(code))):
        assert (attempt.status, attempt.error_code) == (422, "code_invalid"), attempt.body
        assert "sechs Ziffern" in attempt.body["error"]["message"]  # in Anna's language
    assert still_locked(api, demo)
    never_set = api.post("/v1/sessions", {"email": demo[ANNA]["email"], "password": HOLDERS_PASSWORD})
    assert (never_set.status, never_set.error_code) == (401, "invalid_credentials")
    # The right code with a password the policy refuses: the policy's answer, and the link and its
    # code still work.
    weak = confirm(api, raw, code, password="aaaaaaaaaaaaaaaaaa")
    assert (weak.status, weak.error_code) == (422, "password_rejected")
    assert api.post(VERIFY, {"token": raw}).status == 200


def test_the_fifth_wrong_code_ends_the_link_and_even_the_right_one_no_longer_opens_it(
    api: Api, demo: dict[str, Any], locked: None
) -> None:
    sent, raw = staff_reset(api, demo)
    code = sent.body["unlock_code"]

    confirm(api, raw)  # a missing code is no guess: it counts nothing
    answers = [confirm(api, raw, wrong(code)) for _ in range(5)]

    assert [(a.status, a.error_code) for a in answers] == [(422, "code_invalid")] * 4 + [
        (410, "token_revoked")
    ]
    assert "zu oft falsch eingegeben" in answers[-1].body["error"]["message"]
    right = confirm(api, raw, code)
    assert (right.status, right.error_code) == (410, "token_revoked")
    assert api.post(VERIFY, {"token": raw}).error_code == "token_revoked"
    assert still_locked(api, demo)
    # The firm can send a new link, with a new code.
    again, fresh = staff_reset(api, demo)
    assert confirm(api, fresh, again.body["unlock_code"]).status == 200


def test_concurrent_wrong_codes_are_counted_one_by_one(api: Api, demo: dict[str, Any], locked: None) -> None:
    sent, raw = staff_reset(api, demo)
    guess = wrong(sent.body["unlock_code"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: confirm(api, raw, guess), range(12)))

    codes = sorted((a.status, a.error_code) for a in answers)
    assert codes == [(410, "token_revoked")] * 8 + [(422, "code_invalid")] * 4
    record = link_record(sent.body["reset_id"])
    assert (record["status"]["S"], record["wrong_codes"]["N"]) == ("revoked", "5")
    assert still_locked(api, demo)


def test_the_right_code_unlocks_and_signs_in(api: Api, demo: dict[str, Any], locked: None) -> None:
    sent, raw = staff_reset(api, demo)
    code = sent.body["unlock_code"]
    assert confirm(api, raw, wrong(code)).status == 422

    done = confirm(api, raw, f"{code[:3]} {code[3:]}")  # as read over the phone, in two groups

    assert done.status == 200, done.body
    assert api.get("/v1/sessions/current", token=done.body["session"]["token"]).status == 200
    signed_in = api.post("/v1/sessions", {"email": demo[ANNA]["email"], "password": HOLDERS_PASSWORD})
    assert signed_in.status == 201
    assert api.signed("GET", f"/v1/admin/accounts/{ANNA}").body["account"]["status"] == "active"
    assert confirm(api, raw, code).error_code == "token_used"


def test_the_unlock_code_is_stored_only_as_an_hmac_keyed_with_the_token_and_never_logged(
    api: Api, demo: dict[str, Any], locked: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sent, raw = staff_reset(api, demo)
    code = sent.body["unlock_code"]
    assert confirm(api, raw, wrong(code)).status == 422
    assert confirm(api, raw, code).status == 200

    items = every_item()
    # Not as a value, nor inside one (a timestamp's microseconds, after their ".", aside).
    standalone = re.compile(rf"(?<![0-9.]){code}(?![0-9])")
    assert not [item for item in items if standalone.search(json.dumps(item))]
    record = link_record(sent.body["reset_id"])
    stored = record["unlock_code_hash"]["S"]
    token_digest = hashlib.sha256(raw.encode()).hexdigest()
    assert record["token_hash"]["S"] == token_digest
    # Keyed with the raw token (never stored): what the table holds cannot test codes offline.
    keyed = hmac.new(raw.encode(), b"pwreset unlock code v1\x00" + code.encode(), hashlib.sha256)
    assert stored == keyed.hexdigest()
    for unkeyed in (hashlib.sha256(code.encode()), hmac.new(token_digest.encode(), code.encode(), "sha256")):
        assert stored != unkeyed.hexdigest()
    assert not standalone.search(capsys.readouterr().out)


def test_a_plain_link_after_the_crm_moved_the_account_to_a_proven_address_needs_no_code(
    api: Api, demo: dict[str, Any], locked: None
) -> None:
    moved = api.signed(
        "PUT",
        f"/v1/admin/accounts/{ANNA}",
        {"firm_id": "firm-berger", "role": "client", "email": "anna.neu@example.com", "name": "Anna Schmidt"},
    )
    assert moved.status == 200, moved.body
    assert moved.body["account"]["status"] == "active"

    sent, raw = staff_reset(api, demo)

    assert "unlock_code" not in sent.body
    assert "code_required" not in api.post(VERIFY, {"token": raw}).body
    done = confirm(api, raw)
    assert done.status == 200, done.body
    signed_in = api.post("/v1/sessions", {"email": "anna.neu@example.com", "password": HOLDERS_PASSWORD})
    assert signed_in.status == 201
