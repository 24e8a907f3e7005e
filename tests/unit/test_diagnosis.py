"""Diagnosis codes from SES facts, typo suggestions, and the German/English texts staff read."""

from __future__ import annotations

import pytest

from pwreset.delivery.diagnosis import (
    TEXTS,
    classify_bounce,
    classify_complaint,
    classify_delay,
    describe,
    suggest_domain,
)


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
        ("Permanent", "Suppressed", "Amazon SES has suppressed sending to this address", "suppressed_by_ses"),
        ("Permanent", "OnAccountSuppressionList", None, "suppressed"),
        ("Permanent", "OnTenantSuppressionList", None, "suppressed"),  # a newer list: not sent either
        ("Transient", "MailboxFull", None, "mailbox_full"),
        ("Transient", "General", "smtp; 452 4.2.2 over quota", "mailbox_full"),
        ("Transient", "MessageTooLarge", None, "message_too_large"),
        ("Transient", "ContentRejected", None, "content_rejected"),
        ("Transient", "AttachmentRejected", None, "attachment_rejected"),
        (
            "Transient",
            "General",
            "smtp; 421 4.7.0 Try again later, closing connection (spam)",
            "rejected_by_provider",
        ),
        ("Transient", "General", None, "temporary_failure"),
        ("Undetermined", "Undetermined", None, "undetermined_bounce"),
        ("Undetermined", "Undetermined", "smtp; 550 5.1.1 user unknown", "address_not_found"),
        (None, None, None, "address_rejected"),
    ],
)
def test_bounces_map_to_codes(
    bounce_type: str | None, subtype: str | None, diagnostic: str | None, code: str
) -> None:
    assert classify_bounce(bounce_type, subtype, diagnostic) == code


@pytest.mark.parametrize(
    ("delay_type", "diagnostic", "code"),
    [
        ("InternalFailure", None, "delayed_at_ses"),
        ("General", None, "delayed"),
        ("General", "smtp; 452 4.2.2 mailbox full", "delayed_mailbox_full"),
        ("General", "smtp; 421 4.7.0 Temporarily rejected: suspected spam", "delayed_spam_suspected"),
        ("MailboxFull", None, "delayed_mailbox_full"),
        ("SpamDetected", None, "delayed_spam_suspected"),
        ("RecipientServerError", None, "delayed_recipient_server"),
        ("IPFailure", None, "delayed_sender_blocked"),
        ("TransientCommunicationFailure", "smtp; 421 4.4.1 Unable to connect", "delayed_recipient_server"),
        ("BYOIPHostNameLookupUnavailable", None, "delayed_at_ses"),
        ("Undetermined", None, "delayed"),
        ("SendingDeferral", None, "delayed_at_ses"),
        (None, None, "delayed"),
    ],
)
def test_delays_map_to_codes_by_their_delay_type(
    delay_type: str | None, diagnostic: str | None, code: str
) -> None:
    assert classify_delay(delay_type, diagnostic) == code


@pytest.mark.parametrize(
    ("feedback_type", "subtype", "code"),
    [
        ("abuse", None, "complaint"),
        ("auth-failure", None, "complaint_auth_failure"),
        ("fraud", None, "complaint_fraud"),
        ("not-spam", None, "marked_not_spam"),
        ("other", None, "complaint"),
        ("virus", None, "complaint_virus"),
        (None, None, "complaint"),  # many providers send no feedback type
        ("abuse", "OnAccountSuppressionList", "suppressed"),
    ],
)
def test_complaints_map_to_codes_by_their_feedback_type(
    feedback_type: str | None, subtype: str | None, code: str
) -> None:
    assert classify_complaint(feedback_type, subtype) == code


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
    for code in (
        "rejected_by_provider",
        "content_rejected",
        "complaint",
        "delivered_not_used",
        "delayed_spam_suspected",
        "delivered",
    ):
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


def test_an_unopened_link_points_to_the_help_article_in_the_clients_language() -> None:
    """Staff read German and pass the article on to a client who reads English."""
    diagnosis = describe("delivered_not_used", "de", client_locale="en")

    assert "Spam" in diagnosis["summary"] and "Quarantäne" in diagnosis["summary"]
    [line] = [line for line in diagnosis["advice"] if "/help/reset-email" in line]
    assert line.endswith("https://portal.example.com/help/reset-email?lang=en")
    assert any("no-reply@portal.example.com" in line for line in diagnosis["advice"])  # allow-list it


def test_the_advice_says_what_to_send_again_for_the_kind_of_mail() -> None:
    reset = describe("address_not_found", "de", kind="reset")["advice"]
    invitation = describe("address_not_found", "de", kind="invitation")["advice"]
    notice = describe("address_not_found", "de", kind="password_changed")["advice"]

    assert reset[-1] == "Senden Sie danach einen neuen Link zum Zurücksetzen."
    assert invitation[-1] == "Senden Sie danach die Einladung erneut."
    # A notice goes out by itself: nothing to send, the corrected address is what matters.
    assert notice == reset[:-1]
    assert notice[-1] == "Korrigieren Sie die Adresse im Profil des Mandanten."
    assert describe("mailbox_full", "en", kind="unlock")["advice"][-1] == "Then send a new reset link."
