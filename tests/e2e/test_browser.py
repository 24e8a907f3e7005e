"""A person in a real browser (Debian's Chromium, driven by playwright): the reset link from the
dev mailbox, a rejected password with its rule messages in the client's language, a good one, and
the portal signed in; and the "It wasn't me" lock link of a password-changed mail. Screenshots land
in test-output/browser/."""

from __future__ import annotations

from typing import Any

import pytest

from support.browser import BROWSER_OUTPUT, type_secret
from support.local_stack import Stack, firm_of_two, link_in, mail_ids, sign_in, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

OUTPUT = BROWSER_OUTPUT
OWNER = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
ANNA = "anna.schmidt@example.com"


def test_client_resets_in_the_browser_and_lands_signed_in(stack: Stack, browser: Any) -> None:
    before = mail_ids(stack)
    owner = sign_in(stack, *OWNER)
    sent = stack.post(
        "/v1/accounts/acc-berger-client-anna/password-reset", headers={"Authorization": f"Bearer {owner}"}
    )
    assert sent.status == 202, sent.body
    link = wait_for_mail(stack, ANNA, before)["links"][0]

    context = browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.goto(link)
    page.locator("#state-valid").wait_for(state="visible")
    # The token left the address bar at once; the page speaks Anna's language (German).
    assert "#token=" not in page.url
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("#email-hint").inner_text() == "a***@example.com"

    weak = "Anna Schmidt 2026!"
    type_secret(page, "#new-password", weak)
    type_secret(page, "#repeat-password", weak)
    assert page.locator('#rules li[data-rule="too_short"]').get_attribute("data-ok") == "true"
    page.click("#submit")
    violations = page.locator("#violations li")
    violations.first.wait_for(state="visible")
    rules = {violations.nth(i).get_attribute("data-rule") for i in range(violations.count())}
    assert "contains_name" in rules
    assert "Namen" in page.locator("#violations").inner_text()  # the server's German message
    page.screenshot(path=str(OUTPUT / "reset-page-rejected.png"), full_page=True)

    good = "Kirschblüten über dem Neckar 2026"
    type_secret(page, "#new-password", good)
    type_secret(page, "#repeat-password", good)
    assert page.locator("#match").get_attribute("data-match") == "true"
    with page.expect_navigation(url="**/_dev/portal**"):
        page.click("#submit")
    page.get_by_text("Anna Schmidt").first.wait_for(state="visible")
    page.screenshot(path=str(OUTPUT / "portal-signed-in.png"), full_page=True)

    # The portal knows her from the cookie the confirm set; the new password signs in.
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["__Host-portal_session"]["httpOnly"] and cookies["__Host-portal_session"]["secure"]
    assert stack.post("/v1/sessions", {"email": ANNA, "password": good}).status == 201
    context.close()
    assert (OUTPUT / "reset-page-rejected.png").stat().st_size > 10_000


def test_an_invited_client_sets_a_first_password_on_the_welcome_page(stack: Stack, browser: Any) -> None:
    before = mail_ids(stack)
    body = {
        "firm_id": "firm-hartmann",
        "role": "client",
        "email": "welcome.browser@example.com",
        "name": "Wendy Welcome",
        "locale": "en",
        "send_invitation": True,
    }
    assert stack.signed("PUT", "/v1/admin/accounts/acc-browser-welcome", body).status == 201
    mail = wait_for_mail(stack, "welcome.browser@example.com", before)
    assert mail["subject"] == "Welcome to the Hartmann Tax Advisors client portal: set your password"
    link = next(link for link in mail["links"] if "#token=" in link)

    context = browser.new_context(locale="de-DE", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.goto(link)
    page.locator("#state-valid").wait_for(state="visible")
    # Wendy reads English (her account's language), with the welcome words, not the reset's.
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#valid-heading").inner_text() == "Welcome to the client portal"
    assert page.locator("#submit").inner_text() == "Set password"
    page.screenshot(path=str(OUTPUT / "welcome-page.png"), full_page=True)

    password = "Wendelstein im Morgennebel 12"
    type_secret(page, "#new-password", password)
    type_secret(page, "#repeat-password", password)
    with page.expect_navigation(url="**/_dev/portal**"):
        page.click("#submit")
    page.get_by_text("Wendy Welcome").first.wait_for(state="visible")
    assert (
        stack.post("/v1/sessions", {"email": "welcome.browser@example.com", "password": password}).status
        == 201
    )
    context.close()


def test_the_holder_locks_from_the_mail_and_sign_in_is_refused(stack: Stack, browser: Any) -> None:
    """ "It wasn't me": someone else set the client's password; the client opens the lock link of
    the password-changed mail, reads what locking does, locks, and the portal refuses sign-in."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    firm = firm_of_two(stack, "lockbrowser")
    owner = sign_in(stack, firm.owner_email, firm.owner_password)
    before = mail_ids(stack)
    sent = stack.post(
        f"/v1/accounts/{firm.client_id}/password-reset", headers={"Authorization": f"Bearer {owner}"}
    )
    assert sent.status == 202, sent.body
    token = link_in(wait_for_mail(stack, firm.client_email, before)).split("#token=", 1)[1]
    attackers = "Kopfsteinpflaster im Regen 4711"
    assert stack.post("/v1/password-resets/confirm", {"token": token, "password": attackers}).status == 200
    changed = wait_for_mail(stack, firm.client_email, before, timeout=20, subject="password was changed")
    lock_link = link_in(changed, "lock")

    context = browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.goto(lock_link)
    page.locator("#state-lock").wait_for(state="visible")
    # The token left the address bar at once; opening the page locked nothing (a scanner may open it).
    assert "#lock=" not in page.url
    assert "signs out everyone" in page.locator("#state-lock").inner_text()
    assert stack.post("/v1/sessions", {"email": firm.client_email, "password": attackers}).status == 201
    page.screenshot(path=str(OUTPUT / "lock-question.png"), full_page=True)

    page.click("#lock-submit")
    page.locator("#state-locked").wait_for(state="visible")
    assert "ask your firm for a new link" in page.locator("#state-locked").inner_text()
    page.screenshot(path=str(OUTPUT / "lock-done.png"), full_page=True)

    # The same link again: used. A broken one: not valid, in the lock's words. (From a blank page:
    # a new fragment on the same page would not load it again.)
    page.goto("about:blank")
    page.goto(lock_link)
    page.click("#lock-submit")
    page.locator("#state-lock-used").wait_for(state="visible")
    page.goto("about:blank")
    page.goto(lock_link.split("#", 1)[0] + "#lock=")
    page.locator("#state-lock-invalid").wait_for(state="visible")

    # The portal: the right password is refused, with the reason.
    page.goto(f"{stack.base_url}/_dev/portal")
    page.locator("#view-sign-in").wait_for(state="visible")
    page.fill("#sign-in-email", firm.client_email)
    type_secret(page, "#sign-in-password", attackers)
    page.click("#sign-in-submit")
    error = page.locator("#sign-in-error")
    error.wait_for(state="visible")
    assert "locked" in error.inner_text()
    page.screenshot(path=str(OUTPUT / "lock-sign-in-refused.png"), full_page=True)
    context.close()
