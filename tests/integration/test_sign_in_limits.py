"""Sign-in limits that stop guessing without handing anyone a lock-out button (security review
#14, item 3): failures are counted per (account, client network) and per client network, hard;
per account from anywhere only as a slowdown. The count is taken atomically before the password is
checked, so guesses that arrive together are checked at most up to the limit."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pwreset.credentials.ratelimit import RateLimiter, parse_rules
from support.accounts import set_login
from support.api import Api
from support.demo_accounts import ANNA, OWNER
from support.environment import TEMPLATE
from support.races import Overlap, all_at_once
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import sent_messages, token_from

ATTACKER = "203.0.113.66"
ANNA_AT_HOME = "198.51.100.20"
# The limits a deployment gets unless it says otherwise.
RULES = parse_rules(TEMPLATE.parameter("RateLimits"))


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> float:
    """The limiter's clock stands still inside one window (the windows are fixed)."""
    still = time.time() // 3600 * 3600 + 450
    monkeypatch.setattr(RateLimiter, "_now", lambda self: still)
    return still


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification the sign-in check runs (the expensive, guessable part)."""
    from pwreset.credentials import sessions

    seen: list[str] = []
    original = sessions.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        seen.append(password)
        return original(password_hash, password)

    monkeypatch.setattr(sessions, "verify_password", counting)
    return seen


def sign_in(api: Api, email: str, password: str, ip: str) -> int:
    return api.post("/v1/sessions", {"email": email, "password": password}, source_ip=ip).status


@pytest.mark.parametrize("target", [ANNA, OWNER])
def test_failures_from_one_address_never_lock_the_rightful_user_out_elsewhere(
    api: Api, demo: dict[str, Any], target: str
) -> None:
    """Anyone who knows an address, owners' included, could keep the account locked before."""
    account = demo[target]
    before = recorded()
    statuses = [sign_in(api, account["email"], f"guess {i}", ATTACKER) for i in range(15)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    assert_nothing_recorded_since(before)  # counted against the limits (not compared), nothing else

    assert sign_in(api, account["email"], account["password"], ANNA_AT_HOME) == 201
    before = recorded()
    assert sign_in(api, account["email"], account["password"], ATTACKER) == 429
    assert_nothing_recorded_since(before)


def test_forty_parallel_wrong_guesses_check_at_most_the_limit(
    api: Api, demo: dict[str, Any], verifications: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count is taken before the check, atomically: guesses arriving together cannot all slip
    in under a limit that was read before any of them was counted."""
    from pwreset.credentials import sessions

    attempts = Overlap()
    attempts.install(monkeypatch, sessions, "sign_in")
    before = recorded()

    statuses = all_at_once(40, lambda i: sign_in(api, demo[ANNA]["email"], f"parallel guess {i}", ATTACKER))

    assert attempts.peak >= 2, "the guesses never ran at the same time: nothing raced"
    assert sorted(statuses) == [401] * 10 + [429] * 30
    assert len(verifications) == 10
    assert_nothing_recorded_since(before)


def test_an_ipv6_network_is_one_client(api: Api, demo: dict[str, Any]) -> None:
    """A /64 is one subscriber's: hopping addresses inside it does not buy more guesses."""
    email = demo[ANNA]["email"]
    before = recorded()
    statuses = [sign_in(api, email, f"guess {i}", f"2001:db8:1:2::{i + 1:x}") for i in range(12)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    assert_nothing_recorded_since(before)
    assert sign_in(api, email, demo[ANNA]["password"], "2001:db8:1:3::1") == 201


def test_many_failures_from_everywhere_slow_the_account_down_but_never_lock_it(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwreset.credentials import sessions

    slept: list[float] = []
    monkeypatch.setattr(sessions, "_slow_down", slept.append)
    email = demo[ANNA]["email"]
    before = recorded()
    for i in range(10):
        assert sign_in(api, email, "wrong", f"192.0.2.{i + 1}") == 401
    assert slept == []
    assert_nothing_recorded_since(before)

    assert sign_in(api, email, demo[ANNA]["password"], ANNA_AT_HOME) == 201
    assert slept and slept[-1] >= 1.0


def test_a_successful_sign_in_takes_its_count_back(api: Api, demo: dict[str, Any]) -> None:
    """Only failures count: a user who signs in many times from one place is never limited."""
    anna = demo[ANNA]
    before = recorded()
    for _ in range(9):
        assert sign_in(api, anna["email"], "almost", ANNA_AT_HOME) == 401
    assert_nothing_recorded_since(before)
    for _ in range(5):
        assert sign_in(api, anna["email"], anna["password"], ANNA_AT_HOME) == 201
    before = recorded()
    assert sign_in(api, anna["email"], "one more miss", ANNA_AT_HOME) == 401
    assert_nothing_recorded_since(before)


def test_failures_from_one_network_over_many_addresses_stop_that_network_and_no_other(
    api: Api, demo: dict[str, Any], clock: float, verifications: list[str]
) -> None:
    """Credential stuffing: one guess per address, so no per-account rule is ever reached; the
    network's own limit stops it. Its count is taken before the check and given back on success:
    the network's rightful sign-ins in between never use it up."""
    from pwreset.storage.models import Session

    network = RULES["sign_in_ip"]
    assert (
        RULES["sign_in_account_ip"].limit > 1 and RULES["sign_in_account"].limit > 1
    )  # one try each stays under
    james = demo["acc-berger-client-james"]
    statuses = []
    for i in range(network.limit):
        statuses.append(sign_in(api, f"stuffed.{i}@example.com", f"leaked password {i}", ATTACKER))
        if i % 10 == 0:  # someone on the same network signs in, rightly
            assert sign_in(api, james["email"], james["password"], ATTACKER) == 201
    assert statuses == [401] * network.limit
    sessions_before = {s.session_hash for s in Session.scan()}
    checked = len(verifications)
    before = recorded()

    refused = api.post(
        "/v1/sessions", {"email": james["email"], "password": james["password"]}, source_ip=ATTACKER
    )

    assert (refused.status, refused.error_code) == (429, "rate_limited"), refused.body
    assert refused.header("Retry-After") == str(int(network.window_seconds - clock % network.window_seconds))
    # Refused before the password was checked, and nothing opened.
    assert len(verifications) == checked
    assert {s.session_hash for s in Session.scan()} == sessions_before
    assert refused.header("Set-Cookie") is None
    assert_nothing_recorded_since(before)
    # Another network is served.
    assert sign_in(api, james["email"], james["password"], ANNA_AT_HOME) == 201


# --------------------------------------------------------------------------- a run of failures (#24.12)


def failures_from_everywhere(api: Api, email: str, count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``count`` wrong passwords from networks of ten guesses each (under every per-network
    limit), as a botnet would spread them; the account-wide slowdown does not wait here."""
    from pwreset.credentials import sessions

    monkeypatch.setattr(sessions, "_slow_down", lambda seconds: None)
    for i in range(count):
        assert sign_in(api, email, f"botnet guess {i}", f"192.0.{2 + i // 10}.{i % 10 + 1}") == 401


def failed_sign_ins(email: str) -> int:
    from pwreset.storage.models import LOGIN_ITEM, Login

    return Login.get(email, LOGIN_ITEM, consistent_read=True).consecutive_failures


def test_after_100_wrong_passwords_in_a_row_even_the_right_one_is_refused_until_a_reset(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-network limits alone let a botnet guess forever at one login; after
    CONSECUTIVE_FAILURE_LIMIT wrong passwords in a row its password signs nobody in, with the
    answer a wrong password gets (nothing tells the guesser that a guess was right), until a
    confirmed reset link, which self-service still sends, sets a new password."""
    from pwreset.credentials.sessions import CONSECUTIVE_FAILURE_LIMIT

    anna = demo[ANNA]
    failures_from_everywhere(api, anna["email"], CONSECUTIVE_FAILURE_LIMIT, monkeypatch)
    assert failed_sign_ins(anna["email"]) == CONSECUTIVE_FAILURE_LIMIT

    right = api.post(
        "/v1/sessions", {"email": anna["email"], "password": anna["password"]}, source_ip=ANNA_AT_HOME
    )
    wrong = api.post(
        "/v1/sessions", {"email": anna["email"], "password": "one more guess"}, source_ip=ANNA_AT_HOME
    )
    assert (right.status, right.error_code) == (401, "invalid_credentials")
    assert right.raw.body == wrong.raw.body

    # Self-service stays open: the holder asks for a link and sets a new password with it.
    assert api.post("/v1/password-resets", {"email": anna["email"]}).status == 202
    link = token_from(sent_messages()[-1])
    new_password = "Regenbogen über der Stadtmauer 88"
    assert api.post("/v1/password-resets/confirm", {"token": link, "password": new_password}).status == 200
    assert failed_sign_ins(anna["email"]) == 0
    assert sign_in(api, anna["email"], new_password, ANNA_AT_HOME) == 201


def test_a_right_password_below_the_limit_ends_the_run_of_failures(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only failures in a row count: the holder signing in between guesses starts the count anew,
    so a guesser needs all of them without the holder signing in once."""
    from pwreset.credentials.sessions import CONSECUTIVE_FAILURE_LIMIT

    anna = demo[ANNA]
    set_login(anna["email"], failed_sign_ins=CONSECUTIVE_FAILURE_LIMIT - 1)
    assert sign_in(api, anna["email"], anna["password"], ANNA_AT_HOME) == 201
    assert failed_sign_ins(anna["email"]) == 0
    failures_from_everywhere(api, anna["email"], 1, monkeypatch)
    assert sign_in(api, anna["email"], anna["password"], ANNA_AT_HOME) == 201


def test_a_login_over_the_limit_costs_the_same_calls_as_a_wrong_password_or_an_unknown_address(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run is counted on the login item after the check: one UpdateItem for every failure,
    a refused condition for an address without a login, so neither the count nor the limit shows
    in the calls: a right password over the limit makes a wrong one's calls (no refunds)."""
    from pwreset.credentials.sessions import CONSECUTIVE_FAILURE_LIMIT
    from support.spies import ApiCallSpy

    anna, james = demo[ANNA], demo["acc-berger-client-james"]
    set_login(anna["email"], failed_sign_ins=CONSECUTIVE_FAILURE_LIMIT)
    attempts = {
        "right password over the limit": (anna["email"], anna["password"]),
        "wrong password": (james["email"], "not the password"),
        "unknown address": ("nobody-here@example.com", "not the password"),
    }
    calls = {}
    for name, (email, password) in attempts.items():
        spy = ApiCallSpy(monkeypatch)
        assert sign_in(api, email, password, ANNA_AT_HOME) == 401
        calls[name] = [c.name for c in spy.calls if c.function == "SessionsFunction"]
    assert len({tuple(c) for c in calls.values()}) == 1, calls
    assert calls["unknown address"] == ["dynamodb.UpdateItem"] * 3 + ["dynamodb.Query", "dynamodb.UpdateItem"]
    assert failed_sign_ins(james["email"]) == 1
