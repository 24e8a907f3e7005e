"""The hosted reset page (GET /reset) and its assets, through the template-driven gateway."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import boto3
import pytest

from devstack.gateway import LambdaContext
from support.api import Api, gateway
from support.html_parsing import ParsedHtml
from support.pages import assert_hosted_page
from support.samples import load_event
from support.sent_mail import sent_messages, token_from
from support.translations import assert_translated

ASSETS_DIR = Path(__file__).resolve().parents[2] / "templates" / "pages" / "assets"
# The ids the browser tests drive; renaming one breaks them.
DOM_CONTRACT_IDS = {
    "reset-data",
    "state-loading",
    "state-valid",
    "state-invalid",
    "state-expired",
    "state-used",
    "state-archived",
    "state-error",
    "state-done",
    "reset-form",
    "email-hint",
    "expires-at",
    "new-password",
    "repeat-password",
    "toggle-new-password",
    "toggle-repeat-password",
    "rules",
    "match",
    "form-errors",
    "form-error",
    "violations",
    "breached-hint",
    "submit",
    "retry",
    "sign-in",
    "continue",
    "request-new",
    "request-form",
    "request-email",
    "request-submit",
    "request-result",
    # "It wasn't me": a lock link asks first, and only its button locks.
    "state-lock",
    "lock-submit",
    "lock-error",
    "state-locked",
    "state-lock-invalid",
    "state-lock-expired",
    "state-lock-used",
    "state-lock-archived",
}
# Texts the script shows for each state and each outcome; the page must carry them in both languages.
REQUIRED_TEXTS = {
    "page_title",
    "brand",
    "loading",
    "valid_heading",
    "valid_intro",
    "account_label",
    "expires_label",
    "new_password_label",
    "repeat_password_label",
    "show",
    "hide",
    "rules_heading",
    "rule_met",
    "rule_not_met",
    "rule_failed",
    "rule_server",
    "match_ok",
    "match_missing",
    "submit",
    "submitting",
    "error_required",
    "error_mismatch",
    "violations_heading",
    "error_rate_limited",
    "error_network",
    "error_server",
    "done_heading",
    "done_text",
    "done_link",
    "invalid_heading",
    "invalid_text",
    "invalid_next",
    "expired_heading",
    "expired_text",
    "expired_next",
    "used_heading",
    "used_text",
    "used_next",
    "sign_in_link",
    "archived_heading",
    "archived_text",
    "archived_next",
    "error_heading",
    "error_text",
    "error_next",
    "retry",
    "request_heading",
    "request_intro",
    "request_email_label",
    "request_submit",
    "request_sending",
    "request_done",
    "request_invalid_email",
    "request_failed",
    "lock_heading",
    "lock_intro",
    "lock_submit",
    "lock_submitting",
    "locked_heading",
    "locked_next",
    "lock_invalid_heading",
    "lock_expired_heading",
    "lock_used_heading",
    "lock_archived_heading",
}


def get_page(api: Api, accept_language: str | None = None) -> Any:
    headers = {"Accept": "text/html"}
    if accept_language is not None:
        headers["Accept-Language"] = accept_language
    return api.get("/reset", headers=headers)


# --------------------------------------------------------------------------- the page


def test_the_page_is_html_with_the_security_headers(api: Api) -> None:
    result = get_page(api)

    assert_hosted_page(result, DOM_CONTRACT_IDS)


@pytest.mark.parametrize(
    ("accept_language", "locale", "loading_text"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de", "Ihr Link wird geprüft"),
        ("de", "de", "Ihr Link wird geprüft"),
        ("en;q=0.4, de-AT;q=0.8", "de", "Ihr Link wird geprüft"),
        ("en-GB,en;q=0.9", "en", "Checking your link"),
        ("fr-FR,fr;q=0.9", "en", "Checking your link"),
        (None, "en", "Checking your link"),
    ],
)
def test_the_page_speaks_the_browsers_language(
    api: Api, accept_language: str | None, locale: str, loading_text: str
) -> None:
    result = get_page(api, accept_language)

    assert result.status == 200
    assert f'<html lang="{locale}">' in result.body
    assert result.header("Content-Language") == locale
    assert loading_text in result.body
    assert ParsedHtml(result.body).script_json("reset-data")["locale"] == locale


def test_the_page_runs_no_inline_code_or_style(api: Api) -> None:
    page = ParsedHtml(get_page(api).body)

    data_blocks = [attrs for attrs, _ in page.scripts if attrs.get("type") == "application/json"]
    code_scripts = [(attrs, text) for attrs, text in page.scripts if attrs.get("type") != "application/json"]
    assert [attrs.get("id") for attrs in data_blocks] == ["reset-data"]
    assert code_scripts, "the page loads its script"
    for attrs, text in code_scripts:
        assert attrs.get("src"), "a script without src would be inline code, which the CSP blocks"
        assert text.strip() == ""
    for tag, attrs in page.elements:
        assert tag != "style"
        assert "style" not in attrs, f"inline style on <{tag}> is blocked by the CSP"
        assert not [name for name in attrs if name.startswith("on")], f"inline handler on <{tag}>"


def test_the_embedded_texts_cover_every_state_in_both_languages(api: Api) -> None:
    page = ParsedHtml(get_page(api, "de").body)
    texts = page.script_json("reset-data")["texts"]
    shown_by_markup = {attrs["data-i18n"] for _, attrs in page.elements if "data-i18n" in attrs}

    assert_translated(texts, same_in_both=set())
    missing = (REQUIRED_TEXTS | shown_by_markup) - set(texts["de"])
    assert not missing, f"the page lacks {sorted(missing)}"
    assert texts["de"]["submit"] == "Neues Passwort festlegen"
    assert texts["en"]["submit"] == "Set new password"


@pytest.mark.parametrize(
    ("page_url", "api_root"),
    [
        ("http://127.0.0.1:3000/reset", "/"),  # the local stack: no stage
        ("https://abcdef1234.execute-api.eu-central-1.amazonaws.com/dev/reset", "/dev/"),  # a stage
        ("https://portal.example.com/reset", "/"),  # a custom domain mapped at the root
    ],
)
def test_every_url_in_the_page_works_with_and_without_a_stage(api: Api, page_url: str, api_root: str) -> None:
    page = ParsedHtml(get_page(api).body)
    data = page.script_json("reset-data")
    urls = {
        "script": page.url("script", "src", ".js"),
        "style": page.url("link", "href", ".css"),
        **{f"api.{name}": url for name, url in data["api"].items()},
    }

    for url in urls.values():
        assert not urlsplit(url).scheme and not url.startswith("/"), f"{url} must be relative"
    resolved = {name: urlsplit(urljoin(page_url, url)).path for name, url in urls.items()}
    assert resolved["api.verify"] == f"{api_root}v1/password-resets/verify"
    assert resolved["api.confirm"] == f"{api_root}v1/password-resets/confirm"
    assert resolved["api.request"] == f"{api_root}v1/password-resets"
    assert resolved["api.lock"] == f"{api_root}v1/account-locks"
    # The assets, requested where the browser would, are served (the gateway sees no stage).
    for name in ("script", "style"):
        assert resolved[name].startswith(f"{api_root}reset/assets/")
        assert api.get("/" + resolved[name].removeprefix(api_root)).status == 200


def test_with_a_trailing_slash_the_urls_still_reach_the_api() -> None:
    event = load_event("reset_page_get.json")
    event["path"] = "/reset/"
    event["requestContext"]["path"] = "/dev/reset/"

    response = gateway().runner.invoke("ResetPageFunction", event)

    assert response["statusCode"] == 200
    page = ParsedHtml(response["body"])
    page_url = "https://abcdef1234.execute-api.eu-central-1.amazonaws.com/dev/reset/"
    assert (
        urlsplit(urljoin(page_url, page.script_json("reset-data")["api"]["verify"])).path
        == "/dev/v1/password-resets/verify"
    )
    assert urlsplit(urljoin(page_url, page.url("script", "src", ".js"))).path.startswith("/dev/reset/assets/")


def test_the_sample_event_renders_the_german_page() -> None:
    handler = gateway().runner.module("ResetPageFunction").lambda_handler

    response = handler(load_event("reset_page_get.json"), LambdaContext("ResetPageFunction"))

    assert response["statusCode"] == 200
    assert '<html lang="de">' in response["body"]


def test_the_sample_asset_event_serves_the_stylesheet() -> None:
    response = gateway().runner.invoke("ResetPageFunction", load_event("reset_page_asset.json"))

    assert response["statusCode"] == 200
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    headers |= {k.lower(): v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    assert headers["content-type"] == "text/css; charset=utf-8"
    assert response["body"] == (ASSETS_DIR / "reset.css").read_text(encoding="utf-8")


def test_opening_the_page_consumes_nothing(api: Api, demo: dict[str, Any]) -> None:
    api.post("/v1/password-resets", {"email": "anna.schmidt@example.com"})
    raw = token_from(sent_messages()[-1])

    assert get_page(api).status == 200
    assert api.post("/v1/password-resets/verify", {"token": raw}).status == 200
    assert api.post("/v1/password-resets/verify", {"token": raw}).status == 200

    [record] = boto3.client("dynamodb").scan(TableName=os.environ["RESET_TOKENS_TABLE"])["Items"]
    assert record["status"]["S"] == "issued"


# --------------------------------------------------------------------------- assets


@pytest.mark.parametrize(
    ("file_name", "content_type"), [("reset.js", "text/javascript"), ("reset.css", "text/css")]
)
def test_assets_are_served_by_content_hash_and_cached_for_good(
    api: Api, file_name: str, content_type: str
) -> None:
    page = ParsedHtml(get_page(api).body)
    url = page.url("script", "src", ".js") if file_name.endswith(".js") else page.url("link", "href", ".css")
    assert re.fullmatch(r"reset/assets/reset\.[0-9a-f]{16}\.(js|css)", url)

    result = api.get(f"/{url}")

    assert result.status == 200
    assert result.header("Content-Type") == f"{content_type}; charset=utf-8"
    assert result.header("Cache-Control") == "public, max-age=31536000, immutable"
    assert result.header("X-Content-Type-Options") == "nosniff"
    assert result.raw.body == (ASSETS_DIR / file_name).read_bytes()


@pytest.mark.parametrize("name", ["reset.js", "reset.css", "reset.0123456789abcdef.js"])
def test_unversioned_or_outdated_asset_names_are_revalidated(api: Api, name: str) -> None:
    """A page rendered just before a deploy still works, but no stale name is cached for good."""
    result = api.get(f"/reset/assets/{name}")

    assert result.status == 200
    assert result.header("Cache-Control") == "no-cache"


@pytest.mark.parametrize(
    "name",
    [
        "nope.js",
        "reset.html",
        "reset.py",
        "app.py",
        "reset.JS",
        "reset.js.map",
        "reset.abc.js",
        "..%2F..%2Ffunctions%2Freset_page%2Fapp.py",
        "..%2F..%2F..%2Ftemplate.yaml",
        "%2e%2e%2f%2e%2e%2fapp.py",
        "..%252F..%252Fapp.py",
        "..%5C..%5Capp.py",
        "reset.js%00.css",
        "%2Fetc%2Fpasswd",
    ],
)
def test_unknown_assets_and_path_traversal_get_a_404_in_the_contract_shape(api: Api, name: str) -> None:
    result = api.get(f"/reset/assets/{name}")

    assert result.status == 404
    assert result.error_code == "not_found"
    assert result.body["error"]["message"]
    assert result.header("Content-Type") == "application/json"


@pytest.mark.parametrize(
    "path", ["/reset/assets/../../template.yaml", "/reset/assets/a/../../app.py", "/reset/assets/"]
)
def test_paths_outside_the_asset_route_reach_no_function(api: Api, path: str) -> None:
    result = api.get(path)

    assert result.status == 403
    assert result.error_code == "forbidden"


def test_openapi_document_is_served(api: Api) -> None:
    from devstack.openapi import DOCUMENT_PATH

    result = api.get("/v1/openapi.json")
    assert result.status == 200
    assert result.header("Content-Type") == "application/json"
    assert result.body == json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    assert "/v1/password-resets/confirm" in result.body["paths"]


def test_password_fields_are_masked_can_be_shown_and_take_a_password_manager_or_a_paste(api: Api) -> None:
    """ASVS 5.0 6.2.6 and 6.2.7, NIST SP 800-63B-4 3.1.1.2 (#24.13): each new-password field is
    masked (``type=password``), has its own show/hide button, asks a password manager for a new
    password, sets no length cap of its own, and nothing on the page or in its script blocks
    pasting or autofill."""
    page = ParsedHtml(get_page(api).body)
    fields = {
        attrs["id"]: attrs
        for tag, attrs in page.elements
        if tag == "input" and attrs.get("type") == "password"
    }
    assert set(fields) == {"new-password", "repeat-password"}
    for name, attrs in fields.items():
        assert attrs["autocomplete"] == "new-password"
        assert not {"maxlength", "onpaste", "oncopy", "readonly"} & set(attrs), attrs
        [toggle] = [a for t, a in page.elements if t == "button" and a.get("aria-controls") == name]
        assert toggle["id"] == f"toggle-{name}"
    script = (ASSETS_DIR / "reset.js").read_text(encoding="utf-8")
    assert not re.search(r"""["'](paste|copy|drop)["']|onpaste|autocomplete\s*=\s*["']off""", script)
    assert 'input.type = show ? "text" : "password"' in script  # what the button does
