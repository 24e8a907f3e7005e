"""The owner and client mails after a password change, as their readers see them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from pwreset.mail.mailer import render
from support.html_parsing import ParsedHtml
from support.mail_context import about_the_holder, mail_context

KINDS = ["password_changed_owner", "password_changed_holder"]
# 14:05 UTC in winter: 15:05 in Berlin, 09:05 in New York.
CHANGED = datetime(2026, 1, 15, 14, 5, tzinfo=UTC)
REQUESTED = datetime(2026, 1, 15, 13, 50, tzinfo=UTC)
LOCK_LINK = "https://portal.example.com/reset#lock=" + "L" * 43


def context(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        **about_the_holder(),
        "change": "reset",
        "lock_link": None,
        "changed_at": CHANGED,
        "timezone": "Europe/Berlin",
        "source_ip": "198.51.100.20",
        "location": "Berlin, Germany",
        "os": "Windows 10",
        "browser": "Chrome 131.0.0.0",
        "self_service": False,
        "requested_by_name": "Jonas Weber",
        "requested_at": REQUESTED,
    }
    return mail_context(values, **overrides)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("locale", "when"),
    [
        ("de", "15. Januar 2026, 15:05 Uhr (Europe/Berlin)"),
        ("en", "15 January 2026, 3:05 pm (Europe/Berlin)"),
    ],
)
def test_every_detail_is_in_both_parts_in_the_readers_language(kind: str, locale: str, when: str) -> None:
    mail = render(kind, locale, **context())
    html = ParsedHtml(mail.html)

    assert html.errors == [] and html.stack == []
    assert html.lang == locale
    for part in (mail.text, html.text):
        for detail in (
            when,
            "198.51.100.20",
            "Berlin, Germany",
            "Windows 10",
            "Chrome 131.0.0.0",
            "Jonas Weber",
        ):
            assert detail in part, (kind, locale, detail)
        assert "Anna Schmidt" in part or "Jürgen Schäfer" in part
        assert "Kanzlei Müller & Partner" in part
    assert "{{" not in mail.html + mail.text and "{%" not in mail.html + mail.text


@pytest.mark.parametrize("locale", ["de", "en"])
def test_owner_mail_names_the_client_with_address(locale: str) -> None:
    mail = render("password_changed_owner", locale, **context())
    assert "Anna Schmidt" in mail.subject
    assert "Anna Schmidt (anna.schmidt@example.com)" in mail.text
    assert "Anna Schmidt (anna.schmidt@example.com)" in ParsedHtml(mail.html).text


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "de",
            [
                "Ihr Passwort wurde geändert",
                "wenden Sie sich umgehend an Kanzlei Müller & Partner",
                "niemals",
            ],
        ),
        ("en", ["Your password was changed", "Please contact Kanzlei Müller & Partner immediately", "never"]),
    ],
)
def test_client_mail_says_what_to_do_if_it_was_not_them(locale: str, words: list[str]) -> None:
    mail = render("password_changed_holder", locale, **context())
    assert words[0] in mail.subject
    for part in (mail.text, ParsedHtml(mail.html).text):
        for word in words[1:]:
            assert word in part


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("locale", "unknown"), [("de", "unbekannt"), ("en", "unknown")])
def test_missing_facts_read_unknown(kind: str, locale: str, unknown: str) -> None:
    mail = render(kind, locale, **context(location=None, os=None, browser=None))
    label = {"de": "Standort", "en": "Location"}[locale]
    assert re.search(rf"{label}:\s+{unknown}\n", mail.text)
    assert mail.text.count(unknown) == 3
    assert ParsedHtml(mail.html).text.count(unknown) == 3


@pytest.mark.parametrize(
    ("kind", "locale", "expected"),
    [
        (
            "password_changed_owner",
            "en",
            "Self-service: Anna Schmidt requested a reset link on 15 January 2026",
        ),
        ("password_changed_owner", "de", "Selbstbedienung: Anna Schmidt hat am 15. Januar 2026, 14:50 Uhr"),
        ("password_changed_holder", "en", "You requested a reset link yourself on 15 January 2026, 2:50 pm"),
        ("password_changed_holder", "de", "Sie haben am 15. Januar 2026, 14:50 Uhr (Europe/Berlin) selbst"),
    ],
)
def test_self_service_says_so(kind: str, locale: str, expected: str) -> None:
    mail = render(kind, locale, **context(self_service=True, requested_by_name=None))
    assert expected in mail.text
    assert expected in ParsedHtml(mail.html).text
    assert "Jonas" not in mail.text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("locale", ["de", "en"])
def test_html_loads_nothing_from_outside_and_links_only_to_the_lock_page(kind: str, locale: str) -> None:
    """Nothing is loaded from anywhere; the one link is the holder's "It wasn't me" lock link (the
    button and the same link spelled out), and the owner's mail has none."""
    html = render(kind, locale, **context(lock_link=LOCK_LINK)).html
    hrefs = re.findall(r"""href\s*=\s*["']([^"']*)["']""", html, re.IGNORECASE)
    assert hrefs == ([LOCK_LINK, LOCK_LINK] if kind == "password_changed_holder" else [])
    rest = html.replace(f'href="{LOCK_LINK}"', "")
    assert not re.search(r"""(src|href)\s*=|url\(|<link|<img|<script|@import""", rest, re.IGNORECASE)


@pytest.mark.parametrize("locale", ["de", "en"])
def test_the_holders_mail_offers_the_lock_link_in_both_parts_and_says_the_page_asks_first(
    locale: str,
) -> None:
    mail = render("password_changed_holder", locale, **context(lock_link=LOCK_LINK))
    button = {"de": "Das war ich nicht: Konto sperren", "en": "It wasn't me: lock my account"}[locale]
    asks = {"de": "fragt zuerst nach", "en": "asks you to confirm first"}[locale]
    assert LOCK_LINK in mail.text and button in mail.text and asks in mail.text
    assert button in ParsedHtml(mail.html).text
    without = render("password_changed_holder", locale, **context())
    assert "#lock=" not in without.text + without.html and button not in without.text


def test_time_is_in_each_readers_zone() -> None:
    berlin = render("password_changed_owner", "de", **context())
    new_york = render("password_changed_holder", "en", **context(timezone="America/New_York"))
    assert "15:05 Uhr (Europe/Berlin)" in berlin.text
    assert "9:05 am (America/New_York)" in new_york.text


@pytest.mark.parametrize(
    ("locale", "owner_subject", "owner_how", "holder_subject"),
    [
        (
            "en",
            "Portal access set up: Anna Schmidt",
            "Jonas Weber sent an invitation on 15 January 2026",
            "Your portal access is set up",
        ),
        (
            "de",
            "Portalzugang eingerichtet: Anna Schmidt",
            "Jonas Weber hat am 15. Januar 2026, 14:50 Uhr (Europe/Berlin) eine Einladung gesendet",
            "Ihr Portalzugang ist eingerichtet",
        ),
    ],
)
def test_a_first_password_from_an_invitation_says_access_was_set_up(
    locale: str, owner_subject: str, owner_how: str, holder_subject: str
) -> None:
    owner = render("password_changed_owner", locale, **context(change="invitation"))
    holder = render("password_changed_holder", locale, **context(change="invitation"))
    assert owner.subject.startswith(owner_subject)
    assert owner_how in owner.text and owner_how in ParsedHtml(owner.html).text
    assert holder.subject.startswith(holder_subject)
    for mail in (owner, holder):
        assert (
            "sent a reset link" not in mail.text and "einen Link zum Zurücksetzen gesendet" not in mail.text
        )


@pytest.mark.parametrize(
    ("locale", "owner_how", "holder_how"),
    [
        ("en", "Anna Schmidt changed it while signed in to the portal", "You changed it while signed in"),
        (
            "de",
            "Anna Schmidt hat es angemeldet im Portal geändert",
            "Sie haben es angemeldet im Portal geändert",
        ),
    ],
)
def test_a_change_in_the_portal_says_so_and_names_no_link(
    locale: str, owner_how: str, holder_how: str
) -> None:
    owner = render("password_changed_owner", locale, **context(change="portal", requested_by_name=None))
    holder = render("password_changed_holder", locale, **context(change="portal", requested_by_name=None))
    assert owner_how in owner.text and owner_how in ParsedHtml(owner.html).text
    assert holder_how in holder.text and holder_how in ParsedHtml(holder.html).text


@pytest.mark.parametrize(
    ("role", "locale", "intro", "label"),
    [
        ("client", "en", "password of your client Anna Schmidt was changed", "Client:"),
        ("member", "en", "password of your team member Anna Schmidt was changed", "Team member:"),
        (
            "owner",
            "en",
            "password of Anna Schmidt, an owner of Kanzlei Müller & Partner, was changed",
            "Owner:",
        ),
        ("member", "de", "das Passwort von Anna Schmidt (Teammitglied)", "Teammitglied:"),
        ("owner", "de", "das Passwort von Anna Schmidt (Inhaber)", "Inhaber:"),
    ],
)
def test_the_owner_mail_words_the_holder_by_role(role: str, locale: str, intro: str, label: str) -> None:
    mail = render("password_changed_owner", locale, **context(holder_role=role))
    assert intro in mail.text and intro in ParsedHtml(mail.html).text
    assert f"{label}" in mail.text
    if role != "client":
        # Staff are not clients: no "your client", no pointer to the client's profile.
        assert "your client" not in mail.text and "Ihrem Mandanten" not in mail.text


@pytest.mark.parametrize(
    ("locale", "owner_words", "holder_words"),
    [
        (
            "en",
            "The change was made through the Hartmann Tax Advisors client portal. Anna Schmidt signs in "
            "to your client portal with the same e-mail address and password",
            "You sign in to the client portals of Hartmann Tax Advisors with the same e-mail address and "
            "password: the new password opens them too.",
        ),
        (
            "de",
            "Die Änderung wurde über das Mandantenportal von Hartmann Tax Advisors vorgenommen.",
            "In den Mandantenportalen von Hartmann Tax Advisors melden Sie sich mit derselben "
            "E-Mail-Adresse und demselben Passwort an",
        ),
    ],
)
def test_a_change_through_another_firm_names_that_firm_and_the_holder_hears_of_every_firm(
    locale: str, owner_words: str, holder_words: str
) -> None:
    """One login, two firms: the owner of the firm the change did not come through reads which
    firm's portal it came through; the holder reads that the password opens the other firms too."""
    owner = render("password_changed_owner", locale, **context(via_firm_name="Hartmann Tax Advisors"))
    holder = render("password_changed_holder", locale, **context(other_firm_names=["Hartmann Tax Advisors"]))
    assert owner_words in owner.text and owner_words in ParsedHtml(owner.html).text
    assert holder_words in holder.text and holder_words in ParsedHtml(holder.html).text
    # Through its own firm, for a login with one firm: neither note.
    alone = [render(kind, locale, **context()) for kind in KINDS]
    assert all("Hartmann" not in mail.text for mail in alone)
