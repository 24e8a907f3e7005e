"""The local stack's mailbox keeps both parts of every mail the handlers send, which moto does not."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import boto3
import botocore.session
import pytest

from devstack.mailbox import Mailbox, MailMessage
from support.api import Api
from support.sent_mail import sent_messages

SENDER = "no-reply@portal.example.com"


@pytest.fixture
def mailbox(aws: None) -> Iterator[Mailbox]:
    from pwreset.core.aws import forget_clients

    box = Mailbox()
    box.install()
    forget_clients()  # the handlers' SES client must come from a session made after install
    yield box
    box.uninstall()
    forget_clients()


def test_a_reset_mail_keeps_its_html_and_text_parts(
    mailbox: Mailbox, api: Api, demo: dict[str, dict[str, Any]]
) -> None:
    owner = demo["acc-berger-owner"]
    token = api.sign_in(owner["email"], owner["password"])

    assert api.post("/v1/accounts/acc-berger-client-james/password-reset", token=token).status == 202

    [message] = mailbox.messages()
    [moto_copy] = sent_messages()
    assert message.id == moto_copy.id
    assert message.to == ["james.miller@example.com"]
    # James is a client of Berger, a white-label firm: From is the whole header value, the name
    # RFC 2047-encoded ("–" is not ASCII); the mailbox reads it back, and the Reply-To.
    assert message.sender == f"=?utf-8?q?Kanzlei_Berger_=E2=80=93_Mandantenservice?= <{SENDER}>"
    assert (message.sender_name, message.sender_address) == ("Kanzlei Berger – Mandantenservice", SENDER)
    assert message.from_display == f"Kanzlei Berger – Mandantenservice <{SENDER}>"
    assert message.reply_to == ["mandanten@berger-steuer.example"]
    assert message.as_json()["from"] == message.sender
    assert message.as_json()["reply_to"] == ["mandanten@berger-steuer.example"]
    assert message.subject
    assert "<html" in message.html
    assert "Hello James Miller" in message.text  # the part moto drops
    assert message.configuration_set == "password-reset-dev"
    assert message.tags["kind"] == "reset_link"
    [link, help_article] = message.links  # the reset link first, then the help article's
    assert link.startswith("https://portal.example.com/reset#token=")
    assert link in message.text
    assert help_article == "https://portal.example.com/help/reset-email?lang=en&firm=firm-berger"


def test_subscribers_hear_of_each_mail_and_a_failing_one_breaks_nothing(mailbox: Mailbox) -> None:
    heard: list[MailMessage] = []
    mailbox.subscribe(lambda m: heard.append(m))

    def broken(_: MailMessage) -> None:
        raise RuntimeError("listener bug")

    unsubscribe = mailbox.subscribe(broken)
    client = botocore.session.get_session().create_client("sesv2", region_name="eu-central-1")
    sent = client.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["bounce@simulator.amazonses.com"]},
        Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "plain only"}}}},
    )
    unsubscribe()

    assert [m.id for m in heard] == [sent["MessageId"]]
    assert heard[0].to == ["bounce@simulator.amazonses.com"]
    assert heard[0].text == "plain only"
    assert heard[0].html == ""


def test_ses_v1_and_raw_mail_are_captured_newest_first(mailbox: Mailbox) -> None:
    ses = boto3.client("ses", region_name="eu-central-1")
    ses.verify_email_identity(EmailAddress=SENDER)
    ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["a@example.com"]},
        Message={
            "Subject": {"Data": "v1"},
            "Body": {"Text": {"Data": "v1 text"}, "Html": {"Data": "<p>v1 html</p>"}},
        },
    )
    raw = EmailMessage()
    raw["From"] = SENDER
    raw["To"] = "b@example.com"
    raw["Subject"] = "raw"
    raw.set_content("raw text")
    raw.add_alternative("<p>raw html</p>", subtype="html")
    boto3.client("sesv2", region_name="eu-central-1").send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["b@example.com"]},
        Content={"Raw": {"Data": raw.as_bytes()}},
    )

    newest, oldest = mailbox.messages()
    assert (newest.subject, newest.to, newest.text.strip(), newest.html.strip()) == (
        "raw",
        ["b@example.com"],
        "raw text",
        "<p>raw html</p>",
    )
    assert (oldest.subject, oldest.text, oldest.html) == ("v1", "v1 text", "<p>v1 html</p>")


def test_a_refused_send_is_not_in_the_mailbox(mailbox: Mailbox) -> None:
    client = boto3.client("sesv2", region_name="eu-central-1")
    with pytest.raises(client.exceptions.ClientError):
        client.send_email(  # moto refuses an unverified sender
            FromEmailAddress="someone@unverified.example",
            Destination={"ToAddresses": ["a@example.com"]},
            Content={"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}}},
        )
    assert mailbox.messages() == []
