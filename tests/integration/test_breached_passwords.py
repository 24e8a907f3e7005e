"""Passwords seen in known breaches are refused (rule ``breached``) on every route that sets one,
through the k-anonymity range API, here the local fake (``devstack.pwned``) on its own port: only a
5-character prefix of the SHA-1 leaves the service, padding is asked for, and an API that is slow,
failing or unreachable never costs the person their new password."""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from typing import Any

import pytest

from support.api import Api
from support.breached import (
    RANGE_PATH,
    MetricsSpy,
    breached_example,
    fake_range_api,
    leaked_in,
    prefix_of,
    range_check_at,
)
from support.demo_accounts import ANNA, JAMES
from support.leaks import Secrets
from support.sent_mail import sent_messages, token_from

OWNERS = {"firm-berger": "acc-berger-owner", "firm-hartmann": "acc-hartmann-owner"}
NEWBIE = "acc-berger-client-newbie"
CONFIRM = "/v1/password-resets/confirm"
CHANGE = "/v1/sessions/current/password"
# Good by every rule, and in no breach the fake knows.
FRESH_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
MESSAGES = {
    "de": "Dieses Passwort ist bereits in einem Datenleck aufgetaucht",
    "en": "This password has appeared in a data breach",
}


def reset_link(api: Api, demo: dict[str, Any], account_id: str) -> str:
    """A raw reset token for the account, sent by an owner of its firm."""
    owner = demo[OWNERS[demo[account_id]["firm_id"]]]
    staff = api.sign_in(owner["email"], owner["password"])
    assert api.post(f"/v1/accounts/{account_id}/password-reset", token=staff).status == 202
    return token_from(sent_messages()[-1])


def assert_refused_as_breached(result: Any, locale: str) -> None:
    assert (result.status, result.error_code) == (422, "password_rejected"), result.body
    [violation] = result.body["error"]["violations"]
    assert violation["rule"] == "breached"
    assert violation["message"].startswith(MESSAGES[locale]), violation


@pytest.mark.parametrize(("account", "locale"), [(ANNA, "de"), (JAMES, "en")])
def test_a_reset_to_a_breached_password_is_refused_in_the_accounts_language(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, account: str, locale: str
) -> None:
    link = reset_link(api, demo, account)
    with fake_range_api(monkeypatch) as fake:
        refused = api.post(CONFIRM, {"token": link, "password": breached_example()})
        assert_refused_as_breached(refused, locale)
        # Nothing was used up or changed: the link still sets a password, the old one still works.
        old = {"email": demo[account]["email"], "password": demo[account]["password"]}
        assert api.post("/v1/sessions", old).status == 201
        confirmed = api.post(CONFIRM, {"token": link, "password": FRESH_PASSWORD})
        assert confirmed.status == 200, confirmed.body
    assert len(fake.requests()) == 2  # one lookup per new password the local rules accepted


def test_only_the_prefix_leaves_the_service_and_padding_is_asked_for(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    link = reset_link(api, demo, JAMES)
    with fake_range_api(monkeypatch) as fake:
        api.post(CONFIRM, {"token": link, "password": breached_example()})
        api.post(CONFIRM, {"token": link, "password": FRESH_PASSWORD})

    requests = fake.requests()
    assert [r.path for r in requests] == [
        f"/range/{prefix_of(breached_example())}",
        f"/range/{prefix_of(FRESH_PASSWORD)}",
    ]
    for request, password in zip(requests, (breached_example(), FRESH_PASSWORD), strict=True):
        assert RANGE_PATH.fullmatch(request.path), request.path
        assert leaked_in(request, password) == [], request
        assert request.headers.get("Add-Padding") == "true", request.headers


def test_a_change_while_signed_in_to_a_breached_password_is_refused(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.sign_in(demo[ANNA]["email"], demo[ANNA]["password"])
    with fake_range_api(monkeypatch) as fake:
        refused = api.post(
            CHANGE,
            {"current_password": demo[ANNA]["password"], "new_password": breached_example()},
            token=session,
        )
        assert_refused_as_breached(refused, "de")
        # The session still stands and the password is unchanged: the next try goes through.
        changed = api.post(
            CHANGE,
            {"current_password": demo[ANNA]["password"], "new_password": FRESH_PASSWORD},
            token=session,
        )
        assert changed.status == 200, changed.body
    assert [r.path for r in fake.requests()] == [
        f"/range/{prefix_of(breached_example())}",
        f"/range/{prefix_of(FRESH_PASSWORD)}",
    ]


def test_an_invitation_cannot_set_a_breached_first_password(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"firm_id": "firm-berger", "role": "client", "email": "nora.neu@example.com", "name": "Nora Neu"}
    assert api.signed("PUT", f"/v1/admin/accounts/{NEWBIE}", body).status == 201
    member = demo["acc-berger-member"]
    staff = api.sign_in(member["email"], member["password"])
    assert api.post(f"/v1/accounts/{NEWBIE}/invitation", token=staff).status == 202
    link = token_from(sent_messages()[-1])
    with fake_range_api(monkeypatch):
        assert_refused_as_breached(api.post(CONFIRM, {"token": link, "password": breached_example()}), "de")


def test_a_password_the_local_rules_refuse_is_never_looked_up(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    link = reset_link(api, demo, JAMES)
    with fake_range_api(monkeypatch) as fake:
        too_short = api.post(CONFIRM, {"token": link, "password": "Short-1"})
        # 17 characters from the shipped list (a Russian word typed on a QWERTY keyboard, and digits)
        common = api.post(CONFIRM, {"token": link, "password": "yfdbufnjh10305070"})
    assert [v["rule"] for v in too_short.body["error"]["violations"]] == ["too_short"]
    assert [v["rule"] for v in common.body["error"]["violations"]] == ["common_password"]
    assert fake.requests() == []


def test_an_empty_url_turns_the_check_off_and_makes_no_request(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    link = reset_link(api, demo, JAMES)
    with fake_range_api(monkeypatch) as fake, range_check_at(monkeypatch, ""):
        confirmed = api.post(CONFIRM, {"token": link, "password": breached_example()})
    assert confirmed.status == 200, confirmed.body
    assert fake.requests() == []


def test_the_connection_is_kept_for_the_next_new_password(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One pooled connection per execution environment: a second check pays no new handshake."""
    session = api.sign_in(demo[ANNA]["email"], demo[ANNA]["password"])
    with fake_range_api(monkeypatch) as fake:
        for _ in range(2):
            api.post(
                CHANGE,
                {"current_password": demo[ANNA]["password"], "new_password": breached_example()},
                token=session,
            )
    first, second = fake.requests()
    assert first.client_port == second.client_port


# ------------------------------------------------------------------ failing open


def skipped_checks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("breached-password check skipped")]


def confirm_while_failing(
    api: Api,
    demo: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    **knobs: Any,
) -> tuple[Any, float, MetricsSpy, logging.LogRecord]:
    """A confirm with the breached example while the fake fails as ``knobs`` say: (the answer,
    seconds it took, the metrics, the one skip logged)."""
    link = reset_link(api, demo, JAMES)
    spy = MetricsSpy(monkeypatch)
    with fake_range_api(monkeypatch, **knobs), caplog.at_level(logging.INFO):
        started = time.monotonic()
        result = api.post(CONFIRM, {"token": link, "password": breached_example()})
        took = time.monotonic() - started
    [skipped] = skipped_checks(caplog)
    return result, took, spy, skipped


def assert_skipped_and_counted(result: Any, spy: MetricsSpy, skipped: logging.LogRecord, reason: str) -> None:
    assert result.status == 200, result.body  # judged by the other rules alone, which it passes
    assert "BreachedCheckSkipped" in spy.names and "PasswordBreached" not in spy.names
    assert spy.metadata["breached_check_skipped"] == reason
    assert skipped.__dict__["reason"] == reason
    assert skipped.__dict__["duration_ms"] >= 0


def test_a_range_api_slower_than_a_second_is_skipped_after_one_second(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    result, took, spy, skipped = confirm_while_failing(api, demo, monkeypatch, caplog, delay=3.0)
    assert_skipped_and_counted(result, spy, skipped, "timeout")
    # The whole confirm waited about the check's second, not the fake's three.
    assert 1.0 <= took < 1.9, took
    assert 950 <= skipped.__dict__["duration_ms"] < 1300


def test_an_answer_that_trickles_in_is_given_up_after_one_second(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Headers at once, then 1 kB every 0.3 s: no single read waits long, the whole would take
    several seconds, and the check still ends at its second."""
    result, took, spy, skipped = confirm_while_failing(api, demo, monkeypatch, caplog, trickle=0.3)
    assert_skipped_and_counted(result, spy, skipped, "timeout")
    assert 1.0 <= took < 1.9, took


@pytest.mark.parametrize(
    ("knobs", "reason"),
    [
        ({"status": 500}, "bad_status"),
        ({"status": 429}, "bad_status"),
        ({"body": b"<html>Service Unavailable</html>"}, "malformed_answer"),
        ({"body": b""}, "malformed_answer"),
        ({"body": b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:3\r\nnot a line"}, "malformed_answer"),
    ],
)
def test_a_failing_range_api_is_skipped_and_counted(
    api: Api,
    demo: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    knobs: dict[str, Any],
    reason: str,
) -> None:
    result, _, spy, skipped = confirm_while_failing(api, demo, monkeypatch, caplog, **knobs)
    assert_skipped_and_counted(result, spy, skipped, reason)


def test_an_unreachable_range_api_is_skipped_and_counted(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:  # a port nobody listens on: the connection is refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    link = reset_link(api, demo, JAMES)
    spy = MetricsSpy(monkeypatch)
    with range_check_at(monkeypatch, url), caplog.at_level(logging.INFO):
        result = api.post(CONFIRM, {"token": link, "password": breached_example()})
    [skipped] = skipped_checks(caplog)
    assert_skipped_and_counted(result, spy, skipped, "unreachable")


def test_a_skipped_check_logs_the_reason_and_nothing_of_the_password(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The password's hash and its suffix are checked in every captured line by the autouse fixture
    below; the prefix (what the API is sent) in the log line's own words here."""
    _, _, _, skipped = confirm_while_failing(api, demo, monkeypatch, caplog, status=503)
    standard = logging.LogRecord("", 0, "", 0, "", (), None).__dict__
    extras = {key: value for key, value in skipped.__dict__.items() if key not in standard}
    assert set(extras) >= {"reason", "duration_ms"}
    said = " ".join([skipped.getMessage(), *map(str, extras.values())])
    assert prefix_of(breached_example()) not in said.upper()


@pytest.fixture(autouse=True)
def hashes_are_secrets(secrets_of_this_test: Secrets) -> None:
    """Besides the passwords themselves (the API client remembers them), no captured output of
    these tests may hold their SHA-1 or its suffix (tests/integration/conftest.py checks)."""
    for password in (breached_example(), FRESH_PASSWORD):
        digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest()
        for secret in (digest, digest.upper(), digest[5:], digest[5:].upper()):
            secrets_of_this_test.add(secret)
