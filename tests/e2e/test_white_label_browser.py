"""Firms are white-label, in a real browser (Debian's Chromium) on the local stack, measured with
axe-core (pinned: axe-playwright-python bundles it): for both demo brands (Berger dark, Hartmann
light) and a firm without brand (the neutral look), a new client's invitation, the hosted page in
its form, success and invalid states, the "access is set up" mail, a self-service reset mail and
the lock notice. Every page state and every mail has 0 violations of WCAG 2.2 A/AA; what axe
found and each mail's From and Reply-To land in test-output/browser/white-label.json, screenshots
beside it."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import parseaddr
from typing import Any

import pytest

from support.browser import BROWSER_OUTPUT, type_secret
from support.local_stack import Stack, link_in, mail_ids, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe-core's tags).
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SENDER = os.environ["SENDER_ADDRESS"]
PASSWORD = "Weinberge über dem Neckar im Herbst 24"
REPORT = BROWSER_OUTPUT / "white-label.json"
FOUND: dict[str, Any] = {"axe": {}, "mail_headers": {}}


@dataclass(frozen=True)
class Look:
    name: str
    firm_id: str
    firm_name: str
    locale: str
    sender_name: str
    reply_to: list[str]
    color: str | None  # the header's and the button's background
    text_on_color: str | None
    logo: str | None  # the path of the logo on the local stack


LOOKS = [
    Look(
        "berger",
        "firm-berger",
        "Steuerkanzlei Berger & Partner",
        "de",
        "Kanzlei Berger – Mandantenservice",
        ["mandanten@berger-steuer.example"],
        "#0f4c3a",
        "#ffffff",
        "/_dev/brand/berger.png",
    ),
    Look(
        "hartmann",
        "firm-hartmann",
        "Hartmann Tax Advisors",
        "en",
        "Hartmann Tax Advisors Client Service",
        ["clients@hartmann-tax.example"],
        "#f2c14e",
        "#000000",
        "/_dev/brand/hartmann.png",
    ),
    Look(
        "neutral", "firm-axe-neutral", "Kanzlei Ohne Marke", "en", "Kanzlei Ohne Marke", [], None, None, None
    ),
]


def rgb(color: str) -> str:
    """``#rrggbb`` as the browser's computed style writes it."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def axe(page: Any, what: str) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 A/AA violations of what ``page`` shows now (recorded for the report)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
    violations = results.response["violations"]
    FOUND["axe"][what] = {
        "violations": len(violations),
        "rules": sorted(v["id"] for v in violations),
        "passes_checked": results.response.get("testEngine", {}).get("version"),
    }
    REPORT.write_text(json.dumps(FOUND, indent=2, ensure_ascii=False), encoding="utf-8")
    return [{"id": v["id"], "nodes": [n["html"] for n in v["nodes"]][:3]} for v in violations]


def check_mail(browser: Any, stack: Stack, look: Look, mail: dict[str, Any], kind: str) -> None:
    """The mail comes from the firm (or, neutral, under its name) and its HTML passes axe."""
    name, address = parseaddr(mail["from"])
    assert address == SENDER
    assert str(make_header(decode_header(name))) == look.sender_name == mail["from_name"]
    assert mail["reply_to"] == look.reply_to
    FOUND["mail_headers"][f"{look.name} {kind}"] = {"from": mail["from"], "reply_to": mail["reply_to"]}
    context = browser.new_context(viewport={"width": 720, "height": 900})
    page = context.new_page()
    page.set_content(mail["html"], wait_until="load")
    if look.logo:
        logo = page.locator("img").first
        assert logo.get_attribute("src") == f"{stack.base_url}{look.logo}"
        assert logo.get_attribute("alt") == look.firm_name
        assert logo.evaluate("img => img.complete && img.naturalHeight > 0")  # the stack serves it
        assert logo.bounding_box()["height"] <= 48
    assert axe(page, f"mail {kind} ({look.name})") == []
    page.screenshot(path=str(BROWSER_OUTPUT / f"brand-{look.name}-mail-{kind}.png"), full_page=True)
    context.close()


def provision(stack: Stack, look: Look) -> tuple[str, str]:
    """A new client of the look's firm, invited by the CRM: its address and its invitation."""
    if look.name == "neutral":
        body = {"name": look.firm_name, "locale": "en"}
        assert stack.signed("PUT", f"/v1/admin/firms/{look.firm_id}", body).status in (200, 201)
    email = f"axe.{look.name}@example.com"
    before = mail_ids(stack)
    client = {
        "firm_id": look.firm_id,
        "role": "client",
        "email": email,
        "name": f"Axel {look.name.title()}",
        "locale": look.locale,
        "send_invitation": True,
    }
    assert stack.signed("PUT", f"/v1/admin/accounts/acc-axe-{look.name}", client).status == 201
    return email, json.dumps(wait_for_mail(stack, email, before))


@pytest.mark.parametrize("look", LOOKS, ids=[look.name for look in LOOKS])
def test_the_firms_look_on_every_client_page_and_mail_passes_axe(
    stack: Stack, browser: Any, look: Look
) -> None:
    email, raw_invitation = provision(stack, look)
    invitation = json.loads(raw_invitation)
    check_mail(browser, stack, look, invitation, "invitation")

    # The form, in the firm's look.
    context = browser.new_context(locale="en-GB", viewport={"width": 760, "height": 1000})
    page = context.new_page()
    landed: list[str] = []

    def portal(route: Any) -> None:  # the firm's portal answers 204: the page stays on "done"
        landed.append(route.request.url)
        route.fulfill(status=204)

    page.route(re.compile(r".*/_dev/portal.*"), portal)
    page.goto(link_in(invitation))
    page.locator("#state-valid").wait_for(state="visible")
    header = page.locator("#brand")
    if look.name == "neutral":
        assert header.get_attribute("data-branded") == "true"  # its name, the platform's colours
        assert page.locator("#brand-name").inner_text() == look.firm_name
        assert header.get_attribute("data-colored") is None and page.locator("#brand-logo").is_hidden()
        assert page.locator("#firm-contact").is_hidden()
    else:
        assert look.color and look.text_on_color and look.logo
        logo = page.locator("#brand-logo")
        logo.wait_for(state="visible")
        assert logo.get_attribute("alt") == look.firm_name
        assert logo.evaluate("img => img.complete && img.naturalHeight > 0")
        assert logo.bounding_box()["height"] <= 48
        style = header.evaluate("h => [getComputedStyle(h).backgroundColor, getComputedStyle(h).color]")
        assert style == [rgb(look.color), rgb(look.text_on_color)]
        button = page.locator("#submit").evaluate(
            "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]"
        )
        assert button == [rgb(look.color), rgb(look.text_on_color)]
        contact = page.locator("#firm-contact")
        assert look.reply_to[0] in contact.inner_text() and look.firm_name in contact.inner_text()
        help_link = page.locator("#help-link").get_attribute("href") or ""
        assert f"firm={look.firm_id}" in help_link
    assert axe(page, f"page form ({look.name})") == []
    page.screenshot(path=str(BROWSER_OUTPUT / f"brand-{look.name}-form.png"), full_page=True)

    # Success: the new password is set, the client goes to the firm's portal.
    before = mail_ids(stack)
    type_secret(page, "#new-password", PASSWORD)
    type_secret(page, "#repeat-password", PASSWORD)
    page.click("#submit")
    page.locator("#state-done").wait_for(state="visible")
    page.wait_for_timeout(200)  # the navigation to the portal (answered 204) has been tried
    portal_url = f"{stack.base_url}/_dev/portal" + (f"?firm={look.firm_id}" if look.logo else "")
    assert landed == [portal_url]
    assert axe(page, f"page success ({look.name})") == []
    page.screenshot(path=str(BROWSER_OUTPUT / f"brand-{look.name}-success.png"), full_page=True)

    # An invalid link: the neutral page, whoever's link it was meant to be.
    page.goto("about:blank")
    page.goto(f"{stack.base_url}/reset#token=this-link-was-broken-by-a-mail-program")
    page.locator("#state-invalid").wait_for(state="visible")
    assert page.locator("#brand").get_attribute("data-branded") is None
    assert page.locator("#brand-logo").is_hidden() and page.locator("#firm-contact").is_hidden()
    assert axe(page, f"page invalid ({look.name})") == []
    page.screenshot(path=str(BROWSER_OUTPUT / f"brand-{look.name}-invalid.png"), full_page=True)
    context.close()

    # The mails that followed: access set up (with its lock link), a reset asked for, the lock.
    changed = wait_for_mail(stack, email, before, timeout=20)
    check_mail(browser, stack, look, changed, "password_changed_holder")
    before = mail_ids(stack)
    assert stack.post("/v1/password-resets", {"email": email}).status == 202
    check_mail(browser, stack, look, wait_for_mail(stack, email, before, timeout=20), "reset_link")
    before = mail_ids(stack)
    lock_token = link_in(changed, "lock").split("#lock=", 1)[1]
    assert stack.post("/v1/account-locks", {"token": lock_token}).status == 200
    check_mail(browser, stack, look, wait_for_mail(stack, email, before, timeout=20), "account_locked_holder")

    # The CRM gives the client a new address: the previous one is told, from the firm (#24.1).
    before = mail_ids(stack)
    moved = {
        "firm_id": look.firm_id,
        "role": "client",
        "email": f"axe.{look.name}.moved@example.com",
        "name": f"Axel {look.name.title()}",
        "locale": look.locale,
    }
    assert stack.signed("PUT", f"/v1/admin/accounts/acc-axe-{look.name}", moved).status == 200
    check_mail(browser, stack, look, wait_for_mail(stack, email, before, timeout=20), "previous_address")


def test_the_mailbox_page_shows_the_from_display_name_and_the_reply_to(stack: Stack, browser: Any) -> None:
    before = mail_ids(stack)
    assert stack.post("/v1/password-resets", {"email": "maria.lopez@example.org"}).status == 202
    mail = wait_for_mail(stack, "maria.lopez@example.org", before, timeout=20)

    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.goto(f"{stack.base_url}/_dev/mail")
    card = page.locator(f"#mail-{mail['id']}")
    meta = card.locator("dl.meta").inner_text()
    assert f"Hartmann Tax Advisors Client Service <{SENDER}>" in meta
    assert "clients@hartmann-tax.example" in meta
    # The preview frame shows the firm's logo from the stack.
    frame = page.frame_locator(f"#mail-{mail['id']} iframe.mail")
    assert frame.locator("img").first.evaluate("img => img.complete && img.naturalHeight > 0")
    page.screenshot(path=str(BROWSER_OUTPUT / "mailbox-white-label.png"))
    context.close()
