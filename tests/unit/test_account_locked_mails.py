"""The owners' and the holder's mails after a holder locked their account ("It wasn't me")."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from pwreset.mail.mailer import render
from support.html_parsing import ParsedHtml
from support.mail_context import about_the_holder, mail_context

KINDS = ["account_locked_owner", "account_locked_holder"]
# 08:00 UTC in winter: 09:00 in Berlin. The change was reported the day before.
LOCKED = datetime(2026, 1, 16, 8, 0, tzinfo=UTC)
CHANGED = datetime(2026, 1, 15, 14, 5, tzinfo=UTC)


def context(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        **about_the_holder(),
        "timezone": "Europe/Berlin",
        "locked_at": LOCKED,
        "already_locked": False,
        "lock": {
            "ip": "198.51.100.44",
            "location": "Hamburg, Germany",
            "os": "iOS 17.6.1",
            "browser": "Mobile Safari 17.6",
        },
        "change": "reset",
        "changed_at": CHANGED,
        "reported": {
            "ip": "203.0.113.66",
            "location": "Kyiv, Ukraine",
            "os": "Windows 10",
            "browser": "Chrome 131.0.0.0",
        },
    }
    return mail_context(values, **overrides)


@pytest.mark.parametrize(
    ("locale", "locked_when", "changed_when"),
    [
        ("de", "16. Januar 2026, 09:00 Uhr (Europe/Berlin)", "15. Januar 2026, 15:05 Uhr (Europe/Berlin)"),
        ("en", "16 January 2026, 9:00 am (Europe/Berlin)", "15 January 2026, 3:05 pm (Europe/Berlin)"),
    ],
)
def test_the_owner_reads_who_locked_when_and_from_where_and_which_change_was_disowned(
    locale: str, locked_when: str, changed_when: str
) -> None:
    mail = render("account_locked_owner", locale, **context())
    html = ParsedHtml(mail.html)

    assert html.errors == [] and html.stack == [] and html.lang == locale
    for part in (mail.text, html.text):
        for detail in (
            "Anna Schmidt (anna.schmidt@example.com)",
            locked_when,
            "198.51.100.44",
            "Hamburg, Germany",
            "iOS 17.6.1",
            "Mobile Safari 17.6",
            changed_when,
            "203.0.113.66",
            "Kyiv, Ukraine",
            "Windows 10",
            "Chrome 131.0.0.0",
        ):
            assert detail in part, (locale, detail)
    assert (
        mail.subject
        == {
            "de": "Konto gesperrt: Anna Schmidt – Mandantenportal Kanzlei Müller & Partner",
            "en": "Account locked: Anna Schmidt – Kanzlei Müller & Partner client portal",
        }[locale]
    )
    # How to unlock: the reset link from the client's profile, and its code read over the phone
    # only after checking who is calling (whoever changed the password may hold the mailbox).
    assert {"de": "„Passwort zurücksetzen“", "en": "“Reset password”"}[locale] in mail.text
    check = {
        "de": "Prüfen Sie, wer anruft, bevor Sie den Code nennen",
        "en": "Check who is calling before you read the code out",
    }[locale]
    assert check in mail.text and check in html.text
    assert "{{" not in mail.html + mail.text and "{%" not in mail.html + mail.text


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "de",
            [
                "Ihr Konto ist gesperrt",
                "auch wer das Passwort geändert hat",
                "bitten Sie um einen neuen Link",
                "sechsstelligen Entsperrcode",
            ],
        ),
        (
            "en",
            [
                "Your account is locked",
                "including whoever changed the password",
                "ask for a new link",
                "six-digit unlock code",
            ],
        ),
    ],
)
def test_the_holder_reads_what_the_lock_did_and_what_happens_next(locale: str, words: list[str]) -> None:
    mail = render("account_locked_holder", locale, **context())
    assert mail.subject.startswith(words[0])
    for part in (mail.text, ParsedHtml(mail.html).text):
        for word in words[1:]:
            assert word in part
        assert "198.51.100.44" in part and "Mobile Safari 17.6" in part
    assert "203.0.113.66" not in mail.text  # the holder needs the lock's record, not the attacker's


@pytest.mark.parametrize(
    ("role", "locale", "phrase"),
    [
        ("client", "en", "Your client Anna Schmidt"),
        ("member", "en", "Your team member Anna Schmidt"),
        ("owner", "en", "Anna Schmidt, an owner of Kanzlei Müller & Partner,"),
        ("client", "de", "Anna Schmidt (Mandant,"),
        ("member", "de", "Anna Schmidt (Teammitglied,"),
    ],
)
def test_the_owner_mail_words_the_holder_by_role(role: str, locale: str, phrase: str) -> None:
    mail = render("account_locked_owner", locale, **context(holder_role=role))
    assert phrase in mail.text and phrase in ParsedHtml(mail.html).text
    if role != "client":
        assert "profile" not in mail.text and "Profil" not in mail.text
        assert "code" not in mail.text  # staff send links to clients only: no unlock code for them


@pytest.mark.parametrize(
    ("change", "locale", "how"),
    [
        ("reset", "en", "with a link to reset the password"),
        ("portal", "en", "changed while signed in to the portal"),
        ("invitation", "de", "erstes Passwort, mit einem Einladungslink"),
    ],
)
def test_the_owner_mail_says_how_the_disowned_change_came_about(change: str, locale: str, how: str) -> None:
    assert how in render("account_locked_owner", locale, **context(change=change)).text


@pytest.mark.parametrize("locale", ["de", "en"])
def test_a_second_lock_says_the_account_was_already_locked(locale: str) -> None:
    words = {"de": "Das Konto war bereits gesperrt", "en": "The account was already locked"}[locale]
    assert words not in render("account_locked_owner", locale, **context()).text
    assert words in render("account_locked_owner", locale, **context(already_locked=True)).text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("locale", "unknown"), [("de", "unbekannt"), ("en", "unknown")])
def test_missing_facts_read_unknown(kind: str, locale: str, unknown: str) -> None:
    blank = {"ip": "unknown", "location": None, "os": None, "browser": None}
    mail = render(kind, locale, **context(lock=blank, reported=blank, changed_at=None))
    label = {"de": "Standort", "en": "Location"}[locale]
    assert re.search(rf"{label}:\s+{unknown}\n", mail.text)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("locale", ["de", "en"])
def test_html_loads_and_links_nothing(kind: str, locale: str) -> None:
    html = render(kind, locale, **context()).html
    assert not re.search(r"""(src|href)\s*=|url\(|<link|<img|<script|@import""", html, re.IGNORECASE)


@pytest.mark.parametrize("locale", ["de", "en"])
def test_a_lock_through_another_firm_names_it_and_the_holder_hears_it_applies_everywhere(locale: str) -> None:
    owner = render("account_locked_owner", locale, **context(via_firm_name="Hartmann Tax Advisors"))
    holder = render("account_locked_holder", locale, **context(other_firm_names=["Hartmann Tax Advisors"]))
    owner_words = {
        "en": "The account was locked from a mail of the Hartmann Tax Advisors client portal.",
        "de": "Das Konto wurde über eine E-Mail des Mandantenportals von Hartmann Tax Advisors gesperrt.",
    }[locale]
    holder_words = {"en": "the lock applies to them too", "de": "Die Sperre gilt auch dort."}[locale]
    assert owner_words in owner.text and owner_words in ParsedHtml(owner.html).text
    assert holder_words in holder.text and holder_words in ParsedHtml(holder.html).text
