"""Breached passwords against the running local stack: ``make dev`` points the check at its own
range API (``/_dev/pwned/``, over a corpus made at start), and ``local/demo_data.json`` →
``breached_password_example`` is refused as ``breached``, over HTTP and on the hosted page in the
account's language. What left the service is read from the fake's access log."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from support.breached import RANGE_PATH, breached_example, prefix_of
from support.browser import BROWSER_OUTPUT, type_secret
from support.local_stack import Stack, firm_of_two, link_in, mail_ids, sign_in, wait_for_mail

pytestmark = pytest.mark.e2e


def reset_link(stack: Stack, name: str, locale: str) -> str:
    """A reset link for the client of a firm of its own, sent by the firm's owner."""
    firm = firm_of_two(stack, name, client_locale=locale)
    owner = sign_in(stack, firm.owner_email, firm.owner_password)
    before = mail_ids(stack)
    sent = stack.post(
        f"/v1/accounts/{firm.client_id}/password-reset", headers={"Authorization": f"Bearer {owner}"}
    )
    assert sent.status == 202, sent.body
    return link_in(wait_for_mail(stack, firm.client_email, before))


def range_requests(stack: Stack) -> list[dict[str, Any]]:
    answer = stack.get("/_dev/pwned/requests.json")
    assert answer.status == 200
    return list(answer.json()["requests"])


def test_the_demo_breached_password_is_refused_and_only_its_prefix_was_sent(stack: Stack) -> None:
    token = reset_link(stack, "pwnedhttp", "de").split("#token=", 1)[1]
    seen_before = len(range_requests(stack))

    refused = stack.post("/v1/password-resets/confirm", {"token": token, "password": breached_example()})

    assert refused.status == 422, refused.body
    error = refused.json()["error"]
    assert error["code"] == "password_rejected"
    [violation] = error["violations"]
    assert violation["rule"] == "breached"
    assert violation["message"].startswith("Dieses Passwort ist bereits in einem Datenleck aufgetaucht")

    [request] = range_requests(stack)[seen_before:]
    assert (
        RANGE_PATH.fullmatch(request["path"]) and request["path"] == f"/range/{prefix_of(breached_example())}"
    )
    assert request["headers"].get("Add-Padding") == "true"
    digest = hashlib.sha1(breached_example().encode(), usedforsecurity=False).hexdigest().upper()
    sent = " ".join([request["path"], *(f"{k}: {v}" for k, v in request["headers"].items())]).upper()
    for secret in (breached_example().upper(), digest, digest[5:]):
        assert secret not in sent

    # Nothing was used up: the same link still sets a password that was in no breach.
    done = stack.post(
        "/v1/password-resets/confirm", {"token": token, "password": "Ahornblatt im Herbstwind 42"}
    )
    assert done.status == 200, done.body


@pytest.mark.browser
@pytest.mark.parametrize(
    ("locale", "message", "hint"),
    [
        (
            "de",
            "Dieses Passwort ist bereits in einem Datenleck aufgetaucht",
            "Wenn Sie dieses Passwort auch für andere Konten verwenden, ändern Sie es auch dort",
        ),
        (
            "en",
            "This password has appeared in a data breach",
            "If you use this password for any other account, change it there too",
        ),
    ],
)
def test_the_reset_page_says_why_and_what_to_do_in_the_accounts_language(
    stack: Stack, browser: Any, locale: str, message: str, hint: str
) -> None:
    link = reset_link(stack, f"pwnedpage{locale}", locale)
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.goto(link)
    page.locator("#state-valid").wait_for(state="visible")
    assert page.locator("html").get_attribute("lang") == locale

    type_secret(page, "#new-password", breached_example())
    type_secret(page, "#repeat-password", breached_example())
    page.click("#submit")
    violation = page.locator('#violations li[data-rule="breached"]')
    violation.wait_for(state="visible")
    assert violation.inner_text().startswith(message)
    assert page.locator("#breached-hint").is_visible()
    assert page.locator("#breached-hint").inner_text().startswith(hint)
    page.screenshot(path=str(BROWSER_OUTPUT / f"reset-page-breached-{locale}.png"), full_page=True)

    # Another rule broken next time: the breach advice goes with the breach message.
    type_secret(page, "#new-password", "short")
    type_secret(page, "#repeat-password", "short")
    page.click("#submit")
    page.locator("#form-error").wait_for(state="visible")
    assert not page.locator("#breached-hint").is_visible()
    context.close()
