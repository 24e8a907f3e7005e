"""The client help article (GET /help/reset-email) through the template-driven gateway, and the
links to it from the hosted reset page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from support.api import Api, gateway
from support.html_parsing import ParsedHtml
from support.pages import assert_hosted_page
from support.samples import load_event

ASSETS_DIR = Path(__file__).resolve().parents[2] / "templates" / "pages" / "assets"
HEADINGS = {
    "de": "Keine E-Mail zum Zurücksetzen Ihres Passworts erhalten?",
    "en": "Didn't get the e-mail to reset your password?",
}
# The ids the browser tests and help.js rely on.
DOM_CONTRACT_IDS = {
    "help-data",
    "help-heading",
    "step-address",
    "step-spam",
    "step-sender",
    "step-new-link",
    "sender-address",
    "request-form",
    "request-email",
    "request-submit",
    "request-result",
    "other-language",
}


def help_html(api: Api, query: str = "", accept_language: str | None = None) -> str:
    headers = {"Accept": "text/html"}
    if accept_language is not None:
        headers["Accept-Language"] = accept_language
    result = api.get(f"/help/reset-email{query}", headers=headers)
    assert result.status == 200, result.body
    return str(result.body)


def get_help(api: Api, query: str = "", accept_language: str | None = None) -> ParsedHtml:
    return ParsedHtml(help_html(api, query, accept_language))


def test_the_article_has_the_reset_pages_security_headers(api: Api) -> None:
    result = api.get("/help/reset-email", headers={"Accept-Language": "de-DE,de;q=0.9"})

    assert_hosted_page(result, DOM_CONTRACT_IDS)
    assert result.header("Content-Language") == "de"


@pytest.mark.parametrize(
    ("query", "accept_language", "locale"),
    [
        ("", "de-DE,de;q=0.9,en;q=0.8", "de"),
        ("", "en-GB,en;q=0.9", "en"),
        ("", None, "en"),
        ("?lang=de", "en-GB", "de"),  # the link in a German mail wins over an English browser
        ("?lang=en", "de-DE", "en"),
        ("?lang=fr", "de-DE", "de"),  # an unsupported choice falls back to the browser's
    ],
)
def test_the_language_comes_from_lang_or_the_browser(
    api: Api, query: str, accept_language: str | None, locale: str
) -> None:
    page = get_help(api, query, accept_language)

    assert page.lang == locale
    assert HEADINGS[locale] in page.text
    assert page.script_json("help-data")["locale"] == locale


def test_the_other_language_is_one_link_away(api: Api) -> None:
    page = get_help(api, "?lang=de")

    [switch] = [attrs for _, attrs in page.elements if attrs.get("id") == "other-language"]
    assert (switch["href"], switch["lang"]) == ("?lang=en", "en")
    assert HEADINGS["en"] in get_help(api, switch["href"]).text


@pytest.mark.parametrize("locale", ["de", "en"])
def test_the_steps_come_in_the_articles_order_and_name_the_configured_sender(api: Api, locale: str) -> None:
    page = get_help(api, f"?lang={locale}")

    steps = [
        attrs["id"] for tag, attrs in page.elements if tag == "li" and attrs.get("id", "").startswith("step-")
    ]
    assert steps == ["step-address", "step-spam", "step-sender", "step-new-link"]
    words = {
        "de": ("Tippfehler", "Spam-Ordner", "sicherer Absender"),
        "en": ("typos", "spam", "safe senders"),
    }
    for word in words[locale]:
        assert word in page.text
    assert '<code id="sender-address">no-reply@portal.example.com</code>' in help_html(api, f"?lang={locale}")


@pytest.fixture
def other_sender(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from pwreset.api.help_page import render_help_page
    from pwreset.core.config import settings

    sender = "Kanzlei-Portal+reset@mail.example.org"
    monkeypatch.setenv("SENDER_ADDRESS", sender)
    settings.cache_clear()
    render_help_page.cache_clear()
    yield sender
    monkeypatch.undo()
    settings.cache_clear()
    render_help_page.cache_clear()


def test_the_sender_is_whatever_is_configured_shown_verbatim(api: Api, other_sender: str) -> None:
    html = help_html(api, "?lang=de")

    assert re.findall(r'<code id="sender-address">([^<]*)</code>', html) == [other_sender]


def test_the_article_runs_no_inline_code_or_style(api: Api) -> None:
    page = get_help(api)

    assert [attrs.get("id") for attrs, _ in page.scripts if attrs.get("type") == "application/json"] == [
        "help-data"
    ]
    code_scripts = [(attrs, text) for attrs, text in page.scripts if attrs.get("type") != "application/json"]
    assert code_scripts, "the article loads its script"
    for attrs, text in code_scripts:
        assert attrs.get("src") and text.strip() == ""
    for tag, attrs in page.elements:
        assert tag != "style"
        assert "style" not in attrs, f"inline style on <{tag}> is blocked by the CSP"
        assert not [name for name in attrs if name.startswith("on")], f"inline handler on <{tag}>"


@pytest.mark.parametrize(
    ("page_url", "api_root"),
    [
        ("http://127.0.0.1:3000/help/reset-email", "/"),
        ("https://abcdef1234.execute-api.eu-central-1.amazonaws.com/dev/help/reset-email", "/dev/"),
        ("https://portal.example.com/help/reset-email", "/"),
    ],
)
def test_the_form_and_the_assets_reach_the_api_with_and_without_a_stage(
    api: Api, page_url: str, api_root: str
) -> None:
    page = get_help(api)
    script = page.url("script", "src", ".js")
    styles = [
        attrs["href"] for tag, attrs in page.elements if tag == "link" and attrs.get("rel") == "stylesheet"
    ]
    request = page.script_json("help-data")["api"]["request"]

    for url in (script, *styles, request):
        assert not urlsplit(url).scheme and not url.startswith("/"), f"{url} must be relative"
    assert urlsplit(urljoin(page_url, request)).path == f"{api_root}v1/password-resets"
    for url in (script, *styles):
        path = urlsplit(urljoin(page_url, url)).path
        assert re.fullmatch(rf"{api_root}reset/assets/(help|reset)\.[0-9a-f]{{16}}\.(js|css)", path), path
        served = api.get("/" + path.removeprefix(api_root))
        assert served.status == 200
        assert served.header("Cache-Control") == "public, max-age=31536000, immutable"
        stem, _, extension = path.rsplit("/", 1)[1].split(".")
        assert served.raw.body == (ASSETS_DIR / f"{stem}.{extension}").read_bytes()


def test_what_the_form_sends_is_accepted(api: Api) -> None:
    """help.js posts JSON with the address and the article's language: the public route's 202."""
    script = (ASSETS_DIR / "help.js").read_text(encoding="utf-8")
    assert '"Content-Type": "application/json"' in script
    assert "JSON.stringify({ email: address, locale: data.locale })" in script

    answer = api.post("/v1/password-resets", {"email": "someone@example.com", "locale": "de"})

    assert (answer.status, answer.body) == (202, {"status": "accepted"})


def test_with_a_trailing_slash_the_urls_still_reach_the_api() -> None:
    event = load_event("reset_page_help.json")
    event["path"] = "/help/reset-email/"

    response = gateway().runner.invoke("ResetPageFunction", event)

    assert response["statusCode"] == 200
    page = ParsedHtml(response["body"])
    page_url = "https://abcdef1234.execute-api.eu-central-1.amazonaws.com/dev/help/reset-email/"
    request = page.script_json("help-data")["api"]["request"]
    assert urlsplit(urljoin(page_url, request)).path == "/dev/v1/password-resets"


def test_the_sample_event_asks_for_english_in_a_german_browser() -> None:
    response = gateway().runner.invoke("ResetPageFunction", load_event("reset_page_help.json"))

    assert response["statusCode"] == 200
    page = ParsedHtml(response["body"])
    assert page.lang == "en"
    assert HEADINGS["en"] in page.text


def test_a_forged_host_header_changes_no_url(api: Api) -> None:
    result = api.get(
        "/help/reset-email", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    )

    assert result.status == 200
    assert "evil.example" not in result.body


# --------------------------------------------------------------------------- the reset page links here


@pytest.mark.parametrize(("accept_language", "locale"), [("de-DE", "de"), ("en-GB", "en")])
def test_the_reset_pages_new_link_section_links_the_article_in_its_language(
    api: Api, accept_language: str, locale: str
) -> None:
    html = str(api.get("/reset", headers={"Accept-Language": accept_language}).body)
    page = ParsedHtml(html)

    [link] = [attrs for _, attrs in page.elements if attrs.get("id") == "help-link"]
    assert link["href"] == f"help/reset-email?lang={locale}"
    assert urlsplit(urljoin("https://portal.example.com/reset", link["href"])).path == "/help/reset-email"
    # It sits in the section shown for invalid, expired, used and revoked links.
    assert re.search(r'id="request-new"[^>]*>(?:(?!</section>).)*id="help-link"', html, re.S)
    assert api.get("/help/reset-email", headers={"Accept": "text/html"}).status == 200


def test_lang_given_twice_is_a_400_in_the_contract_shape(api: Api) -> None:
    result = api.get("/help/reset-email?lang=de&lang=en", headers={"Accept-Language": "de"})

    assert (result.status, result.error_code) == (400, "invalid_request")
    assert result.body["error"]["fields"] == ["lang"]
