"""Firms are white-label: the rules of the fields the CRM sets, the colour of the text on a firm's
colour, the From and Reply-To headers (RFC 5322/2047, and never a header of their own from a name
with a line break), and the mails to a firm's clients on the firm's letterhead."""

from __future__ import annotations

import email.policy
import email.utils
import itertools
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import boto3
import jsonschema_rs
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from pwreset.accounts import firms
from pwreset.core.config import settings
from pwreset.mail.brand import (
    PLATFORM_BUTTON_BACKGROUND,
    Letterhead,
    contrast_ratio,
    from_header,
    letterhead,
    relative_luminance,
    text_color_on,
)
from pwreset.mail.mailer import render, send_email, templates_dir
from pwreset.storage.models import Account, Firm
from support.html_parsing import ParsedHtml

SENDER = "no-reply@portal.example.com"
INJECTION = "Kanzlei Evil\r\nBcc: everyone@attacker.example"


def parsed_from(value: str) -> tuple[str, str, list[str]]:
    """(display name, address, every address) of a From value, as a mail program reads it. The name
    is decoded as RFC 2047 says (the space between two encoded-words is not part of it; Python's
    newer header parser keeps it, its older API does not)."""
    header = HeaderParser(policy=email.policy.default).parsestr(f"From: {value}\n\n")["From"]
    addresses = [address.addr_spec for address in header.addresses]
    name = str(make_header(decode_header(email.utils.parseaddr(value)[0])))
    return name, header.addresses[0].addr_spec, addresses


# ---------------------------------------------------------------------------------------- the fields


@pytest.mark.parametrize(
    "url",
    [
        "https://portal.berger-steuer.example/",
        "https://portal.berger-steuer.example:8443/mandanten?firm=berger&lang=de",
        "https://xn--mller-kva.example/portal",
    ],
)
def test_an_https_address_is_a_web_address(url: str) -> None:
    assert firms.web_address(url) == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://portal.example.com/", "https://"),
        ("javascript:alert(1)", "https://"),
        ("//portal.example.com/", "https://"),
        ("https:///path-without-host", "https://"),
        ("https://user:secret@portal.example.com/", "user name or password"),
        ("https://crm@portal.example.com/", "user name or password"),
        ("https://portal.example.com/#token=abc", "fragment"),
        ("https://portal.example.com/a b", "spaces"),
        (" https://portal.example.com/", "spaces"),
        ("https://portal.example.com/ümlaut", "https://"),  # a path is percent-encoded
        ("https://portal.example.com/\r\nX-Evil: 1", "control characters"),
        ('https://portal.example.com/"onerror="x', "quotes"),
        ("https://portal.example.com:99999/", "port"),
        ("https://" + "a" * 2050 + ".example/", "2048"),
        ("http://127.0.0.1:3000/_dev/portal", "https://"),  # loopback only where the stack allows it
    ],
)
def test_anything_else_is_refused_saying_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        firms.web_address(url)


@pytest.mark.usefixtures("loopback_http_allowed")
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:3000/_dev/portal?firm=x", "http://localhost:8000/logo.png"]
)
def test_loopback_http_is_a_web_address_where_the_local_stack_allows_it(url: str) -> None:
    assert firms.web_address(url) == url


@pytest.mark.usefixtures("loopback_http_allowed")
@pytest.mark.parametrize("url", ["http://10.0.0.5/", "http://127.0.0.1.example.com/", "http://[::1]/"])
def test_other_http_hosts_stay_refused_on_the_local_stack(url: str) -> None:
    with pytest.raises(ValueError, match=re.escape("127.0.0.1 or http://localhost")):
        firms.web_address(url)


def test_the_template_never_allows_loopback_http() -> None:
    assert settings().allow_loopback_http_urls is False


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ('Kanzlei "Am Markt"', "quotes"),
        ("Kanzlei \\ Markt", "backslashes"),
        (INJECTION, "line breaks"),
        ("Kanzlei\nBerger", "line breaks"),
        ("Kanzlei\u2028Berger", "line breaks"),  # Unicode's line separator
        ("Kanzlei \u202eregreB", "control characters"),  # a right-to-left override
        ("", "between 1 and 100"),
        ("   ", "between 1 and 100"),
        ("x" * 101, "between 1 and 100"),
        (" Kanzlei Berger", "either end"),
    ],
)
def test_a_sender_name_that_could_change_the_header_is_refused(name: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        firms.sender_name(name)


@pytest.mark.parametrize(
    "name", ["Kanzlei Berger – Mandantenservice", "Müller & Söhne", "O'Brien Tax", "李会计"]
)
def test_a_sender_name_may_hold_any_printable_text(name: str) -> None:
    assert firms.sender_name(name) == name


def test_a_firm_name_may_quote_but_never_break_a_line() -> None:
    assert firms.firm_name(' Steuerkanzlei "Am Markt" ') == 'Steuerkanzlei "Am Markt"'
    for bad in (INJECTION, "   "):
        with pytest.raises(ValueError, match="line breaks"):
            firms.firm_name(bad)


# The document states each rule as the field's pattern; the rule is that pattern, so what the
# document calls valid is accepted and nothing else (the fuzzer holds the API to it too).
@given(st.text(max_size=60))
def test_a_sender_name_is_accepted_exactly_when_it_matches_the_documented_pattern(name: str) -> None:
    matches = re.fullmatch(firms.SENDER_NAME_PATTERN, name) is not None
    try:
        firms.sender_name(name)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert accepted == matches
    if accepted:
        assert not any(char in name for char in '"\\\r\n\u2028\u202e')


URI_FORMAT = jsonschema_rs.validator_for({"type": "string", "format": "uri"}, validate_formats=True)


@given(st.from_regex(firms.WEB_ADDRESS_PATTERN, fullmatch=True))
def test_every_address_the_document_calls_valid_is_a_web_address_and_a_uri(url: str) -> None:
    """The document also says "format": "uri" (what the fuzzer checks with jsonschema-rs)."""
    if len(url) <= firms.MAX_URL_LENGTH:
        assert firms.web_address(url) == url
        assert URI_FORMAT.is_valid(url)


@pytest.mark.parametrize(("raw", "color"), [("#0F4C3A", "#0f4c3a"), ("#f2c14e", "#f2c14e")])
def test_a_colour_is_rrggbb_lower_cased(raw: str, color: str) -> None:
    assert firms.brand_color(raw) == color


@pytest.mark.parametrize("raw", ["red", "#fff", "#12345g", "0f4c3a", "#0f4c3a ", "rgb(0,0,0)"])
def test_anything_but_rrggbb_is_no_colour(raw: str) -> None:
    with pytest.raises(ValueError, match="#rrggbb"):
        firms.brand_color(raw)


@pytest.mark.parametrize("raw", ["+49 6221 123450", "(030) 123-456", "+43/1/234.5670"])
def test_a_phone_number_is_digits_and_separators(raw: str) -> None:
    assert firms.phone_number(raw) == raw


@pytest.mark.parametrize("raw", ["call us", "+49 6221\n123", "12", "+49 (0) 6221 <b>"])
def test_anything_else_is_no_phone_number(raw: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        firms.phone_number(raw)


# ---------------------------------------------------------------------------------------- colour


def test_relative_luminance_and_contrast_follow_wcag() -> None:
    assert relative_luminance("#000000") == 0 and relative_luminance("#ffffff") == pytest.approx(1)
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21)
    # Published pairs: #767676 is the lightest grey with 4.5:1 on white, #777777 just misses it.
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(
    ("color", "text"),
    [
        ("#0f4c3a", "#ffffff"),  # the dark demo firm (Berger)
        ("#f2c14e", "#000000"),  # the light demo firm (Hartmann)
        ("#1d4ed8", "#ffffff"),
        ("#ffff00", "#000000"),
        ("#777777", "#000000"),  # white would be 4.48:1, black is 4.69:1
    ],
)
def test_the_text_on_a_colour_is_black_or_white_whichever_contrasts_more(color: str, text: str) -> None:
    assert text_color_on(color) == text


@given(st.integers(min_value=0, max_value=0xFFFFFF))
def test_the_text_on_any_colour_reaches_4_5_to_1(value: int) -> None:
    color = f"#{value:06x}"
    assert contrast_ratio(color, text_color_on(color)) >= 4.5


# ---------------------------------------------------------------------------------------- headers


def test_an_ascii_display_name_is_a_quoted_string() -> None:
    value = from_header("Steuerkanzlei Berger & Partner", SENDER)
    assert value == f'"Steuerkanzlei Berger & Partner" <{SENDER}>'
    assert parsed_from(value)[:2] == ("Steuerkanzlei Berger & Partner", SENDER)


def test_quotes_and_backslashes_in_a_stored_name_are_escaped() -> None:
    value = from_header('Kanzlei "Am Markt" \\ Co', SENDER)
    assert value == f'"Kanzlei \\"Am Markt\\" \\\\ Co" <{SENDER}>'
    assert parsed_from(value)[:2] == ('Kanzlei "Am Markt" \\ Co', SENDER)


@pytest.mark.parametrize(
    "name", ["Müller", "Kanzlei Berger – Mandantenservice", "李会计师事务所", "Steuerbüro " + "Ä" * 90]
)
def test_a_non_ascii_display_name_is_rfc_2047_encoded_words(name: str) -> None:
    value = from_header(name, SENDER)
    assert value.isascii() and "\n" not in value and "\r" not in value
    words = value.rsplit(" <", 1)[0].split(" ")
    assert all(word.startswith("=?utf-8?") and word.endswith("?=") and len(word) <= 75 for word in words)
    assert parsed_from(value)[:2] == (name[:100], SENDER)


def test_without_a_name_from_is_the_bare_address() -> None:
    assert from_header(None, SENDER) == SENDER
    assert from_header(" \r\n ", SENDER) == SENDER


def test_a_name_with_a_line_break_never_makes_a_header_of_its_own() -> None:
    value = from_header(INJECTION, SENDER)

    assert "\r" not in value and "\n" not in value
    name, address, addresses = parsed_from(value)
    assert (name, address, addresses) == ("Kanzlei Evil Bcc: everyone@attacker.example", SENDER, [SENDER])


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def sent_request(mail: Any) -> dict[str, Any]:
    """What :func:`send_email` asks SES for (checked against SESv2's API model by the stubber)."""
    client = boto3.client("sesv2", region_name="eu-central-1")
    seen: dict[str, Any] = {}
    with Stubber(client) as stubber:
        stubber.add_response("send_email", {"MessageId": "0100-abc"})
        client.meta.events.register(
            "before-parameter-build.sesv2.SendEmail", lambda params, **_: seen.update(params)
        )
        send_email(client, sender=SENDER, to="anna@example.com", mail=mail, configuration_set=None, tags={})
    return seen


@pytest.mark.usefixtures("aws_env")
def test_the_send_defends_the_headers_again_whatever_the_letterhead_says() -> None:
    """A letterhead built by hand (not through the checks) still cannot put a header into a mail."""
    hostile = Letterhead(
        firm_name=INJECTION,
        sender_name=INJECTION,
        reply_to=(
            "info@kanzlei.example\r\nBcc: everyone@attacker.example",
            "not an address",
            "info@kanzlei.example",
        ),
    )
    mail = render("reset_link", "en", letterhead=hostile, **link_context())

    request = sent_request(mail)

    assert "\r" not in request["FromEmailAddress"] and "\n" not in request["FromEmailAddress"]
    assert parsed_from(request["FromEmailAddress"])[2] == [SENDER]
    assert request["ReplyToAddresses"] == ["info@kanzlei.example"]
    assert request["Destination"] == {"ToAddresses": ["anna@example.com"]}
    assert "\n" not in request["Content"]["Simple"]["Subject"]["Data"]


@pytest.mark.usefixtures("aws_env")
def test_a_staff_mail_has_the_bare_sender_and_no_reply_to() -> None:
    request = sent_request(
        render("reset_link", "en", letterhead=Letterhead("Kanzlei Berger"), **link_context())
    )
    assert request["FromEmailAddress"] == SENDER
    assert "ReplyToAddresses" not in request


# ---------------------------------------------------------------------------------------- letterheads


def firm(**fields: Any) -> Firm:
    values = {"name": "Steuerkanzlei Berger & Partner", "locale": "de", "timezone": "Europe/Berlin", **fields}
    return Firm("firm-berger", **values)


def reader(role: str) -> Account:
    return Account("acc-x", firm_id="firm-berger", role=role, email="x@example.com", name="X")


BRANDED = {
    "sender_name": "Kanzlei Berger – Mandantenservice",
    "contact_email": "mandanten@berger-steuer.example",
    "contact_phone": "+49 6221 123450",
    "logo_url": "https://cdn.berger-steuer.example/logo.png",
    "brand_color": "#0f4c3a",
}


def test_a_client_gets_the_firms_letterhead() -> None:
    head = letterhead(firm(**BRANDED), reader("client"))
    assert head == Letterhead(
        firm_name="Steuerkanzlei Berger & Partner",
        sender_name="Kanzlei Berger – Mandantenservice",
        reply_to=("mandanten@berger-steuer.example",),
        logo_url="https://cdn.berger-steuer.example/logo.png",
        color="#0f4c3a",
        contact_email="mandanten@berger-steuer.example",
        contact_phone="+49 6221 123450",
        firm_id="firm-berger",
    )
    assert (head.header_background, head.header_text, head.button_text) == ("#0f4c3a", "#ffffff", "#ffffff")


def test_a_client_of_a_firm_without_brand_gets_the_firms_name_as_sender_and_the_platforms_look() -> None:
    head = letterhead(firm(), reader("client"))
    assert (head.sender_name, head.reply_to, head.logo_url, head.color) == (
        "Steuerkanzlei Berger & Partner",
        (),
        None,
        None,
    )
    assert head.button_background == PLATFORM_BUTTON_BACKGROUND


@pytest.mark.parametrize("role", ["owner", "member"])
def test_staff_keep_the_platforms_letterhead(role: str) -> None:
    assert letterhead(firm(**BRANDED), reader(role)) == Letterhead("Steuerkanzlei Berger & Partner")


def test_stored_values_that_break_the_rules_are_left_out_of_a_letterhead() -> None:
    head = letterhead(
        firm(name=INJECTION, brand_color="red;background:url(x)", logo_url="javascript:alert(1)"),
        reader("client"),
    )
    assert (head.color, head.logo_url) == (None, None)
    assert head.sender_name == "Kanzlei Evil Bcc: everyone@attacker.example"


# ---------------------------------------------------------------------------------------- the mails


def link_context(**overrides: Any) -> dict[str, Any]:
    return {
        "recipient_name": "Anna Schmidt",
        "link": "https://portal.example.com/reset#token=" + "A" * 43,
        "expires_at": datetime(2026, 1, 15, 13, 5, tzinfo=UTC),
        "timezone": "Europe/Berlin",
        "lifetime_seconds": 3600,
        "requested_by_name": None,
        **overrides,
    }


def mail_contexts() -> dict[str, dict[str, Any]]:
    """A context for every mail there is (the other mail tests' own), so a mail added later fails
    here until it has one: and then shows it is on the letterhead too."""
    from test_access_granted_mail import context as access_context
    from test_account_locked_mails import context as locked_context
    from test_password_changed_mails import context as changed_context
    from test_previous_address_mail import context as previous_context

    changed = changed_context(lock_link="https://portal.example.com/reset#lock=" + "L" * 43)
    contexts = {
        "reset_link": link_context(),
        "invitation": link_context(),
        "password_changed_holder": changed,
        "password_changed_owner": changed,
        "account_locked_holder": locked_context(),
        "account_locked_owner": locked_context(),
        "access_granted": access_context(),
        "previous_address": previous_context(),
    }
    for context in contexts.values():
        context.pop("letterhead", None)
    return contexts


def every_mail() -> list[str]:
    folder = templates_dir() / "mail"
    return sorted(
        {path.name.split(".")[0] for path in Path(folder).iterdir() if not path.name.startswith("_")}
    )


def test_every_mail_has_a_context_here() -> None:
    assert every_mail() == sorted(mail_contexts())


@pytest.mark.parametrize("name", every_mail())
def test_every_name_in_every_mail_is_escaped_in_html_and_plain_in_text(name: str) -> None:
    """The firm's, the reader's, the holder's and the requester's names come from the CRM or a
    staff member: markup in them is shown as text, never run."""
    evil = '<script>alert("x")</script> & Co'
    context = mail_contexts()[name]
    names = {key: evil for key in context if key.endswith("_name") and isinstance(context[key], str)}
    mail = render(name, "en", letterhead=Letterhead(evil), **{**context, **names})
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert evil in mail.text


CLIENT = letterhead(firm(**BRANDED), reader("client"))


@pytest.mark.parametrize(("name", "locale"), list(itertools.product(every_mail(), ["de", "en"])))
def test_every_mail_on_a_clients_letterhead_shows_the_firm(name: str, locale: str) -> None:
    mail = render(name, locale, letterhead=CLIENT, **mail_contexts()[name])
    page = ParsedHtml(mail.html)

    assert page.errors == [] and page.stack == []
    [logo] = [img for img in page.images if img["src"] == BRANDED["logo_url"]]
    assert logo["alt"] == "Steuerkanzlei Berger & Partner" and logo["height"] == "48"
    assert "max-height:48px" in logo["style"].replace(" ", "")
    assert 'bgcolor="#0f4c3a"' in mail.html and "color:#ffffff" in mail.html.replace(" ", "")
    lead = {"de": "Fragen? Wenden Sie sich an Steuerkanzlei Berger & Partner:", "en": "Questions? Contact"}
    phone = {"de": "Telefon: +49 6221 123450", "en": "Phone: +49 6221 123450"}
    for part in (mail.text, page.text):  # the text part carries the same facts
        assert lead[locale] in part
        assert "mandanten@berger-steuer.example" in part
        assert phone[locale] in part
    assert "mailto:mandanten@berger-steuer.example" in page.hrefs
    assert "tel:+496221123450" in page.hrefs
    assert (mail.sender_name, mail.reply_to) == (
        "Kanzlei Berger – Mandantenservice",
        ("mandanten@berger-steuer.example",),
    )


@pytest.mark.parametrize("name", every_mail())
def test_every_mail_on_the_platforms_letterhead_looks_as_before(name: str) -> None:
    mail = render(
        name, "en", letterhead=Letterhead("Steuerkanzlei Berger & Partner"), **mail_contexts()[name]
    )

    assert ParsedHtml(mail.html).images == []
    assert "Questions? Contact" not in mail.text + mail.html and "mailto:" not in mail.html
    assert 'bgcolor="#ffffff"' in mail.html
    assert (mail.sender_name, mail.reply_to) == (None, ())


@pytest.mark.parametrize("name", ["reset_link", "invitation", "password_changed_holder"])
def test_the_button_is_in_the_firms_colour_with_the_text_that_contrasts(name: str) -> None:
    light = letterhead(firm(**{**BRANDED, "brand_color": "#F2C14E"}), reader("client"))
    mail = render(name, "en", letterhead=light, **mail_contexts()[name])
    compact = mail.html.replace(" ", "")
    assert 'align="center"bgcolor="#f2c14e"' in compact
    assert "color:#000000;text-decoration:none" in compact  # black on the light colour


def test_the_help_link_of_a_clients_mail_names_the_firm() -> None:
    branded = render("reset_link", "de", letterhead=CLIENT, **link_context())
    plain = render("reset_link", "de", letterhead=Letterhead("Kanzlei"), **link_context())
    assert "https://portal.example.com/help/reset-email?lang=de&firm=firm-berger" in branded.text
    assert (
        "https://portal.example.com/help/reset-email?lang=de&firm=firm-berger"
        in ParsedHtml(branded.html).hrefs
    )
    assert "https://portal.example.com/help/reset-email?lang=de\n" in plain.text + "\n"


@pytest.mark.parametrize(
    "url", ["https://cdn.example/logo?v=[1]", "https://cdn.example/100%", "https://cdn.example/%zz"]
)
def test_a_path_or_query_holds_only_what_rfc_3986_allows_there(url: str) -> None:
    with pytest.raises(ValueError):
        firms.web_address(url)
    assert firms.web_address("https://cdn.example/m%C3%BCller%20logo.png?v=2&s=a:b@c") is not None
