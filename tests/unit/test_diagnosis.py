"""Diagnosis codes from SES facts, typo suggestions, and the German/English texts staff read."""

from __future__ import annotations

import pytest

from pwreset.delivery.diagnosis import TEXTS, classify_bounce, classify_delay, describe, suggest_domain


@pytest.mark.parametrize(
    ("address", "suggestion"),
    [
        ("anna@gmial.com", "gmail.com"),
        ("anna@gmal.com", "gmail.com"),
        ("anna@gmail.co", "gmail.com"),
        ("anna@gmail.con", "gmail.com"),
        ("anna@gnail.com", "gmail.com"),
        ("anna@googlemial.com", "googlemail.com"),
        ("anna@hotmial.com", "hotmail.com"),
        ("anna@outlok.com", "outlook.com"),
        ("anna@yaho.com", "yahoo.com"),
        ("anna@iclod.com", "icloud.com"),
        ("anna@gmx.dee", "gmx.de"),
        ("anna@gmx.nte", "gmx.net"),
        ("anna@wbe.de", "web.de"),
        ("anna@tonline.de", "t-online.de"),
        ("anna@t-onlin.de", "t-online.de"),
        ("anna@freenet.d", "freenet.de"),
        ("anna@posteo.ed", "posteo.de"),
        ("anna@mailbox.or", "mailbox.org"),
        ("anna@aol.cm", "aol.com"),
        ("Anna@GMIAL.COM", "gmail.com"),
    ],
)
def test_likely_typos_of_common_providers_are_suggested(address: str, suggestion: str) -> None:
    assert suggest_domain(address) == suggestion


@pytest.mark.parametrize(
    "address",
    [
        "anna@gmail.com",
        "anna@gmx.de",
        "anna@gmx.net",
        "anna@web.de",
        "anna@mail.com",  # a real provider one edit away from gmail.com
        "anna@gmx.at",
        "anna@gmx.ch",
        "anna@me.com",
        "anna@berger-steuer.example",
        "anna@example.com",
        "anna@gmaaaail.com",  # too far to guess
        "not-an-address",
        "",
    ],
)
def test_real_or_unrelated_domains_get_no_suggestion(address: str) -> None:
    assert suggest_domain(address) is None


@pytest.mark.parametrize(
    ("bounce_type", "subtype", "diagnostic", "code"),
    [
        ("Permanent", "General", "smtp; 550 5.1.1 user unknown", "address_not_found"),
        ("Permanent", "NoEmail", None, "address_not_found"),
        (
            "Permanent",
            "General",
            "smtp; 550 5.1.1 <a@b.de>: Recipient address rejected: User unknown",
            "address_not_found",
        ),
        (
            "Permanent",
            "General",
            "smtp; 550 Requested action not taken: mailbox unavailable",
            "address_not_found",
        ),
        ("Permanent", "General", "smtp; 554 5.7.1 Message rejected as spam", "rejected_by_provider"),
        (
            "Permanent",
            "General",
            "smtp; 550 5.7.606 Access denied, banned sending IP",
            "rejected_by_provider",
        ),
        ("Permanent", "General", "smtp; 552 5.2.2 Mailbox full", "mailbox_full"),
        ("Permanent", "General", None, "address_rejected"),
        ("Permanent", "Suppressed", "Amazon SES has suppressed sending to this address", "suppressed"),
        ("Permanent", "OnAccountSuppressionList", None, "suppressed"),
        ("Transient", "MailboxFull", None, "mailbox_full"),
        ("Transient", "General", "smtp; 452 4.2.2 over quota", "mailbox_full"),
        ("Transient", "MessageTooLarge", None, "content_rejected"),
        ("Transient", "ContentRejected", None, "content_rejected"),
        ("Transient", "AttachmentRejected", None, "content_rejected"),
        (
            "Transient",
            "General",
            "smtp; 421 4.7.0 Try again later, closing connection (spam)",
            "rejected_by_provider",
        ),
        ("Transient", "General", None, "temporary_failure"),
        ("Undetermined", "Undetermined", None, "address_rejected"),
        (None, None, None, "address_rejected"),
    ],
)
def test_bounces_map_to_codes(
    bounce_type: str | None, subtype: str | None, diagnostic: str | None, code: str
) -> None:
    assert classify_bounce(bounce_type, subtype, diagnostic) == code


def test_delays_map_to_codes() -> None:
    assert classify_delay("TransientCommunicationFailure", "smtp; 421 4.4.1 Unable to connect") == "delayed"
    assert classify_delay("MailboxFull", None) == "mailbox_full"
    assert classify_delay("General", "smtp; 452 4.2.2 mailbox full") == "mailbox_full"
    assert classify_delay(None, None) == "delayed"


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_every_code_reads_in_both_languages(code: str) -> None:
    de, en = describe(code, "de"), describe(code, "en")

    assert de["code"] == en["code"] == code
    assert de["summary"] != en["summary"]
    assert len(de["advice"]) == len(en["advice"]) >= 1
    for text in [de["summary"], en["summary"], *de["advice"], *en["advice"]]:
        assert "{" not in text and "}" not in text, text


def test_unknown_locales_read_english() -> None:
    assert describe("mailbox_full", "fr") == describe("mailbox_full", "en")


def test_the_configured_sender_is_named_where_whitelisting_helps() -> None:
    for code in ("rejected_by_provider", "content_rejected", "complaint", "delivered_not_used"):
        for locale in ("de", "en"):
            assert any("no-reply@portal.example.com" in line for line in describe(code, locale)["advice"]), (
                code
            )


def test_the_suggestion_comes_first_and_only_for_address_problems() -> None:
    de = describe("address_not_found", "de", email="Anna.Schmidt@gmial.com")
    en = describe("suppressed", "en", email="anna@hotmial.com")

    assert de["advice"][0] == (
        "Meinten Sie Anna.Schmidt@gmail.com? "
        "Die Domain gmial.com sieht nach einem Tippfehler von gmail.com aus."
    )
    assert (
        en["advice"][0]
        == "Did you mean anna@hotmail.com? The domain hotmial.com looks like a typo of hotmail.com."
    )
    assert describe("mailbox_full", "en", email="anna@gmial.com")["advice"][0].startswith("Ask the client")
    assert len(describe("address_not_found", "en", email="anna@gmail.com")["advice"]) == len(
        describe("address_not_found", "en")["advice"]
    )
