"""Rate limits as callers meet them: staff floods get 429 with Retry-After, self-service floods
still get 202 but no mail, sign-in guessing stops."""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

import boto3
import pytest

from pwreset.credentials.ratelimit import RateLimiter, Rule, parse_rules
from support.api import Api, Result
from support.demo_accounts import ANNA
from support.environment import TEMPLATE
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import sent_messages, token_from

# The limits a deployment gets unless it says otherwise.
RULES = parse_rules(TEMPLATE.parameter("RateLimits"))
SCANNER = "203.0.113.7"
NEIGHBOUR = "203.0.113.8"
NEW_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> float:
    """The limiter's clock stands still 450 s into an hour, inside one 900 s and one 3600 s
    window alike: the windows are fixed, and hits straddling a boundary would be counted apart."""
    still = time.time() // 3600 * 3600 + 450
    monkeypatch.setattr(RateLimiter, "_now", lambda self: still)
    return still


def test_a_flood_of_staff_sends_is_held_at_five_per_hour_and_the_counter_expires(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, clock: float
) -> None:
    token = api.sign_in_as(demo["acc-berger-owner"])
    sent = [api.post(f"/v1/accounts/{ANNA}/password-reset", token=token) for _ in range(5)]
    before = recorded()
    refused = [api.post(f"/v1/accounts/{ANNA}/password-reset", token=token) for _ in range(45)]

    assert [r.status for r in sent] == [202] * 5
    assert {r.status for r in refused} == {429}
    assert_nothing_recorded_since(before)
    limited = refused[0]
    assert limited.error_code == "rate_limited"
    assert 1 <= int(limited.header("Retry-After") or 0) <= 3600
    assert len(sent_messages()) == 5
    # Another client of the firm is not affected.
    assert api.post("/v1/accounts/acc-berger-client-james/password-reset", token=token).status == 202

    # An hour later the window has passed.
    later = clock + 3600
    monkeypatch.setattr(RateLimiter, "_now", lambda self: later)
    assert api.post(f"/v1/accounts/{ANNA}/password-reset", token=token).status == 202


def test_self_service_over_its_limit_still_answers_202_and_sends_nothing(
    api: Api, demo: dict[str, Any]
) -> None:
    served = [api.post("/v1/password-resets", {"email": demo[ANNA]["email"]}) for _ in range(3)]
    before = recorded()
    held = [api.post("/v1/password-resets", {"email": demo[ANNA]["email"]}) for _ in range(2)]

    assert {r.status for r in served + held} == {202}
    assert len({r.raw.body for r in served + held}) == 1
    assert len(sent_messages()) == 3
    assert_nothing_recorded_since(before)  # held back before they were queued


def test_self_service_per_ip_limit(api: Api, demo: dict[str, Any]) -> None:
    for i in range(20):
        api.post("/v1/password-resets", {"email": f"nobody{i}@example.com"}, source_ip="192.0.2.9")
    before = recorded()
    api.post("/v1/password-resets", {"email": demo[ANNA]["email"]}, source_ip="192.0.2.9")
    assert sent_messages() == []
    assert_nothing_recorded_since(before)  # held back before it was queued
    api.post("/v1/password-resets", {"email": demo[ANNA]["email"]}, source_ip="192.0.2.10")
    assert len(sent_messages()) == 1


def test_sign_in_failures_from_one_address_stop_that_address_for_the_window(
    api: Api, demo: dict[str, Any]
) -> None:
    anna = demo[ANNA]
    before = recorded()
    for _ in range(10):
        assert api.post("/v1/sessions", {"email": anna["email"], "password": "wrong-password!"}).status == 401

    result = api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]})
    assert result.status == 429
    assert result.error_code == "rate_limited"
    assert int(result.header("Retry-After") or 0) >= 1
    assert_nothing_recorded_since(before)
    # Someone else signs in fine, from the same address too.
    james = demo["acc-berger-client-james"]
    assert api.post("/v1/sessions", {"email": james["email"], "password": james["password"]}).status == 201


def test_successful_sign_ins_do_not_count(api: Api, demo: dict[str, Any]) -> None:
    anna = demo[ANNA]
    for _ in range(15):
        assert api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]}).status == 201


# --------------------------------------------------------------------------- the token routes


def retry_after(rule: Rule, now: float) -> int:
    """What Retry-After says when the clock stands at ``now``: the seconds left in the window."""
    return int(rule.window_seconds - now % rule.window_seconds)


def link_for_anna(api: Api, demo: dict[str, Any]) -> str:
    owner = api.sign_in_as(demo["acc-berger-owner"])
    assert api.post(f"/v1/accounts/{ANNA}/password-reset", token=owner).status == 202
    return token_from(sent_messages()[-1])


def guesses_up_to_the_limit(api: Api, route: str, rule: Rule, addresses: list[str]) -> list[int]:
    """A scanner trying made-up tokens, each from the next address in ``addresses``."""
    body = {"password": NEW_PASSWORD}
    return [
        api.post(route, {**body, "token": secrets.token_urlsafe(32)}, source_ip=addresses[i]).status
        for i in range(rule.limit)
    ]


def events(kind: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=os.environ["EVENTS_TABLE"])["Items"]
    return [item for item in items if item["type"]["S"] == kind]


def assert_limited(result: Result, rule: Rule, clock: float) -> None:
    assert (result.status, result.error_code) == (429, "rate_limited"), result.body
    assert result.header("Retry-After") == str(retry_after(rule, clock))


def test_confirms_from_one_network_stop_at_its_limit_and_the_refused_one_changes_nothing(
    api: Api, demo: dict[str, Any], clock: float
) -> None:
    from pwreset.storage.models import Session

    rule = RULES["confirm_ip"]
    raw = link_for_anna(api, demo)
    mails = len(sent_messages())
    before = recorded()

    assert (
        guesses_up_to_the_limit(api, "/v1/password-resets/confirm", rule, [SCANNER] * rule.limit)
        == [404] * rule.limit
    )
    refused = api.post(
        "/v1/password-resets/confirm", {"token": raw, "password": NEW_PASSWORD}, source_ip=SCANNER
    )

    assert_limited(refused, rule, clock)
    assert_nothing_recorded_since(before)
    # The refused confirm consumed nothing and changed nothing: the link still verifies, the old
    # password still signs in, no session was opened, nobody was told of a change.
    assert api.post("/v1/password-resets/verify", {"token": raw}, source_ip=NEIGHBOUR).status == 200
    assert [s for s in Session.scan() if s.account_id == ANNA] == []
    assert events("password_changed") == []
    assert len(sent_messages()) == mails
    anna = demo[ANNA]
    assert api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]}).status == 201
    # Another network is served: the link works there.
    done = api.post(
        "/v1/password-resets/confirm", {"token": raw, "password": NEW_PASSWORD}, source_ip=NEIGHBOUR
    )
    assert done.status == 200, done.body


def test_verifies_from_one_network_stop_at_its_limit_and_another_network_is_served(
    api: Api, demo: dict[str, Any], clock: float
) -> None:
    rule = RULES["verify_ip"]
    raw = link_for_anna(api, demo)
    before = recorded()

    assert (
        guesses_up_to_the_limit(api, "/v1/password-resets/verify", rule, [SCANNER] * rule.limit)
        == [404] * rule.limit
    )
    refused = api.post("/v1/password-resets/verify", {"token": raw}, source_ip=SCANNER)

    assert_limited(refused, rule, clock)
    assert_nothing_recorded_since(before)
    verified = api.post("/v1/password-resets/verify", {"token": raw}, source_ip=NEIGHBOUR)
    assert (verified.status, verified.body["purpose"]) == (200, "reset")


@pytest.mark.parametrize(("route", "rule_name"), [("verify", "verify_ip"), ("confirm", "confirm_ip")])
def test_an_ipv6_network_is_one_client_on_the_token_routes(
    api: Api, demo: dict[str, Any], clock: float, route: str, rule_name: str
) -> None:
    """A /64 is one subscriber's: hopping addresses inside it must not buy a scanner more tries."""
    rule = RULES[rule_name]
    raw = link_for_anna(api, demo)
    hopping = [f"2001:db8:1:2::{i + 1:x}" for i in range(rule.limit + 1)]

    path = f"/v1/password-resets/{route}"
    before = recorded()
    assert guesses_up_to_the_limit(api, path, rule, hopping) == [404] * rule.limit
    refused = api.post(path, {"token": raw, "password": NEW_PASSWORD}, source_ip=hopping[-1])

    assert_limited(refused, rule, clock)
    assert_nothing_recorded_since(before)
    served = api.post(path, {"token": raw, "password": NEW_PASSWORD}, source_ip="2001:db8:1:3::1")
    assert served.status == 200, served.body
