"""The mail to a person who already has a password when another firm's portal opens to them: no
link that sets a password, a link to the portal, in the reader's language."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pwreset.mail.mailer import render
from support.html_parsing import ParsedHtml
from support.mail_context import mail_context

PORTAL = "https://portal.example.com/"


def context(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "firm_name": "Hartmann Tax Advisors",
        "recipient_name": "Sophie Wagner",
        "email": "sophie.wagner@example.net",
        "portal_url": PORTAL,
    }
    return mail_context(values, **overrides)


@pytest.mark.parametrize(
    ("locale", "subject", "words"),
    [
        (
            "en",
            "Your access to the Hartmann Tax Advisors client portal",
            ["Hello Sophie Wagner,", "sophie.wagner@example.net", "You do not need a new one."],
        ),
        (
            "de",
            "Ihr Zugang zum Mandantenportal Hartmann Tax Advisors",
            ["Guten Tag Sophie Wagner,", "sophie.wagner@example.net", "Ein neues brauchen Sie nicht."],
        ),
    ],
)
def test_it_says_the_portal_is_open_with_the_password_the_person_has(
    locale: str, subject: str, words: list[str]
) -> None:
    mail = render("access_granted", locale, **context())
    assert mail.subject == subject
    for word in words:
        assert word in mail.text and word in ParsedHtml(mail.html).text


@pytest.mark.parametrize("locale", ["de", "en"])
def test_its_only_link_is_the_portal_never_one_that_sets_a_password(locale: str) -> None:
    mail = render("access_granted", locale, **context())
    links = set(re.findall(r'href="([^"]+)"', mail.html))
    assert links == {PORTAL}
    assert PORTAL in mail.text
    assert "#token=" not in mail.html + mail.text
