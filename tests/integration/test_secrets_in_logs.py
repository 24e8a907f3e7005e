"""The check that no secret reaches a log (``support.leaks``; run after every integration test by
``tests/integration/conftest.py`` and after the e2e suite by ``tests/e2e/conftest.py``) finds a
secret where a real leak would put it: in a traceback."""

from __future__ import annotations

from typing import Any

import pytest

from support.api import Api
from support.demo_accounts import ANNA
from support.leaks import Secrets, captured_so_far, leaks_in


def test_an_unexpected_error_is_logged_with_its_trace_and_without_the_requests_secrets(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """An exception that quotes its input (an f-string, pydantic's ``input_value=...``) reaches the
    resolver's last handler: before, its message went into the log as it was."""
    from pwreset.credentials import sessions

    def failing_sign_in(email: str, password: str, **_: Any) -> None:
        raise RuntimeError(f"could not check {password!r} for {email}")

    monkeypatch.setattr(sessions, "sign_in", failing_sign_in)
    email, password = demo[ANNA]["email"], "Quoted-In-An-Exception-0042"
    captured_so_far(request)

    answer = api.post("/v1/sessions", {"email": email, "password": password})

    assert (answer.status, answer.error_code) == (500, "internal_error")
    logged = captured_so_far(request)
    assert "Traceback (most recent call last)" in logged and "RuntimeError: could not check" in logged
    assert "'[redacted]' for a***@example.com" in logged
    assert password not in logged and email not in logged


@pytest.mark.plants_leak
def test_a_password_planted_in_a_logged_traceback_is_found(
    api: Api,
    demo: dict[str, Any],
    secrets_of_this_test: Secrets,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The planted fault: domain code that logs an exception quoting the password itself, past
    the resolver's redaction. The check every integration test runs reports it."""
    from pwreset.core import errors
    from pwreset.core.observability import logger
    from pwreset.credentials import sessions

    def leaky_sign_in(email: str, password: str, **_: Any) -> None:
        try:
            raise ValueError(f"bad password {password}")
        except ValueError:
            logger.exception("sign-in failed")
        raise errors.InvalidCredentials()

    monkeypatch.setattr(sessions, "sign_in", leaky_sign_in)
    password = "Planted-Leak-Password-0042"
    captured_so_far(request)

    answer = api.post("/v1/sessions", {"email": demo[ANNA]["email"], "password": password})

    assert (answer.status, answer.error_code) == (401, "invalid_credentials")
    logged = captured_so_far(request)
    assert "Traceback (most recent call last)" in logged
    leaks = leaks_in(logged.splitlines(), secrets_of_this_test.values, where="captured")
    assert leaks and all(leak.endswith(f"{password[:4]}...") for leak in leaks), logged[-2000:]


def test_a_plain_traceback_line_is_read_and_only_the_banner_may_show_demo_passwords() -> None:
    """The e2e logs hold plain lines too (a thread's traceback on stderr): every line is read."""
    log = [
        "",
        "Local stack ready in 1.2 s (template: template.yaml)",
        "  anna.schmidt@example.com  Mandantin-Demo-Linde-2026",
        "Ctrl-C stops everything.",
        '{"level":"INFO","message":"account provisioned","email":"a***@example.com"}',
        "Traceback (most recent call last):",
        '  File "app.py", line 3, in handler',
        "ValueError: bad input_value='Mandantin-Demo-Linde-2026'",
    ]
    secrets = {"Mandantin-Demo-Linde-2026", "anna.schmidt@example.com"}

    assert leaks_in(log, secrets, where="stderr.log") == ["stderr.log:8: Mand..."]
