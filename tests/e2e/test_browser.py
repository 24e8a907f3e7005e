"""A person in a real browser (Debian's Chromium, driven by playwright): the reset link from the
dev mailbox, a rejected password with its rule messages in the client's language, a good one, and
the portal signed in; and the "It wasn't me" lock link of a password-changed mail. Screenshots land
in test-output/browser/."""

from __future__ import annotations

import random
from typing import Any

import pytest

from pwreset.credentials.policy import PATTERN_SEQUENCES, PasswordPolicy, PolicyContext
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


def invite(stack: Stack, account_id: str, email: str, name: str) -> dict[str, Any]:
    """A new client of the Hartmann firm who reads English, invited; the welcome mail."""
    before = mail_ids(stack)
    body = {"firm_id": "firm-hartmann", "role": "client", "email": email, "name": name, "locale": "en"}
    assert (
        stack.signed("PUT", f"/v1/admin/accounts/{account_id}", {**body, "send_invitation": True}).status
        == 201
    )
    return wait_for_mail(stack, email, before)


def test_an_invited_client_sets_a_first_password_on_the_welcome_page(stack: Stack, browser: Any) -> None:
    mail = invite(stack, "acc-browser-welcome", "welcome.browser@example.com", "Wendy Welcome")
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


def pattern_corpus(seed: int = 24, size: int = 1500) -> list[str]:
    """Passwords to compare the page's pattern rule with the server's: the contract's examples,
    passphrases, and random mixtures of pieces repeated, walks along the rule's sequences (both
    ways, wrapping, in upper case), words and stray characters (ß, ς, Σ and emoji included)."""
    chance = random.Random(seed)
    words = ["Kaffee", "Rhein", "Brücke", "Sommer", "abend", "Garten", "Straße", "ΑΣ", "ſchön"]
    words += ["qwertz", "1234", "asdf", "!!!", "ß", "ς", "🦊"]
    alphabet = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 !-.,äöüßÄÖÜ§$%&/()=@#^*qwertzΣσς🦊🌲"
    corpus = [
        "aaaaaaaaaaaaaaa",
        "123456789012345",
        "passwordpassword",
        "abcdefghijklmnop",
        "qwertyuiopasdfg",
        "Kaffee trinken am Rhein, drei Mal täglich",
        "Meine Tastatur ist qwertz, mein Code 1234, aber der Satz ist lang",
    ]
    while len(corpus) < size:
        kind = chance.randrange(4)
        if kind == 0:
            corpus.append("".join(chance.choice(alphabet) for _ in range(chance.randrange(1, 30))))
        elif kind == 1:
            separator = chance.choice([" ", "", " - ", ", "])
            corpus.append(separator.join(chance.choice(words) for _ in range(chance.randrange(1, 6))))
        elif kind == 2:
            piece = "".join(chance.choice(alphabet) for _ in range(chance.randrange(1, 6)))
            corpus.append(piece * chance.randrange(1, 5) + piece[: chance.randrange(len(piece) + 1)])
        else:
            sequence, _ = chance.choice(PATTERN_SEQUENCES)
            start, step = chance.randrange(len(sequence)), chance.choice([1, -1])
            walk = "".join(
                sequence[(start + step * i) % len(sequence)] for i in range(chance.randrange(2, 30))
            )
            tail = "".join(chance.choice(alphabet) for _ in range(chance.randrange(4)))
            corpus.append((walk.upper() if chance.random() < 0.3 else walk) + tail)
    return corpus


def test_the_page_judges_patterns_as_the_server_does_and_says_so_before_sending(
    stack: Stack, browser: Any
) -> None:
    """The live "pattern" rule of the reset page (#24.11) marks what the server would refuse as
    it is typed, and a refused password is not sent at all."""
    mail = invite(stack, "acc-browser-patterns", "patterns.browser@example.com", "Paula Muster")
    link = next(link for link in mail["links"] if "#token=" in link)

    context = browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    confirms: list[str] = []
    page.on("request", lambda request: confirms.append(request.url) if "/confirm" in request.url else None)
    page.goto(link)
    page.locator("#state-valid").wait_for(state="visible")
    rule = page.locator('#rules li[data-rule="pattern"]')
    assert "repeated or sequential characters" in rule.inner_text()

    type_secret(page, "#new-password", "passwordpassword")
    type_secret(page, "#repeat-password", "passwordpassword")
    assert rule.get_attribute("data-ok") == "false"
    page.click("#submit")
    assert "repeated or sequential characters" in page.locator("#form-error").inner_text()
    assert confirms == []  # refused on the page: nothing was sent
    type_secret(page, "#new-password", "Wendelstein im Morgennebel 12")
    assert rule.get_attribute("data-ok") == "true"

    corpus = pattern_corpus()
    on_the_page = page.evaluate(
        """(passwords) => {
            const input = document.getElementById("new-password");
            const rule = document.querySelector('#rules li[data-rule="pattern"]');
            return passwords.map((password) => {
                input.value = password;
                input.dispatchEvent(new Event("input", { bubbles: true }));
                return rule.dataset.ok === "false";
            });
        }""",
        corpus,
    )
    server = PasswordPolicy(min_length=1, blocklist=frozenset())
    nobody = PolicyContext(email="", name="", firm_name="")
    on_the_server = ["pattern" in [v.rule for v in server.check(p, nobody)] for p in corpus]
    differing = [
        (p, page_says, server_says)
        for p, page_says, server_says in zip(corpus, on_the_page, on_the_server, strict=True)
        if page_says != server_says
    ]
    assert differing == []
    assert 0.2 < sum(on_the_server) / len(corpus) < 0.8  # both kinds, plenty of each
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


def test_a_locked_client_unlocks_in_the_browser_only_with_the_code_the_firm_reads_out(
    stack: Stack, browser: Any
) -> None:
    """The firm's link to a locked login: the page asks for the unlock code (labelled, in the
    client's language), a wrong one is refused at the field, the right one unlocks and signs in."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    firm = firm_of_two(stack, "unlockbrowser", client_locale="de")
    owner = {"Authorization": f"Bearer {sign_in(stack, firm.owner_email, firm.owner_password)}"}
    before = mail_ids(stack)
    assert stack.post(f"/v1/accounts/{firm.client_id}/password-reset", headers=owner).status == 202
    token = link_in(wait_for_mail(stack, firm.client_email, before)).split("#token=", 1)[1]
    attackers = "Kopfsteinpflaster im Regen 4711"
    assert stack.post("/v1/password-resets/confirm", {"token": token, "password": attackers}).status == 200
    changed = wait_for_mail(stack, firm.client_email, before, timeout=20, subject="Passwort wurde geändert")
    lock_token = link_in(changed, "lock").split("#lock=", 1)[1]
    assert stack.post("/v1/account-locks", {"token": lock_token}).status == 200
    before = mail_ids(stack)
    sent = stack.post(f"/v1/accounts/{firm.client_id}/password-reset", headers=owner)
    assert sent.status == 202, sent.body
    code = sent.json()["unlock_code"]
    link = link_in(wait_for_mail(stack, firm.client_email, before))

    context = browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.goto(link)
    page.locator("#state-valid").wait_for(state="visible")
    field = page.locator("#unlock-code")
    assert field.is_visible()
    assert page.get_by_label("Entsperrcode").get_attribute("id") == "unlock-code"  # German, labelled
    assert page.locator("#valid-heading").inner_text() == "Konto entsperren"
    good = "Kirschblüten über dem Neckar 2026"
    type_secret(page, "#new-password", good)
    type_secret(page, "#repeat-password", good)
    page.click("#submit")  # no code yet: the page asks for it before asking the server
    assert "Entsperrcode" in page.locator("#form-error").inner_text()
    field.fill(f"{(int(code) + 1) % 10**6:06d}")
    page.click("#submit")
    page.locator("#form-error").get_by_text("Der Entsperrcode ist nicht richtig").wait_for(state="visible")
    assert field.get_attribute("aria-invalid") == "true"
    page.screenshot(path=str(OUTPUT / "unlock-code-refused.png"), full_page=True)
    locked = stack.post("/v1/sessions", {"email": firm.client_email, "password": attackers})
    assert (locked.status, locked.json()["error"]["code"]) == (403, "account_locked")

    field.fill(code)
    with page.expect_navigation(url="**/_dev/portal**"):
        page.click("#submit")
    assert stack.post("/v1/sessions", {"email": firm.client_email, "password": good}).status == 201
    context.close()
