"""Adding a language is one catalog plus one entry in the supported list (docs/i18n.md).

A throwaway Dutch catalog, started the way the docs say (``python -m buildsteps.catalogs init nl``,
here into a copy of the catalogs) and "translated" by marking every text, then ``nl`` added to
``SUPPORTED_LOCALES``: the API's errors, a reset mail, the reset page and the help article speak it,
and nothing else had to change."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from buildsteps import catalogs

from pwreset.api import help_page, pages
from pwreset.core import i18n
from support.api import Api
from support.demo_accounts import ANNA, OWNER
from support.html_parsing import ParsedHtml
from support.sent_mail import message_body, sent_messages

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip


def dutch(text: str) -> str:
    """The throwaway translation: every text marked, its placeholders kept."""
    return f"[nl] {text}"


@pytest.fixture
def with_dutch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    locale_dir = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale_dir, ignore=shutil.ignore_patterns("*.mo"))
    path = catalogs.init("nl", catalogs.extract(), locale_dir)
    catalog = catalogs.read(path)
    for message in catalog:
        if message.id:
            message.string = (
                dutch(message.id) if isinstance(message.id, str) else tuple(map(dutch, message.id))
            )
    path.write_text(catalogs.render(catalog), encoding="utf-8")

    monkeypatch.setattr(i18n, "LOCALE_DIR", locale_dir)
    # The one entry in the supported list.
    monkeypatch.setattr(i18n, "SUPPORTED_LOCALES", (*i18n.SUPPORTED_LOCALES, "nl"))
    forget_rendered()
    yield
    forget_rendered()


def forget_rendered() -> None:
    i18n.reset_catalogs()
    pages.render_reset_page.cache_clear()
    help_page.render_help_page.cache_clear()


def test_the_api_answers_errors_in_the_new_language(with_dutch: None, api: Api, demo: dict[str, Any]) -> None:
    result = api.request(
        "POST", "/v1/password-resets", raw_body=b"{", headers={"Accept-Language": "nl-BE,en;q=0.5"}
    )

    assert result.status == 400
    assert result.body["error"] == {
        "code": "invalid_request",
        "message": dutch("The request is not valid. Please check the fields and try again."),
    }


def test_an_account_in_the_new_language_gets_its_mail_in_it(
    with_dutch: None, api: Api, demo: dict[str, Any]
) -> None:
    boto3.client("dynamodb").update_item(
        TableName=os.environ["ACCOUNTS_TABLE"],
        Key={"account_id": {"S": ANNA}},
        UpdateExpression="SET #locale = :nl",
        ExpressionAttributeNames={"#locale": "locale"},
        ExpressionAttributeValues={":nl": {"S": "nl"}},
    )

    sent = api.post(f"/v1/accounts/{ANNA}/password-reset", token=api.sign_in_as(demo[OWNER]))

    assert sent.status == 202, sent.body
    [mail] = sent_messages()
    html = ParsedHtml(message_body(mail))
    assert mail.subject == dutch("Reset your password – %(firm)s client portal") % {
        "firm": demo[OWNER]["firm_name"]
    }
    assert html.lang == "nl"
    assert dutch("Hello %(name)s,") % {"name": demo[ANNA]["name"]} in html.text
    assert dutch("Reset password") in html.text
    # Its dates and durations too: the catalog's date format, month names, hour cycle ("[nl] 12"
    # is not "12": a 24-hour clock) and plurals.
    expires = datetime.fromisoformat(sent.body["expires_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    month = dutch(MONTHS[expires.month - 1])
    assert f"[nl] {expires.day} {month} {expires.year}, {expires:%H:%M} " in html.text
    assert dutch("%(num)s hours") % {"num": 24} in html.text


def test_the_reset_page_and_the_help_article_speak_it(with_dutch: None, api: Api) -> None:
    page = api.get("/reset", headers={"Accept": "text/html", "Accept-Language": "nl"})
    article = api.get("/help/reset-email?lang=nl", headers={"Accept": "text/html"})
    assert (page.status, article.status) == (200, 200)

    reset = ParsedHtml(str(page.body))
    assert reset.lang == "nl"
    assert dutch("Set a new password") in reset.text
    data = reset.script_json("reset-data")
    assert data["locales"] == ["de", "en", "nl"]
    assert data["texts"]["nl"]["submit"] == dutch("Set new password")
    help_html = ParsedHtml(str(article.body))
    assert help_html.lang == "nl"
    assert dutch("Look in your spam folder") in help_html.text
    # Each other language is one link away, named in its own words.
    links = re.findall(
        r'<a id="([^"]+)" class="language-switch" href="\?lang=(\w+)"[^>]*>([^<]+)</a>', str(article.body)
    )
    assert links == [("other-language", "de", "Deutsch"), ("other-language-en", "en", "English")]
