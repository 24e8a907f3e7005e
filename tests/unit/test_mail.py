"""The reset-link mail as the client reads it, in German and English, and how it is handed to SES."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import jinja2
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from pwreset.core.times import format_datetime, format_duration
from pwreset.mail import mailer
from pwreset.mail.brand import Letterhead
from pwreset.mail.mailer import RenderedMail, render, send_email
from support.html_parsing import ParsedHtml
from support.mail_context import mail_context

LINK = "https://portal.example.com/reset#token=AbC-_123"
# 13:05 UTC in winter: 14:05 in Berlin (CET, UTC+1), 08:05 in New York (EST, UTC-5).
EXPIRES = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)
REGION = "eu-central-1"
SENDER = "no-reply@mail.example.com"


def reset_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "firm_name": "Kanzlei Müller & Partner",
        "recipient_name": "Jürgen Schäfer",
        "link": LINK,
        "expires_at": EXPIRES,
        "timezone": "Europe/Berlin",
        "lifetime_seconds": 24 * 3600,
        "requested_by_name": None,
    }
    return mail_context(context, **overrides)


# --- rendering ------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_part_names_the_firm_and_the_recipient(locale: str) -> None:
    m = render("reset_link", locale, **reset_context())

    assert "Kanzlei Müller & Partner" in m.subject
    assert "Kanzlei Müller &amp; Partner" in m.html
    assert "Kanzlei Müller & Partner" in m.text
    assert "Jürgen Schäfer" in m.html
    assert "Jürgen Schäfer" in m.text


@pytest.mark.parametrize("locale", ["de", "en"])
def test_subject_is_a_single_trimmed_line(locale: str) -> None:
    m = render("reset_link", locale, **reset_context(firm_name="Steuerbüro\nNord  "))

    assert m.subject == m.subject.strip()
    assert "\n" not in m.subject
    assert "Steuerbüro Nord" in m.subject


@pytest.mark.parametrize("locale", ["de", "en"])
def test_link_appears_verbatim_in_text_button_and_fallback(locale: str) -> None:
    m = render("reset_link", locale, **reset_context())

    assert LINK in m.text.splitlines()  # on a line of its own, so mail clients make it clickable
    parsed = ParsedHtml(m.html)
    # The button and the raw link underneath it both point at the reset URL.
    assert parsed.hrefs.count(LINK) == 2
    assert f'href="{LINK}"' in m.html
    assert f">{LINK}</a>" in m.html


def test_link_with_query_string_is_escaped_correctly_in_html() -> None:
    link = "https://portal.example.com/reset?a=1&b=2#token=x"
    m = render("reset_link", "en", **reset_context(link=link))

    assert 'href="https://portal.example.com/reset?a=1&amp;b=2#token=x"' in m.html
    # What the mail client actually opens: the link, and the help article's (from configuration).
    assert set(ParsedHtml(m.html).hrefs) == {link, "https://portal.example.com/help/reset-email?lang=en"}
    assert link in m.text


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("de", "Diese E-Mail lag im Spam-Ordner, oder ein Link von uns kam nicht an? Das hilft: "),
        (
            "en",
            "Found this e-mail in your spam folder, or a link from us did not arrive? Here is what helps: ",
        ),
    ],
)
def test_the_mail_links_the_help_article_in_its_language_from_configuration(locale: str, line: str) -> None:
    m = render("reset_link", locale, **reset_context())

    help_url = f"https://portal.example.com/help/reset-email?lang={locale}"  # beside RESET_PAGE_URL
    assert f"{line}{help_url}" in m.text.splitlines()
    assert ParsedHtml(m.html).hrefs.count(help_url) == 1


def test_german_mail_shows_expiry_in_berlin_time_and_duration() -> None:
    m = render("reset_link", "de", **reset_context())

    expiry = "15. Januar 2026, 14:05 Uhr (Europe/Berlin)"
    assert expiry in m.text
    assert expiry in m.html
    assert "24 Stunden lang gültig" in m.text
    assert "nur einmal" in m.text
    assert "Passwort zurücksetzen" in m.html
    assert "Ihr Passwort bleibt unverändert" in m.text
    assert "nicht weiter" in m.text
    assert "Mit freundlichen Grüßen\nKanzlei Müller & Partner" in m.text


def test_english_mail_shows_expiry_in_new_york_time_and_duration() -> None:
    m = render("reset_link", "en", **reset_context(timezone="America/New_York", lifetime_seconds=3600))

    expiry = "15 January 2026, 8:05 am (America/New_York)"
    assert expiry in m.text
    assert expiry in m.html
    assert "expires in 1 hour" in m.text
    assert "only once" in m.text
    assert ">Reset password</a>" in m.html
    assert "your password stays as it is" in m.text
    assert "do not forward" in m.text
    assert "Kind regards,\nKanzlei Müller & Partner" in m.text


@pytest.mark.parametrize(
    ("locale", "staff_wording", "self_wording"),
    [
        ("de", "Petra Wagner von Kanzlei Müller & Partner hat Ihnen einen Link geschickt", "Sie haben"),
        ("en", "Petra Wagner from Kanzlei Müller & Partner has sent you a link", "You asked"),
    ],
)
def test_says_who_asked_for_the_reset(locale: str, staff_wording: str, self_wording: str) -> None:
    by_staff = render("reset_link", locale, **reset_context(requested_by_name="Petra Wagner"))
    by_client = render("reset_link", locale, **reset_context(requested_by_name=None))

    assert staff_wording in by_staff.text
    assert "Petra Wagner" in by_staff.html
    assert self_wording not in by_staff.text
    assert self_wording in by_client.text
    assert self_wording in by_client.html
    assert "Petra Wagner" not in by_client.text


@pytest.mark.parametrize("locale", ["de", "en"])
def test_html_is_well_formed_self_contained_and_has_preheader(locale: str) -> None:
    m = render("reset_link", locale, **reset_context())
    parsed = ParsedHtml(m.html)

    assert parsed.errors == []
    assert parsed.stack == []
    assert parsed.lang == locale
    assert m.html.lstrip().startswith("<!DOCTYPE html>")
    assert "max-width:600px" in m.html
    # A hidden preview text that says what the mail is about.
    assert len(parsed.hidden_divs) == 1
    assert "24" in parsed.hidden_divs[0]
    # Nothing loaded from elsewhere and nothing a mail client would strip or block.
    lowered = m.html.lower()
    for forbidden in ("<img", "<script", "<link", "<style", "src=", "url(", "@import", "@font-face"):
        assert forbidden not in lowered
    assert "{{" not in m.html
    assert "{%" not in m.html
    assert "{{" not in m.text


def test_hostile_firm_name_is_escaped_in_html() -> None:
    hostile = '<script>alert("x")</script><a href="https://evil.example">'
    m = render("reset_link", "en", **reset_context(firm_name=hostile, requested_by_name="<b>Mallory</b>"))

    assert "<script>" not in m.html
    assert "&lt;script&gt;" in m.html
    assert "https://evil.example" not in ParsedHtml(m.html).hrefs
    assert "<b>Mallory</b>" not in m.html
    assert ParsedHtml(m.html).errors == []
    # Plain text and subject are not HTML: the name is shown as typed.
    assert hostile in m.text
    assert hostile in m.subject


def test_missing_variable_is_an_error() -> None:
    context = reset_context()
    del context["requested_by_name"]

    with pytest.raises(jinja2.UndefinedError):
        render("reset_link", "en", **context)


@pytest.mark.parametrize("locale", ["fr", "", "xx-YY"])
def test_unknown_locale_falls_back_to_english(locale: str) -> None:
    assert render("reset_link", locale, **reset_context()) == render("reset_link", "en", **reset_context())


@pytest.mark.parametrize("locale", ["de-DE", "de_AT", "DE"])
def test_german_region_tags_render_german(locale: str) -> None:
    assert render("reset_link", locale, **reset_context()) == render("reset_link", "de", **reset_context())


@pytest.mark.parametrize("name", ["../reset_link", "reset_link.de", "Reset-Link", ""])
def test_malformed_template_name_is_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="template name"):
        render(name, "en", **reset_context())


def test_unknown_mail_name_is_an_error() -> None:
    with pytest.raises(jinja2.TemplateNotFound):
        render("no_such_mail", "en", **reset_context())


@pytest.fixture
def fresh_template_cache() -> Any:
    mailer.templates_dir.cache_clear()
    mailer._environment.cache_clear()
    yield
    mailer.templates_dir.cache_clear()
    mailer._environment.cache_clear()


def test_templates_dir_env_var_overrides_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_template_cache: None
) -> None:
    default_dir = mailer.templates_dir()
    assert (default_dir / "mail" / "reset_link.html").is_file()
    shutil.copytree(default_dir / "mail", tmp_path / "mail")
    (tmp_path / "mail" / "reset_link.subject.txt").write_text("Custom {{ firm_name }}\n", encoding="utf-8")
    mailer.templates_dir.cache_clear()
    mailer._environment.cache_clear()
    monkeypatch.setenv("TEMPLATES_DIR", str(tmp_path))

    assert render("reset_link", "en", **reset_context()).subject == "Custom Kanzlei Müller & Partner"


# --- time formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "zone", "locale", "expected"),
    [
        (
            datetime(2026, 11, 27, 14, 5, tzinfo=UTC),
            "Europe/Berlin",
            "de",
            "27. November 2026, 15:05 Uhr (Europe/Berlin)",
        ),
        (
            datetime(2026, 11, 27, 14, 5, tzinfo=UTC),
            "Europe/Berlin",
            "en",
            "27 November 2026, 3:05 pm (Europe/Berlin)",
        ),
        (
            datetime(2026, 7, 1, 13, 5, tzinfo=UTC),
            "Europe/Berlin",
            "de",
            "1. Juli 2026, 15:05 Uhr (Europe/Berlin)",
        ),
        (
            datetime(2026, 3, 2, 5, 7, tzinfo=UTC),
            "Europe/Vienna",
            "de",
            "2. März 2026, 06:07 Uhr (Europe/Vienna)",
        ),
        (
            datetime(2026, 1, 15, 5, 0, tzinfo=UTC),
            "America/New_York",
            "en",
            "15 January 2026, 12:00 am (America/New_York)",
        ),
        (
            datetime(2026, 1, 15, 17, 0, tzinfo=UTC),
            "America/New_York",
            "en",
            "15 January 2026, 12:00 pm (America/New_York)",
        ),
        # The instant lands on the next calendar day in the reader's zone.
        (
            datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
            "Europe/Berlin",
            "en",
            "1 January 2027, 12:30 am (Europe/Berlin)",
        ),
    ],
)
def test_format_datetime(at: datetime, zone: str, locale: str, expected: str) -> None:
    assert format_datetime(at, zone, locale) == expected


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", None, "../../etc/passwd", "/etc/localtime", "Europe"]
)
def test_format_datetime_falls_back_to_utc_for_unknown_zone(zone: str | None) -> None:
    assert format_datetime(EXPIRES, zone, "de") == "15. Januar 2026, 13:05 Uhr (UTC)"
    assert format_datetime(EXPIRES, zone, "en") == "15 January 2026, 1:05 pm (UTC)"


def test_format_datetime_treats_naive_as_utc() -> None:
    assert format_datetime(datetime(2026, 1, 15, 13, 5), "Europe/Berlin", "de") == (
        "15. Januar 2026, 14:05 Uhr (Europe/Berlin)"
    )


@pytest.mark.parametrize(
    ("seconds", "de", "en"),
    [
        (24 * 3600, "24 Stunden", "24 hours"),
        (3600, "1 Stunde", "1 hour"),
        (1800, "30 Minuten", "30 minutes"),
        (60, "1 Minute", "1 minute"),
        (5400, "1 Stunde 30 Minuten", "1 hour 30 minutes"),
        (72 * 3600, "3 Tage", "3 days"),
        (48 * 3600, "2 Tage", "2 days"),
        (25 * 3600, "25 Stunden", "25 hours"),
        (90, "2 Minuten", "2 minutes"),
        (0, "0 Minuten", "0 minutes"),
    ],
)
def test_format_duration(seconds: int, de: str, en: str) -> None:
    assert format_duration(seconds, "de") == de
    assert format_duration(seconds, "en") == en
    assert format_duration(seconds, "fr") == en


# --- sending --------------------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.mark.usefixtures("aws_env")
def test_send_email_delivers_through_sesv2() -> None:
    m = render("reset_link", "de", **reset_context())
    with mock_aws():
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
        client = boto3.client("sesv2", region_name=REGION)

        message_id = send_email(
            client,
            sender=SENDER,
            to="client@example.org",
            mail=m,
            configuration_set=None,
            tags={"kind": "reset_link"},
        )

        assert message_id
        sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        assert [msg.id for msg in sent] == [message_id]
        assert sent[0].subject == m.subject
        assert sent[0].source == SENDER
        assert sent[0].destinations == {"ToAddresses": ["client@example.org"]}
        assert "Passwort zurücksetzen" in sent[0].body  # moto keeps the HTML part


@pytest.mark.usefixtures("aws_env")
def test_send_email_errors_propagate() -> None:
    m = render("reset_link", "en", **reset_context())
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)  # sender never verified
        with pytest.raises(client.exceptions.MessageRejected):
            send_email(
                client, sender=SENDER, to="client@example.org", mail=m, configuration_set=None, tags={}
            )


@pytest.mark.usefixtures("aws_env")
def test_send_email_request_has_both_parts_config_set_and_clean_tags() -> None:
    m = RenderedMail(subject="Betreff äöü", html="<p>Hallo</p>", text="Hallo")
    client = boto3.client("sesv2", region_name=REGION)
    expected = {
        "FromEmailAddress": SENDER,
        "Destination": {"ToAddresses": ["client@example.org"]},
        "Content": {
            "Simple": {
                "Subject": {"Data": "Betreff äöü", "Charset": "UTF-8"},
                "Body": {
                    "Html": {"Data": "<p>Hallo</p>", "Charset": "UTF-8"},
                    "Text": {"Data": "Hallo", "Charset": "UTF-8"},
                },
            }
        },
        "ConfigurationSetName": "pwreset-events",
        "EmailTags": [
            {"Name": "kind", "Value": "reset_link"},
            {"Name": "firm", "Value": "firm_42_M_ller___Co"},
            {"Name": "bad_name", "Value": "x" * 256},
            {"Name": "empty", "Value": "_"},
        ],
    }
    # Stubber also checks the request against the real SESv2 API model.
    with Stubber(client) as stubber:
        stubber.add_response("send_email", {"MessageId": "0100-abc"}, expected)
        message_id = send_email(
            client,
            sender=SENDER,
            to="client@example.org",
            mail=m,
            configuration_set="pwreset-events",
            tags={"kind": "reset_link", "firm": "firm/42 Müller & Co", "bad name": "x" * 300, "empty": ""},
        )
        stubber.assert_no_pending_responses()

    assert message_id == "0100-abc"


@pytest.mark.usefixtures("aws_env")
def test_send_email_without_config_set_or_tags_omits_them() -> None:
    m = RenderedMail(subject="s", html="<p>h</p>", text="t")
    client = boto3.client("sesv2", region_name=REGION)
    seen: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    client.meta.events.register("provide-client-params.sesv2.SendEmail", capture)
    with Stubber(client) as stubber:
        stubber.add_response("send_email", {"MessageId": "id-1"})
        assert (
            send_email(client, sender=SENDER, to="a@example.org", mail=m, configuration_set=None, tags={})
            == "id-1"
        )

    assert "ConfigurationSetName" not in seen[0]
    assert "EmailTags" not in seen[0]


def test_importing_mail_does_not_load_jinja2() -> None:
    """Handlers that import the module but send nothing do not pay for jinja2 at cold start."""
    layer = Path(mailer.__file__).resolve().parents[2]
    code = "import sys, pwreset.mail.mailer; assert 'jinja2' not in sys.modules, 'jinja2 imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=layer)


def test_a_mail_evaluates_its_words_once_for_its_three_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subject, HTML and text parts show the same words (``words()``): evaluating them, a few
    dozen translations and the dates formatted, is most of what a mail costs to render, so a mail
    does it once, not once per part (the notification function renders two mails per change)."""
    from test_firm_brand import mail_contexts

    made: list[str] = []
    make_module = jinja2.Template.make_module

    def counted(self: jinja2.Template, *args: Any, **kwargs: Any) -> Any:
        made.append(str(self.name))
        return make_module(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "make_module", counted)
    for name, context in mail_contexts().items():
        made.clear()
        render(name, "de", letterhead=Letterhead("Kanzlei Müller & Partner"), **context)
        twice = sorted({module for module in made if made.count(module) > 1})
        assert not twice, f"{name}: evaluated more than once: {twice}"


def test_precompiled_templates_render_exactly_what_the_sources_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_template_cache: None
) -> None:
    """The layer ships the mail templates compiled (``python -m buildsteps.compile_templates``, run
    by its Makefile); the deployed mails must be byte for byte the ones the sources give."""
    from test_account_locked_mails import context as locked_context
    from test_password_changed_mails import context as changed_context

    cases = [("reset_link", reset_context()), ("reset_link", reset_context(requested_by_name="Eva Berger"))]
    cases += [(kind, changed_context()) for kind in ("password_changed_owner", "password_changed_holder")]
    cases += [
        ("password_changed_holder", changed_context(lock_link="https://portal.example.com/reset#lock=x"))
    ]
    cases += [(kind, locked_context()) for kind in ("account_locked_owner", "account_locked_holder")]
    expected = {
        (name, locale, i): render(name, locale, **ctx)
        for i, (name, ctx) in enumerate(cases)
        for locale in ("de", "en")
    }

    shutil.copytree(mailer.templates_dir(), tmp_path / "templates")
    layer = str(Path(mailer.__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, "-m", "buildsteps.compile_templates", str(tmp_path / "templates")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": layer},
    )
    compiled = Path(done.stdout.strip())
    assert compiled == tmp_path / "templates" / mailer.COMPILED_DIR_NAME
    # The sources are gone: whatever renders now comes from the compiled modules.
    for source in (tmp_path / "templates" / "mail").iterdir():
        source.write_text("{{ this_template_was_read_from_source }}", encoding="utf-8")
    mailer.templates_dir.cache_clear()
    mailer._environment.cache_clear()
    monkeypatch.setenv("TEMPLATES_DIR", str(tmp_path / "templates"))

    for (name, locale, i), mail_from_source in expected.items():
        assert render(name, locale, **cases[i][1]) == mail_from_source


@pytest.mark.parametrize(
    ("locale", "staff_words", "self_words", "button"),
    [
        (
            "de",
            "Eva Berger von Kanzlei Berger lädt Sie in das Mandantenportal ein",
            "Sie haben einen Link angefordert",
            "Passwort festlegen",
        ),
        (
            "en",
            "Eva Berger from Kanzlei Berger invites you to the client portal",
            "You asked for a link",
            "Set password",
        ),
    ],
)
def test_the_invitation_welcomes_and_carries_the_link(
    locale: str, staff_words: str, self_words: str, button: str
) -> None:
    link = "https://portal.example.com/reset#token=" + "A" * 43
    values = {**reset_context(firm_name="Kanzlei Berger"), "link": link, "lifetime_seconds": 7 * 86400}
    invited = render("invitation", locale, **{**values, "requested_by_name": "Eva Berger"})
    asked = render("invitation", locale, **{**values, "requested_by_name": None})
    assert staff_words in invited.text and self_words in asked.text
    assert (
        button in invited.html and link in invited.text and invited.html.count(link) == 3
    )  # button, fallback href and text
    assert ("7 Tage" if locale == "de" else "7 days") in invited.text
