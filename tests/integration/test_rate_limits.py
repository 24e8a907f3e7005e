"""Rate limits as callers meet them: staff floods get 429 with Retry-After, self-service floods
still get 202 but no mail, sign-in guessing stops."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pwreset.credentials.ratelimit import RateLimiter
from support.api import Api
from support.sent_mail import sent_messages

ANNA = "acc-berger-client-anna"


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
    results = [api.post(f"/v1/accounts/{ANNA}/password-reset", token=token) for _ in range(50)]

    assert [r.status for r in results[:5]] == [202] * 5
    assert {r.status for r in results[5:]} == {429}
    limited = results[5]
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
    results = [api.post("/v1/password-resets", {"email": demo[ANNA]["email"]}) for _ in range(5)]

    assert {r.status for r in results} == {202}
    assert len({r.raw.body for r in results}) == 1
    assert len(sent_messages()) == 3


def test_self_service_per_ip_limit(api: Api, demo: dict[str, Any]) -> None:
    for i in range(20):
        api.post("/v1/password-resets", {"email": f"nobody{i}@example.com"}, source_ip="192.0.2.9")
    api.post("/v1/password-resets", {"email": demo[ANNA]["email"]}, source_ip="192.0.2.9")
    assert sent_messages() == []
    api.post("/v1/password-resets", {"email": demo[ANNA]["email"]}, source_ip="192.0.2.10")
    assert len(sent_messages()) == 1


def test_sign_in_failures_from_one_address_stop_that_address_for_the_window(
    api: Api, demo: dict[str, Any]
) -> None:
    anna = demo[ANNA]
    for _ in range(10):
        assert api.post("/v1/sessions", {"email": anna["email"], "password": "wrong-password!"}).status == 401

    result = api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]})
    assert result.status == 429
    assert result.error_code == "rate_limited"
    assert int(result.header("Retry-After") or 0) >= 1
    # Someone else signs in fine, from the same address too.
    james = demo["acc-berger-client-james"]
    assert api.post("/v1/sessions", {"email": james["email"], "password": james["password"]}).status == 201


def test_successful_sign_ins_do_not_count(api: Api, demo: dict[str, Any]) -> None:
    anna = demo[ANNA]
    for _ in range(15):
        assert api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]}).status == 201
