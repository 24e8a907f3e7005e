"""The reference portal (/_dev/portal) in Chromium: the staff story of the help-desk article (sign
in, a client's profile, Info, ⋯, "Passwort zurücksetzen", "Senden") with what staff then see, the
client story (forgot password, the help article, changing the password while signed in), and one
login at two firms (issue #22: which firm, "Kanzlei wechseln", staff screens only for a firm where
the person is staff). Screenshots land in test-output/browser/."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from support.browser import BROWSER_OUTPUT, type_secret, typed
from support.local_stack import Stack, mail_ids, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PETRA = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
ANNA = "anna.schmidt@example.com"
# A client of both demo firms: one address, one password (local/demo_data.json).
SOPHIE = ("sophie.wagner@example.net", "Zwei-Kanzleien-Demo-2026")
# A team member of Hartmann's who is also a client of Berger's. Made by the test, not taken from the
# demo staff: other e2e tests sign those in without a firm, and the firm used last would then be
# whichever this test chose last.
NORA = ("nora.neumann@hartmann-tax.example", "Wintergarten am Neusiedler See 42")
BERGER = "Steuerkanzlei Berger & Partner"
HARTMANN = "Hartmann Tax Advisors"
# Long enough for the staff link's lifetime (24 h) to be told from the self-service one (1 h).
STAFF_LINK_LIFETIME = timedelta(hours=24)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh German browser (no cookies, no stored language) on a 1100 px wide screen. Afterwards:
    the page's script never failed, and every unsafe API call it made declared a JSON body (the
    API's defence against cross-site requests made with the cookie)."""
    context = browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    unsafe: list[Any] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("request", lambda r: unsafe.append(r) if r.method != "GET" and "/v1/" in r.url else None)
    yield opened
    context.close()
    assert not errors, f"the page's script failed: {errors}"
    assert unsafe, "the test made no API call that changes anything"
    for request in unsafe:
        assert request.headers.get("content-type") == "application/json", (request.method, request.url)
        assert isinstance(json.loads(request.post_data or ""), dict), (request.method, request.url)


def open_portal(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.base_url}/_dev/portal")
    page.get_by_role("heading", name="Anmelden").wait_for()


def sign_in(page: Any, email: str, password: str) -> None:
    form = page.locator("#view-sign-in")
    form.get_by_label("E-Mail-Adresse").fill(typed(email))
    form.get_by_label("Passwort", exact=True).fill(typed(password))
    form.get_by_role("button", name="Anmelden").click()


def open_profile(page: Any, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", name=name, exact=True).wait_for()


def open_reset_dialog(page: Any) -> Any:
    page.get_by_role("tab", name="Info").click()
    page.get_by_role("button", name="Weitere Aktionen").click()
    page.get_by_role("menuitem", name="Passwort zurücksetzen").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    return dialog


def first_delivery(page: Any) -> Any:
    return page.locator("#deliveries > li").first


def test_staff_send_a_reset_link_from_the_clients_profile_and_watch_it_arrive(
    stack: Stack, page: Any
) -> None:
    open_portal(page, stack)
    sign_in(page, *PETRA)
    page.get_by_role("link", name="Anna Schmidt", exact=True).wait_for()
    # Her own firm's clients only, by name; no staff, no other firm's client.
    names = page.locator("#clients-body tr td:first-child").all_inner_texts()
    assert names.index("Anna Schmidt") < names.index("Bruno Bounce") < names.index("Karl Vogel")
    assert not {"Petra Berger", "Jonas Weber", "Maria Lopez"} & set(names)
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-clients.png"), full_page=True)

    open_profile(page, "Anna Schmidt")
    page.evaluate("window.notReloaded = true")
    before = mail_ids(stack)
    dialog = open_reset_dialog(page)
    assert page.get_by_role("tab", name="Info").get_attribute("aria-selected") == "true"
    assert "a***@example.com" in dialog.inner_text()  # where the link goes, masked
    assert "anna.schmidt@example.com" not in dialog.inner_text()
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-reset-dialog.png"))

    dialog.get_by_role("button", name="Senden").click()
    page.get_by_role("heading", name="Link gesendet").wait_for()
    assert dialog.locator("#dialog-sent-to").inner_text() == "Die E-Mail ist unterwegs an a***@example.com."
    expires = dialog.locator("#dialog-expires")
    assert expires.inner_text().startswith("Der Link ist gültig bis ")
    expires_at = datetime.fromisoformat(expires.get_attribute("data-expires-at"))
    assert abs(expires_at - (datetime.now(UTC) + STAFF_LINK_LIFETIME)) < timedelta(minutes=2)
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-reset-sent.png"))
    mail = wait_for_mail(stack, ANNA, before)
    assert "#token=" in mail["links"][0]

    # The list shows the new mail and follows it to "zugestellt" by itself: no reload, no click.
    dialog.get_by_role("button", name="Schließen").click()
    newest = first_delivery(page)
    newest.locator(".delivery-status", has_text="zugestellt").wait_for(timeout=15_000)
    assert "von Petra Berger" in newest.inner_text()
    assert newest.locator(".timeline li").count() >= 2  # handed to SES, then delivered
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#deliveries-live").is_hidden()  # nothing on its way any more: no polling
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-reset-delivered.png"), full_page=True)


def test_an_archived_client_cannot_be_reset_and_the_page_says_why(stack: Stack, page: Any) -> None:
    open_portal(page, stack)
    sign_in(page, *PETRA)
    open_profile(page, "Karl Vogel")

    assert page.locator("#archived-notice").inner_text().startswith("Dieses Konto ist archiviert.")
    page.get_by_role("button", name="Weitere Aktionen").click()
    action = page.get_by_role("menuitem", name="Passwort zurücksetzen")
    assert action.is_disabled()
    assert action.get_attribute("aria-disabled") == "true"
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-archived.png"), full_page=True)
    action.click(force=True)  # even a forced click opens nothing
    assert page.locator("#action-dialog").is_hidden()


def test_after_a_bounce_staff_read_the_diagnosis_in_words(stack: Stack, page: Any) -> None:
    open_portal(page, stack)
    sign_in(page, *PETRA)
    open_profile(page, "Bruno Bounce")

    # The first send may already meet a bounced address (the e2e tests share one stack): either
    # way, the list then shows a bounced mail with its diagnosis, and a second send is refused.
    dialog = open_reset_dialog(page)
    dialog.get_by_role("button", name="Senden").click()
    dialog.get_by_role("button", name="Schließen").wait_for()
    dialog.get_by_role("button", name="Schließen").click()
    bounced = page.locator('#deliveries > li[data-status="bounced"]').first
    bounced.locator(".diagnosis").wait_for(timeout=15_000)
    assert bounced.locator(".delivery-status").inner_text() == "unzustellbar"
    assert (
        "gibt" in bounced.locator(".diagnosis-summary").inner_text()
    )  # "… dass es diese Adresse nicht gibt"
    assert bounced.locator(".diagnosis li").count() >= 1
    page.locator("#undeliverable-notice").wait_for()

    dialog = open_reset_dialog(page)
    dialog.get_by_role("button", name="Senden").click()
    error = dialog.locator("#dialog-error")
    error.wait_for()
    assert error.get_attribute("data-code") == "email_undeliverable"
    assert dialog.locator("#dialog-error-text").inner_text() == (
        "Diese Adresse ist nicht zustellbar. Es wurde nichts gesendet."
    )
    summary = dialog.locator("#dialog-diagnosis-summary").inner_text()
    advice = dialog.locator("#dialog-diagnosis-advice li").all_inner_texts()
    assert summary and advice and all(line.strip() for line in advice)
    assert dialog.get_by_role("button", name="Senden").is_hidden()  # sending again would change nothing
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-bounce-diagnosis.png"), full_page=True)


def test_staff_open_an_invitation_that_bounced(stack: Stack, page: Any) -> None:
    """A new client's first mail is the invitation; when it bounces, staff see it on the client's
    profile as an invitation, bounced, with the diagnosis in words (issue #25)."""
    label = uuid.uuid4().hex[:8]
    name = f"Ilse Irrläufer {label}"
    # SES's bounce simulator (a +label, as SES allows): a client without a password, invited by
    # the CRM through the provisioning API.
    body = {
        "firm_id": "firm-berger",
        "role": "client",
        "email": f"bounce+{label}@simulator.amazonses.com",
        "name": name,
        "send_invitation": True,
    }
    created = stack.signed("PUT", f"/v1/admin/accounts/acc-bounced-invite-{label}", body)
    assert created.status == 201, created.body
    assert created.json()["invitation"]["status"] == "sent"

    open_portal(page, stack)
    sign_in(page, *PETRA)
    open_profile(page, name)

    invitation = page.locator('#deliveries > li[data-kind="invitation"]').first
    invitation.locator(".diagnosis").wait_for(timeout=15_000)
    assert invitation.get_attribute("data-status") == "bounced"
    assert invitation.locator(".delivery-kind").inner_text() == "Einladung"
    assert invitation.locator(".delivery-status").inner_text() == "unzustellbar"
    assert "von Steuerkanzlei Berger & Partner" in invitation.inner_text()  # the CRM sent it
    assert invitation.locator(".diagnosis").get_attribute("data-code") == "address_not_found"
    assert invitation.locator(".diagnosis-summary").inner_text() == (
        "Der E-Mail-Anbieter des Mandanten meldet, dass es diese Adresse nicht gibt."
    )
    advice = invitation.locator(".diagnosis li").all_inner_texts()
    assert advice[-1] == "Senden Sie danach die Einladung erneut."  # what to do for this kind of mail
    assert page.locator("#deliveries-heading").inner_text() == "Zuletzt gesendete E-Mails"
    steps = [step.get_attribute("data-type") for step in invitation.locator(".timeline li").all()]
    assert steps == ["send", "bounce"]
    page.locator("#undeliverable-notice").wait_for()
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-invitation-bounced.png"), full_page=True)


def test_staff_invite_a_client_without_a_password(stack: Stack, page: Any) -> None:
    body = {
        "firm_id": "firm-berger",
        "role": "client",
        "email": "ida.invite@example.com",
        "name": "Ida Invite",
    }
    assert stack.signed("PUT", "/v1/admin/accounts/acc-portal-ida", body).status in (200, 201)
    open_portal(page, stack)
    sign_in(page, *PETRA)
    row = page.locator('#clients-body tr[data-account-id="acc-portal-ida"]')
    assert row.locator("td").nth(3).inner_text() == "Noch kein Passwort"
    open_profile(page, "Ida Invite")
    before = mail_ids(stack)

    page.get_by_role("button", name="Weitere Aktionen").click()
    page.get_by_role("menuitem", name="Zum Portal einladen").click()
    dialog = page.get_by_role("dialog")
    assert "i***@example.com" in dialog.inner_text()
    dialog.get_by_role("button", name="Senden").click()

    page.get_by_role("heading", name="Einladung gesendet").wait_for()
    assert dialog.locator("#dialog-sent-to").inner_text() == "Die E-Mail ist unterwegs an i***@example.com."
    assert "Willkommen" in wait_for_mail(stack, "ida.invite@example.com", before)["subject"]
    # Anna has a password: her menu offers no invitation.
    dialog.get_by_role("button", name="Schließen").click()
    page.get_by_role("link", name="Alle Mandanten").click()
    open_profile(page, "Anna Schmidt")
    page.get_by_role("button", name="Weitere Aktionen").click()
    assert page.get_by_role("menuitem", name="Zum Portal einladen").count() == 0


def test_the_portal_speaks_english_on_request(stack: Stack, page: Any) -> None:
    open_portal(page, stack)
    page.get_by_role("button", name="English").click()

    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Forgot your password?").is_visible()
    sign_in_form = page.locator("#view-sign-in")
    sign_in_form.get_by_label("E-mail address").fill(typed(PETRA[0]))
    sign_in_form.get_by_label("Password", exact=True).fill(typed(PETRA[1]))
    sign_in_form.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Clients").wait_for()
    open_profile(page, "Anna Schmidt")
    assert page.get_by_role("button", name="More actions").is_visible()
    page.get_by_role("button", name="More actions").click()
    assert page.get_by_role("menuitem", name="Reset password").is_visible()


def test_a_client_who_forgot_the_password_gets_a_link_help_and_then_changes_it(
    stack: Stack, page: Any
) -> None:
    open_portal(page, stack)
    page.get_by_role("link", name="Passwort vergessen?").click()
    page.get_by_role("heading", name="Passwort vergessen?").wait_for()
    before = mail_ids(stack)
    page.locator("#forgot-email").fill(typed(ANNA))
    page.get_by_role("button", name="Link senden").click()

    confirmation = page.locator("#forgot-done")
    confirmation.wait_for()
    assert ANNA in confirmation.inner_text()
    help_link = confirmation.get_by_role("link", name=re.compile("Keine E-Mail erhalten"))
    assert help_link.get_attribute("href") == "/help/reset-email?lang=de"
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-forgot-confirmation.png"), full_page=True)
    help_link.click()
    page.get_by_role("heading", name="Keine E-Mail zum Zurücksetzen Ihres Passworts erhalten?").wait_for()
    assert re.fullmatch(r"[^@\s]+@[^@\s]+", page.locator("#sender-address").inner_text())
    page.screenshot(path=str(BROWSER_OUTPUT / "help-article.png"), full_page=True)

    # The mail came: its link sets a password and signs Anna in to the portal.
    link = wait_for_mail(stack, ANNA, before)["links"][0]
    first = "Sternschnuppen über dem Bodensee 7"
    page.goto(link)
    page.locator("#state-valid").wait_for()
    type_secret(page, "#new-password", first)
    type_secret(page, "#repeat-password", first)
    with page.expect_navigation(url="**/_dev/portal**"):
        page.click("#submit")
    page.get_by_role("heading", name="Willkommen, Anna Schmidt").wait_for()

    # "Passwort ändern": a password with her name in it is refused rule by rule, a good one taken.
    page.get_by_role("link", name="Passwort ändern").first.click()
    page.get_by_role("heading", name="Passwort ändern").wait_for()
    page.get_by_label("Aktuelles Passwort").fill(typed(first))
    page.get_by_label("Neues Passwort", exact=True).fill(typed("Anna Schmidt 2026!"))
    page.get_by_label("Neues Passwort wiederholen").fill(typed("Anna Schmidt 2026!"))
    page.locator("#password-submit").click()
    violations = page.locator("#password-violations li")
    violations.first.wait_for()
    rules = {violations.nth(i).get_attribute("data-rule") for i in range(violations.count())}
    assert "contains_name" in rules
    assert "Namen" in page.locator("#password-violations").inner_text()
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-change-password-rejected.png"), full_page=True)

    second = "Glockenblumen am Feldweg 1848"
    page.get_by_label("Neues Passwort", exact=True).fill(typed(second))
    page.get_by_label("Neues Passwort wiederholen").fill(typed(second))
    page.locator("#password-submit").click()
    page.locator("#password-done").wait_for()
    assert page.locator("#password-done").inner_text().startswith("Ihr Passwort wurde geändert.")
    # This browser's session was replaced, not ended: a reload is still signed in.
    page.reload()
    page.get_by_role("heading", name="Passwort ändern").wait_for()
    assert page.locator("#user-name").inner_text().startswith("Anna Schmidt")
    assert stack.post("/v1/sessions", {"email": ANNA, "password": first}).status == 401

    page.get_by_role("button", name="Abmelden").click()
    page.get_by_role("heading", name="Anmelden").wait_for()
    sign_in(page, ANNA, second)
    page.get_by_role("heading", name="Willkommen, Anna Schmidt").wait_for()


def firm_choice(page: Any, firm_name: str) -> Any:
    """The chooser's button for a firm (its accessible name starts with the firm's name)."""
    chooser = page.get_by_role("list", name=re.compile("Welche Kanzlei|Which firm"))
    return chooser.get_by_role("button", name=re.compile("^" + re.escape(firm_name)))


def choice_text(page: Any, firm_name: str) -> str:
    """What the firm's button says, as one line: the firm, the role there, "gerade gewählt" if so."""
    return " ".join(firm_choice(page, firm_name).inner_text().split())


def acting_for(page: Any) -> str:
    """The firm the browser's session acts for, as the API tells it (not as the page shows it)."""
    answer = page.evaluate("() => fetch('/v1/sessions/current', {cache: 'no-store'}).then((r) => r.json())")
    return str(answer["account"]["firm_id"])


def focused_text(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement.textContent"))


def test_a_client_of_both_firms_chooses_a_firm_and_switches_to_the_other(stack: Stack, page: Any) -> None:
    open_portal(page, stack)
    sign_in(page, *SOPHIE)

    # Asked which firm, by name, with her role at each; the firm used last is marked as chosen.
    page.get_by_role("heading", name="Welche Kanzlei?").wait_for()
    chooser = page.get_by_role("list", name="Welche Kanzlei?")
    choices = chooser.get_by_role("button")
    assert choices.count() == 2
    texts = [" ".join(text.split()) for text in choices.all_inner_texts()]
    assert {text.removesuffix(" gerade gewählt") for text in texts} == {
        f"{BERGER} Mandant/in",
        f"{HARTMANN} Mandant/in",
    }
    assert chooser.locator('button[aria-current="true"]').count() == 1
    assert page.get_by_role("link", name="Mandanten", exact=True).is_hidden()
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-firm-chooser.png"), full_page=True)

    # By keyboard alone: the focus starts in the list, arrows move it, Enter chooses Berger.
    assert focused_text(page).startswith((BERGER, HARTMANN))
    page.keyboard.press("Home")
    for _ in range(2):
        if focused_text(page).startswith(BERGER):
            break
        page.keyboard.press("ArrowDown")
    assert focused_text(page).startswith(BERGER)
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Willkommen, Sophie Wagner").wait_for()
    assert page.locator("#client-home-firm").inner_text() == (
        f"Sie sind im Mandantenportal von {BERGER} angemeldet."
    )
    assert page.locator("#user-firm").inner_text() == BERGER
    assert acting_for(page) == "firm-berger"
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-firm-berger.png"), full_page=True)

    # "Kanzlei wechseln": Berger is the one chosen now; Hartmann is one click away.
    page.get_by_role("link", name="Kanzlei wechseln").click()
    page.get_by_role("heading", name="Welche Kanzlei?").wait_for()
    assert firm_choice(page, BERGER).get_attribute("aria-current") == "true"
    assert choice_text(page, BERGER) == f"{BERGER} Mandant/in gerade gewählt"
    assert firm_choice(page, HARTMANN).get_attribute("aria-current") is None
    firm_choice(page, HARTMANN).click()
    page.locator("#client-home-firm", has_text=HARTMANN).wait_for()
    assert page.locator("#user-firm").inner_text() == HARTMANN
    assert acting_for(page) == "firm-hartmann"
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-firm-switched.png"), full_page=True)

    # The same in English; a reload keeps the firm chosen.
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Switch firm").click()
    page.get_by_role("heading", name="Which firm?").wait_for()
    assert choice_text(page, HARTMANN) == f"{HARTMANN} Client chosen now"
    assert choice_text(page, BERGER) == f"{BERGER} Client"
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-firm-chooser-en.png"), full_page=True)
    page.get_by_role("link", name="Client portal", exact=True).click()
    page.reload()
    page.get_by_role("heading", name="Welcome, Sophie Wagner").wait_for()
    assert page.locator("#client-home-firm").inner_text() == (
        f"You are signed in to the client portal of {HARTMANN}."
    )


def staff_at_hartmann_and_client_at_berger(stack: Stack) -> None:
    """Nora: invited as a team member of Hartmann's (she sets her password by the mail's link),
    then made a client of Berger's, whose portal opens with the same password."""
    email, password = NORA
    before = mail_ids(stack)
    staff = {"firm_id": "firm-hartmann", "role": "member", "email": email, "name": "Nora Neumann"}
    invited = stack.signed(
        "PUT", "/v1/admin/accounts/acc-hartmann-member-nora", {**staff, "send_invitation": True}
    )
    assert invited.status == 201, invited.body
    token = wait_for_mail(stack, email, before)["links"][0].split("#token=", 1)[1]
    confirmed = stack.post("/v1/password-resets/confirm", {"token": token, "password": password})
    assert confirmed.status == 200, confirmed.body
    client = {"firm_id": "firm-berger", "role": "client", "email": email, "name": "Nora Neumann"}
    made = stack.signed("PUT", "/v1/admin/accounts/acc-berger-client-nora", client)
    assert made.status == 201, made.body
    assert made.json()["account"]["has_password"] is True


def test_staff_of_one_firm_never_see_staff_screens_for_the_firm_where_they_are_a_client(
    stack: Stack, page: Any
) -> None:
    staff_at_hartmann_and_client_at_berger(stack)
    open_portal(page, stack)
    sign_in(page, *NORA)
    page.get_by_role("heading", name="Welche Kanzlei?").wait_for()
    assert choice_text(page, HARTMANN).removesuffix(" gerade gewählt") == f"{HARTMANN} Teammitglied"
    assert choice_text(page, BERGER).removesuffix(" gerade gewählt") == f"{BERGER} Mandant/in"

    # At Berger she is a client: the client's home, no client list, not even by address.
    firm_choice(page, BERGER).click()
    page.get_by_role("heading", name="Willkommen, Nora Neumann").wait_for()
    assert page.get_by_role("link", name="Mandanten", exact=True).is_hidden()
    page.goto(f"{stack.base_url}/_dev/portal#/clients/acc-berger-client-anna")
    page.get_by_role("heading", name="Willkommen, Nora Neumann").wait_for()
    assert page.locator("#view-clients").is_hidden() and page.locator("#view-profile").is_hidden()
    assert "Anna Schmidt" not in page.locator("main").inner_text()
    assert acting_for(page) == "firm-berger"

    # At Hartmann she is staff: Hartmann's clients, none of Berger's.
    page.get_by_role("link", name="Kanzlei wechseln").click()
    firm_choice(page, HARTMANN).click()
    page.get_by_role("heading", name="Mandanten", exact=True).wait_for()
    page.get_by_role("link", name="Maria Lopez", exact=True).wait_for()
    names = page.locator("#clients-body tr td:first-child").all_inner_texts()
    assert "Sophie Wagner" in names and not {"Anna Schmidt", "Nora Neumann"} & set(names)
    assert page.locator("#user-firm").inner_text() == HARTMANN
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-firm-staff.png"), full_page=True)

    # Another tab of the same browser switches to Berger: back in this tab, the page shows Berger's
    # client home by itself and says why, instead of Hartmann's client list.
    other = page.context.new_page()
    other.goto(f"{stack.base_url}/_dev/portal#/firm")
    firm_choice(other, BERGER).click()
    other.get_by_role("heading", name="Willkommen, Nora Neumann").wait_for()
    other.close()
    page.bring_to_front()
    # Headless Chromium does not always tell a page it is shown again; the page hears what a
    # browser with windows tells it when the person returns to the tab.
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    page.get_by_role("heading", name="Willkommen, Nora Neumann").wait_for()
    assert_shows_berger_as_a_client(page)
    page.screenshot(path=str(BROWSER_OUTPUT / "portal-firm-changed-elsewhere.png"), full_page=True)

    # A switch this page did not see (no tab change to tell it): the next staff step is refused
    # (403) and the page shows the firm the session acts for, not Hartmann's client's profile.
    page.get_by_role("link", name="Kanzlei wechseln").click()
    firm_choice(page, HARTMANN).click()
    page.get_by_role("link", name="Maria Lopez", exact=True).wait_for()
    switched = page.evaluate(
        """() => fetch('/v1/sessions/current/account', {method: 'PUT',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({account_id: 'acc-berger-client-nora'})}).then((r) => r.status)"""
    )
    assert switched == 200
    page.get_by_role("link", name="Maria Lopez", exact=True).click()
    page.get_by_role("heading", name="Willkommen, Nora Neumann").wait_for()
    assert_shows_berger_as_a_client(page)


def assert_shows_berger_as_a_client(page: Any) -> None:
    assert (
        page.locator("#flash")
        .inner_text()
        .startswith("In einem anderen Fenster wurde die Kanzlei gewechselt.")
    )
    assert page.locator("#user-firm").inner_text() == BERGER
    assert page.locator("#view-profile").is_hidden() and page.locator("#view-clients").is_hidden()
    assert page.get_by_role("link", name="Mandanten", exact=True).is_hidden()
