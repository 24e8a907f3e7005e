"""Firms are white-label, through the template-driven gateway under moto: the CRM provisions a
firm's portal, sender name, contact and brand (and reads them back); every mail to the firm's
clients comes from the firm and looks like it, staff mails keep the platform's look; verify names
the firm whose brand the hosted page shows; a confirm lands the client in the firm's portal; the
help article names the firm's contact.

The demo firms (``local/demo_data.json``): Berger is branded dark (#0f4c3a, white text) and sends as
"Kanzlei Berger – Mandantenservice"; a firm without white-label fields is created here.
"""

from __future__ import annotations

import email.utils
import os
import re
from collections.abc import Callable
from email.header import decode_header, make_header
from typing import Any

import pytest

from support.api import Api
from support.demo_accounts import ANNA, OWNER
from support.html_parsing import ParsedHtml
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import SesSpy, html_of, sent_messages, tags, text_of, token_from

SENDER = os.environ["SENDER_ADDRESS"]
BERGER = "firm-berger"
NEW_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
BERGER_SITE = "https://portal.example.com"  # the configured reset page's site (devstack.seed)
BERGER_CONTACT = {"email": "mandanten@berger-steuer.example", "phone": "+49 6221 123450"}
BERGER_LOGO = f"{BERGER_SITE}/_dev/brand/berger.png"
BERGER_PORTAL = f"{BERGER_SITE}/_dev/portal?firm=firm-berger"
BERGER_SENDER_NAME = "Kanzlei Berger – Mandantenservice"
WHITE_LABEL = {
    "portal_url": "https://mandanten.kanzlei-neu.example/portal",
    "sender_name": "Kanzlei Neu",
    "contact": {"email": "hallo@kanzlei-neu.example", "phone": "+49 30 1234567"},
    "brand": {"logo_url": "https://cdn.kanzlei-neu.example/logo.png", "color": "#F2C14E"},
}


def display_name(from_value: str) -> str:
    return str(make_header(decode_header(email.utils.parseaddr(from_value)[0])))


def address(from_value: str) -> str:
    return email.utils.parseaddr(from_value)[1]


@pytest.fixture
def plain_firm(api: Api, demo: dict[str, Any]) -> str:
    """A firm with no white-label field, and one client of it with a password."""
    assert (
        api.signed("PUT", "/v1/admin/firms/firm-plain", {"name": "Kanzlei Plain", "locale": "en"}).status
        == 201
    )
    paul = api.put_client(
        "acc-plain-client", firm_id="firm-plain", email="paul.plain@example.com", name="Paul Plain"
    )
    assert paul.status == 201, paul.body
    return "acc-plain-client"


def put_firm(api: Api, firm_id: str, **fields: Any) -> Any:
    return api.signed("PUT", f"/v1/admin/firms/{firm_id}", {"name": "Kanzlei Neu", "locale": "de", **fields})


def staff_reset(api: Api, demo: dict[str, Any], client: str = ANNA) -> str:
    return api.staff_link(demo[OWNER], client)


def confirm(api: Api, raw: str) -> Any:
    done = api.post("/v1/password-resets/confirm", {"token": raw, "password": NEW_PASSWORD})
    assert done.status == 200, done.body
    return done.body


# --------------------------------------------------------------------------- provisioning


def test_the_crm_sets_every_white_label_field_and_reads_it_back(api: Api, aws: None) -> None:
    created = put_firm(api, "firm-neu", **WHITE_LABEL)

    expected = {
        "firm_id": "firm-neu",
        "name": "Kanzlei Neu",
        "locale": "de",
        "time_zone": "Europe/Berlin",
        "portal_url": "https://mandanten.kanzlei-neu.example/portal",
        "sender_name": "Kanzlei Neu",
        "contact": {"email": "hallo@kanzlei-neu.example", "phone": "+49 30 1234567"},
        "brand": {"logo_url": "https://cdn.kanzlei-neu.example/logo.png", "color": "#f2c14e"},
    }
    assert (created.status, created.body) == (201, {"firm": expected})
    read = api.signed("GET", "/v1/admin/firms/firm-neu")
    assert (read.status, read.body) == (200, {"firm": expected})
    before = recorded()
    again = put_firm(api, "firm-neu", **WHITE_LABEL)
    assert (again.status, again.body) == (200, {"firm": expected})
    assert_nothing_recorded_since(before)  # the same PUT twice writes nothing


def test_a_field_left_out_keeps_its_value_null_clears_it_and_objects_are_replaced_whole(
    api: Api, aws: None
) -> None:
    put_firm(api, "firm-neu", **WHITE_LABEL)

    kept = put_firm(api, "firm-neu", name="Kanzlei Neu & Co").body["firm"]
    assert (kept["name"], kept["portal_url"], kept["brand"]["color"]) == (
        "Kanzlei Neu & Co",
        WHITE_LABEL["portal_url"],
        "#f2c14e",
    )
    replaced = put_firm(
        api, "firm-neu", contact={"email": "neu@kanzlei-neu.example"}, brand={"color": "#0F4C3A"}
    )
    assert replaced.body["firm"]["contact"] == {"email": "neu@kanzlei-neu.example", "phone": None}
    assert replaced.body["firm"]["brand"] == {"logo_url": None, "color": "#0f4c3a"}
    cleared = put_firm(api, "firm-neu", portal_url=None, sender_name=None, contact=None, brand=None)
    assert {key: cleared.body["firm"][key] for key in ("portal_url", "sender_name", "contact", "brand")} == {
        "portal_url": None,
        "sender_name": None,
        "contact": None,
        "brand": None,
    }
    assert api.signed("GET", "/v1/admin/firms/firm-neu").body == cleared.body


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("portal_url", {"portal_url": "http://portal.kanzlei-neu.example/"}),
        ("portal_url", {"portal_url": "https://crm:secret@portal.kanzlei-neu.example/"}),
        ("portal_url", {"portal_url": "https://portal.kanzlei-neu.example/#/home"}),
        ("portal_url", {"portal_url": "http://127.0.0.1:3000/_dev/portal"}),  # not in a deployed stack
        ("portal_url", {"portal_url": "javascript:alert(document.cookie)"}),
        ("sender_name", {"sender_name": 'Kanzlei "Neu"'}),
        ("sender_name", {"sender_name": "Kanzlei Neu\r\nBcc: everyone@attacker.example"}),
        ("sender_name", {"sender_name": ""}),
        ("name", {"name": "Kanzlei Neu\r\nBcc: everyone@attacker.example"}),
        ("contact.email", {"contact": {"email": "not an address"}}),
        ("contact.email", {"contact": {"email": "a@b.example\r\nBcc: everyone@attacker.example"}}),
        ("contact.email", {"contact": {"phone": "+49 30 1234567"}}),
        ("contact.phone", {"contact": {"email": "hallo@kanzlei-neu.example", "phone": "ring ring"}}),
        ("brand.color", {"brand": {"color": "green"}}),
        ("brand.color", {"brand": {"color": "#0f4c3"}}),
        ("brand.logo_url", {"brand": {"logo_url": "http://cdn.kanzlei-neu.example/logo.png"}}),
        ("brand.logo_url", {"brand": {"logo_url": "https://cdn.kanzlei-neu.example/logo.png#x"}}),
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_changes_nothing(
    api: Api, demo: dict[str, Any], field: str, body: dict[str, Any]
) -> None:
    before_firm = api.signed("GET", f"/v1/admin/firms/{BERGER}").body
    before = recorded()

    result = api.signed(
        "PUT", f"/v1/admin/firms/{BERGER}", {"name": "Steuerkanzlei Berger & Partner", **body}
    )

    assert (result.status, result.error_code) == (400, "invalid_request"), result.body
    assert result.body["error"]["field"] == field
    assert field in result.body["error"]["fields"]
    assert_nothing_recorded_since(before)
    assert api.signed("GET", f"/v1/admin/firms/{BERGER}").body == before_firm


@pytest.mark.usefixtures("loopback_http_allowed")
def test_the_local_stack_allows_loopback_http_addresses(api: Api, aws: None) -> None:
    local = {
        "portal_url": "http://127.0.0.1:3000/_dev/portal",
        "brand": {"logo_url": "http://localhost:3000/x.png"},
    }
    assert put_firm(api, "firm-local", **local).status == 201
    assert (
        put_firm(api, "firm-local", portal_url="http://192.0.2.7/portal").body["error"]["field"]
        == "portal_url"
    )


def test_an_unknown_firm_reads_404(api: Api, aws: None) -> None:
    result = api.signed("GET", "/v1/admin/firms/firm-nowhere")
    assert (result.status, result.error_code) == (404, "firm_not_found")


def test_reading_a_firm_needs_a_signature(api: Api, demo: dict[str, Any]) -> None:
    assert api.get(f"/v1/admin/firms/{BERGER}").status == 403


# --------------------------------------------------------------------------- the mails


def test_a_branded_firms_client_gets_the_mail_from_the_firm(
    api: Api, demo: dict[str, Any], mails: SesSpy
) -> None:
    staff_reset(api, demo)

    [mail] = mails.to(demo[ANNA]["email"], "reset_link")
    assert address(mail["FromEmailAddress"]) == SENDER  # what ses:FromAddress compares
    assert display_name(mail["FromEmailAddress"]) == BERGER_SENDER_NAME
    assert mail["FromEmailAddress"].isascii()  # RFC 2047 for the en dash
    assert mail["ReplyToAddresses"] == [BERGER_CONTACT["email"]]
    page = ParsedHtml(html_of(mail))
    [logo] = page.images
    assert (logo["src"], logo["alt"], logo["height"]) == (BERGER_LOGO, "Steuerkanzlei Berger & Partner", "48")
    assert html_of(mail).count('bgcolor="#0f4c3a"') == 2  # the header and the button
    assert "color:#ffffff; text-decoration:none" in html_of(mail)
    for part in (text_of(mail), page.text):
        assert "Fragen? Wenden Sie sich an Steuerkanzlei Berger & Partner:" in part
        assert "E-Mail: mandanten@berger-steuer.example" in part
        assert "Telefon: +49 6221 123450" in part
    assert "https://portal.example.com/help/reset-email?lang=de&firm=firm-berger" in text_of(mail)


def test_a_firm_without_brand_sends_under_its_name_in_the_platforms_look(
    api: Api, demo: dict[str, Any], plain_firm: str, mails: SesSpy
) -> None:
    body = {"firm_id": "firm-plain", "role": "client", "email": "paula.plain@example.com", "name": "Paula"}
    assert (
        api.signed("PUT", "/v1/admin/accounts/acc-plain-2", {**body, "send_invitation": True}).status == 201
    )

    [mail] = mails.to("paula.plain@example.com", "invitation")
    assert mail["FromEmailAddress"] == f'"Kanzlei Plain" <{SENDER}>'
    assert "ReplyToAddresses" not in mail
    assert ParsedHtml(html_of(mail)).images == []
    assert 'bgcolor="#1d4ed8"' in html_of(mail)
    assert "Questions? Contact" not in text_of(mail)


def test_after_a_change_the_client_hears_from_the_firm_and_the_owners_from_the_platform(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    confirm(api, staff_reset(api, demo))
    stream()

    [holder] = mails.to(demo[ANNA]["email"], "password_changed_holder")
    assert display_name(holder["FromEmailAddress"]) == BERGER_SENDER_NAME
    assert holder["ReplyToAddresses"] == [BERGER_CONTACT["email"]]
    assert BERGER_LOGO in html_of(holder) and "Telefon: +49 6221 123450" in text_of(holder)
    [owner] = mails.to(demo[OWNER]["email"], "password_changed_owner")
    assert owner["FromEmailAddress"] == SENDER and "ReplyToAddresses" not in owner
    assert ParsedHtml(html_of(owner)).images == [] and "#0f4c3a" not in html_of(owner)
    assert "mandanten@berger-steuer.example" not in text_of(owner)


def test_the_lock_notice_to_the_client_comes_from_the_firm_too(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    confirm(api, staff_reset(api, demo))
    stream()
    [changed] = mails.to(demo[ANNA]["email"], "password_changed_holder")
    [lock_token] = set(re.findall(r"#lock=([A-Za-z0-9_-]{43})", text_of(changed)))
    assert api.post("/v1/account-locks", {"token": lock_token}).status == 200
    stream()

    [notice] = mails.to(demo[ANNA]["email"], "account_locked_holder")
    assert display_name(notice["FromEmailAddress"]) == BERGER_SENDER_NAME
    assert notice["ReplyToAddresses"] == [BERGER_CONTACT["email"]]
    assert "Telefon: +49 6221 123450" in text_of(notice)
    [owner] = mails.to(demo[OWNER]["email"], "account_locked_owner")
    assert owner["FromEmailAddress"] == SENDER and "ReplyToAddresses" not in owner


def test_a_stored_name_with_a_line_break_never_reaches_a_header(
    api: Api, demo: dict[str, Any], mails: SesSpy
) -> None:
    """What the API refuses (above) might still be in the table (an older write, a hand edit): the
    mail's From is built so that it cannot start a header of its own."""
    from pwreset.storage.models import Firm

    firm = Firm.get(BERGER)
    firm.update(
        actions=[Firm.sender_name.set("Evil\r\nBcc: everyone@attacker.example"), Firm.name.set("E\nvil")]
    )

    staff_reset(api, demo)

    [mail] = mails.to(demo[ANNA]["email"], "reset_link")
    assert "\r" not in mail["FromEmailAddress"] and "\n" not in mail["FromEmailAddress"]
    assert [a for _, a in email.utils.getaddresses([mail["FromEmailAddress"]])] == [SENDER]
    assert mail["Destination"] == {"ToAddresses": [demo[ANNA]["email"]]}
    assert "everyone@attacker.example" not in str(mail.get("ReplyToAddresses"))
    assert tags(mail)["kind"] == "reset_link"


# --------------------------------------------------------------------------- page, landing, help


def test_verify_names_the_firm_whose_brand_the_page_shows(api: Api, demo: dict[str, Any]) -> None:
    verified = api.post("/v1/password-resets/verify", {"token": staff_reset(api, demo)})

    assert verified.status == 200
    assert verified.body["firm"] == {
        "firm_id": BERGER,
        "name": "Steuerkanzlei Berger & Partner",
        "logo_url": BERGER_LOGO,
        "color": "#0f4c3a",
        "contact": BERGER_CONTACT,
    }


def test_verify_of_a_firm_without_brand_names_it_with_nulls(
    api: Api, demo: dict[str, Any], plain_firm: str
) -> None:
    raw = staff_reset_by_provisioning(api, plain_firm)
    verified = api.post("/v1/password-resets/verify", {"token": raw})
    assert verified.body["firm"] == {
        "firm_id": "firm-plain",
        "name": "Kanzlei Plain",
        "logo_url": None,
        "color": None,
        "contact": None,
    }


def staff_reset_by_provisioning(api: Api, account_id: str) -> str:
    """A link for an account without a password: the CRM's invitation."""
    body = api.signed("GET", f"/v1/admin/accounts/{account_id}").body["account"]
    fields = {k: body[k] for k in ("firm_id", "role", "email", "name")}
    assert (
        api.signed("PUT", f"/v1/admin/accounts/{account_id}", {**fields, "send_invitation": True}).status
        == 200
    )
    return token_from(sent_messages()[-1])


def test_a_confirm_lands_in_the_firms_portal_never_where_the_request_says(
    api: Api, demo: dict[str, Any]
) -> None:
    raw = staff_reset(api, demo)
    done = api.post(
        "/v1/password-resets/confirm",
        {"token": raw, "password": NEW_PASSWORD, "redirect_url": "https://evil.example/"},
        headers={
            "Host": "evil.example",
            "X-Forwarded-Host": "evil.example",
            "Referer": "https://evil.example/",
        },
    )
    assert done.status == 200, done.body
    assert done.body["redirect_url"] == BERGER_PORTAL


def test_a_firm_without_a_portal_lands_in_the_configured_one(
    api: Api, demo: dict[str, Any], plain_firm: str
) -> None:
    assert (
        confirm(api, staff_reset_by_provisioning(api, plain_firm))["redirect_url"] == os.environ["PORTAL_URL"]
    )


def help_article(api: Api, query: str) -> Any:
    return api.get(f"/help/reset-email{query}", headers={"Accept": "text/html"})


def test_the_help_article_names_the_firms_contact(api: Api, demo: dict[str, Any]) -> None:
    result = help_article(api, f"?lang=de&firm={BERGER}")

    assert result.status == 200
    page = ParsedHtml(result.body)
    assert "Fragen? Wenden Sie sich an Steuerkanzlei Berger & Partner:" in page.text
    assert {"mailto:mandanten@berger-steuer.example", "tel:+496221123450"} <= set(page.hrefs)
    # The article in the other language keeps naming the firm.
    assert "?lang=en&firm=firm-berger" in page.hrefs


@pytest.mark.parametrize("firm", ["firm-nowhere", "firm-plain", "firm%20with%20spaces", "x" * 200])
def test_an_unknown_firm_or_one_without_contact_gets_the_neutral_article(
    api: Api, demo: dict[str, Any], plain_firm: str, firm: str
) -> None:
    neutral = help_article(api, "?lang=en")
    result = help_article(api, f"?lang=en&firm={firm}")

    assert (result.status, result.body) == (neutral.status, neutral.body)
    assert "Questions? Contact" not in result.body
