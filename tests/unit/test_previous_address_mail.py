"""The mail to an account's previous address after the CRM changed it (issue #24.1): which firm's
portal uses which masked address since when, whom to contact, and no link at all."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from pwreset.mail.mailer import render
from support.html_parsing import ParsedHtml
from support.mail_context import mail_context


def context(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "firm_name": "Steuerkanzlei Berger & Partner",
        "recipient_name": "Anna Schmidt",
        "new_email_hint": "a***@example.net",
        "changed_at": datetime(2026, 11, 27, 14, 5, tzinfo=UTC),
        "timezone": "Europe/Berlin",
    }
    return mail_context(values, **overrides)


@pytest.mark.parametrize(
    ("locale", "subject", "words"),
    [
        (
            "en",
            "Your e-mail address for the Steuerkanzlei Berger & Partner client portal was changed",
            [
                "On 27 November 2026, 3:05 pm (Europe/Berlin), Steuerkanzlei Berger & Partner changed",
                "the Steuerkanzlei Berger & Partner client portal uses the address a***@example.net",
                "please contact Steuerkanzlei Berger & Partner at once",
            ],
        ),
        (
            "de",
            "Ihre E-Mail-Adresse für das Mandantenportal Steuerkanzlei Berger & Partner wurde geändert",
            [
                "Am 27. November 2026, 15:05 Uhr (Europe/Berlin) hat Steuerkanzlei Berger & Partner",
                "verwendet ab jetzt die Adresse a***@example.net",
                "wenden Sie sich bitte umgehend an Steuerkanzlei Berger & Partner",
            ],
        ),
    ],
)
def test_it_says_which_portal_uses_which_masked_address_since_when_and_whom_to_contact(
    locale: str, subject: str, words: list[str]
) -> None:
    mail = render("previous_address", locale, **context())
    assert mail.subject == subject
    for word in words:
        assert word in mail.text and word in ParsedHtml(mail.html).text


@pytest.mark.parametrize("locale", ["de", "en"])
def test_it_carries_no_link(locale: str) -> None:
    mail = render("previous_address", locale, **context())
    assert re.findall(r'href="([^"]+)"', mail.html) == []
    assert "http" not in mail.text and "#token=" not in mail.html + mail.text
