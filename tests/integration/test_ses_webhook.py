"""POST /v1/webhooks/ses: only signed messages from the accepted topic get in, each once.

Messages are signed by ``devstack.sns_signer`` (independent of the verifier's own code); SNS's
certificate host is a fake (no network here) that serves the signer's certificate.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack.openapi import DOCUMENT_PATH
from devstack.sns_signer import DEFAULT_CERT_URL, SnsSigner, sns_timestamp
from support.api import Api
from support.recorded import assert_nothing_recorded_since, recorded
from support.samples import load_event
from support.ses_events import ses_event
from support.sns import FakeSns, install_fake_sns, post, post_leaving_nothing, publish, signer, topic_arn

CERT_URL = DEFAULT_CERT_URL


def notification(version: int = 2, **kw: Any) -> dict[str, Any]:
    return signer().notification(topic_arn(), ses_event("event-delivery.json"), version=version, **kw)


def resign(message: dict[str, Any], version: int | None = None, **changes: Any) -> dict[str, Any]:
    """The message with ``changes`` applied and signed again (so only the change is wrong)."""
    fields = {
        k: v for k, v in message.items() if k not in ("Signature", "SignatureVersion", "SigningCertURL")
    }
    fields.update({k: v for k, v in changes.items() if k != "SigningCertURL"})
    signed = signer().sign(fields, version=version or int(message["SignatureVersion"]))
    if "SigningCertURL" in changes:
        signed["SigningCertURL"] = changes["SigningCertURL"]
    return signed


def issued_link_timeline(reset_id: str = "0" * 32) -> None:
    """The empty delivery timeline a link starts with (the fixtures' mails are tagged with
    ``reset_id``); SES's events are recorded only on a timeline that exists."""
    from pwreset.storage.models import DeliveryTimeline

    DeliveryTimeline(reset_id, events=[]).save()


# --------------------------------------------------------------------------- valid messages


def test_a_valid_v2_notification_is_accepted(api: Api, fake_sns: FakeSns) -> None:
    issued_link_timeline()
    result = post(api, notification(2))

    assert result.status == 200, result.body
    assert result.body == {"status": "recorded"}
    assert fake_sns.requests == [CERT_URL]


def test_a_v1_signature_is_refused_unless_the_deployment_accepts_it(
    api: Api, fake_sns: FakeSns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The topic signs with SHA-256 (SignatureVersion 2); SHA-1 is accepted only where the
    deployment says so (SnsAcceptSignatureV1), e.g. while a topic still signs with v1."""
    from pwreset.core.config import settings
    from pwreset.delivery import sns

    refused = post_leaving_nothing(api, notification(1))
    assert (refused.status, refused.error_code) == (403, "signature_invalid")

    monkeypatch.setenv("SNS_ACCEPT_SIGNATURE_V1", "true")
    settings.cache_clear()
    sns.default_verifier.cache_clear()
    try:
        assert post(api, notification(1)).status == 200
    finally:
        monkeypatch.undo()
        settings.cache_clear()
        sns.default_verifier.cache_clear()


def test_an_ses_event_of_200_kib_fits_the_webhook(api: Api, fake_sns: FakeSns) -> None:
    """SNS delivers messages of up to 256 KiB; a bounce naming many recipients is that large, and
    the 16 KiB gate of the other routes refused it before it was read (review #14, item 5)."""
    event = ses_event("event-bounce-permanent-general.json")
    first = event["bounce"]["bouncedRecipients"][0]
    event["bounce"]["bouncedRecipients"] += [
        {**first, "emailAddress": f"other{i}@example.net", "diagnosticCode": "smtp; 550 5.1.1 " + "x" * 300}
        for i in range(500)
    ]
    message = signer().notification(topic_arn(), event, version=2)
    assert 150_000 < len(SnsSigner.http_body(message)) < 256 * 1024
    issued_link_timeline()
    result = post(api, message)
    assert (result.status, result.body) == (200, {"status": "recorded"})


def test_a_subject_is_part_of_the_signature(api: Api, fake_sns: FakeSns) -> None:
    message = notification(subject="Amazon SES Email Event Notification")
    assert post(api, message).status == 200

    message["Subject"] = "Something else"
    result = post_leaving_nothing(api, message)
    assert (result.status, result.error_code) == (403, "signature_invalid")


def test_the_certificate_is_fetched_once_per_url(api: Api, fake_sns: FakeSns) -> None:
    for _ in range(3):
        assert post(api, notification()).status == 200
    assert fake_sns.requests == [CERT_URL]


# --------------------------------------------------------------------------- rejections

_HOSTS = [
    "sns.evil.com",
    "sns.us-east-1.amazonaws.com.evil",
    "sns.us-east-1.amazonaws.com.cn.evil.com",
    "s3.amazonaws.com",
    "sns-certs.s3.eu-central-1.amazonaws.com",
    "evil.com",
    "sns.us-east-1.amazonaws.com@evil.com",
    "evil.com@sns.us-east-1.amazonaws.com",
    "sns.us-east-1.amazonaws.com:8443",
    "SNS.US-EAST-1.AMAZONAWS.COM",
    "sns.us_east_1.amazonaws.com",
    "xsns.us-east-1.amazonaws.com",
    "sns..amazonaws.com",
    # S3 hosts that look like SNS's: a bucket called "sns" is anyone's (security review #14, item 5).
    "sns.s3.amazonaws.com",
    "sns.s3-external-1.amazonaws.com",
    "sns.s3.eu-central-1.amazonaws.com",
    "sns.execute-api.amazonaws.com",
]
_PEM = "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
_BAD_CERT_URLS = [
    "http://sns.eu-central-1.amazonaws.com" + _PEM,
    *(f"https://{host}{_PEM}" for host in _HOSTS),
    "https://sns.eu-central-1.amazonaws.com/other.pem",
    "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-abc.txt",
    "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-x.pem/../../evil.pem",
    "https://sns.eu-central-1.amazonaws.com/certs/SimpleNotificationService-abc.pem",
    "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-abc.pem?x=1",
    "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-abc.pem#frag",
    "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-%2e%2e.pem",
    "https://sns.eu-central-1.amazonaws.com\\@evil.com" + _PEM,
    "https://sns.eu-central-1.amazon\taws.com" + _PEM,
    "ftp://sns.eu-central-1.amazonaws.com" + _PEM,
    "//sns.eu-central-1.amazonaws.com" + _PEM,
]


@pytest.mark.parametrize("cert_url", _BAD_CERT_URLS)
def test_certificate_urls_off_sns_are_rejected_before_any_fetch(
    api: Api, monkeypatch: pytest.MonkeyPatch, aws: None, cert_url: str
) -> None:
    # Even a host that would serve the right certificate is not asked.
    fake = install_fake_sns(monkeypatch, {CERT_URL: signer().cert_pem}, serve_any=True)
    result = post_leaving_nothing(api, resign(notification(), SigningCertURL=cert_url))
    assert (result.status, result.error_code) == (403, "signature_invalid")
    assert result.body["error"]["message"] == "The message signature could not be verified."
    assert fake.requests == []


def test_a_changed_byte_in_message_is_rejected(api: Api, fake_sns: FakeSns) -> None:
    message = notification()
    message["Message"] = message["Message"].replace('"Delivery"', '"Delivers"', 1)
    result = post_leaving_nothing(api, message)
    assert (result.status, result.error_code) == (403, "signature_invalid")


@pytest.mark.parametrize("field", ["MessageId", "Timestamp"])
def test_every_signed_field_counts(api: Api, fake_sns: FakeSns, field: str) -> None:
    message = notification()
    signed = message[field]
    message[field] = {
        # One character changed (a random MessageId may already start with "f").
        "MessageId": ("0" if signed.startswith("f") else "f") + signed[1:],
        "Timestamp": sns_timestamp(datetime.now(UTC) - timedelta(seconds=1)),
    }[field]
    assert message[field] != signed
    result = post_leaving_nothing(api, message)
    assert (result.status, result.error_code) == (403, "signature_invalid")


def test_a_v2_signature_presented_as_v1_is_rejected(api: Api, fake_sns: FakeSns) -> None:
    message = notification(version=2)
    message["SignatureVersion"] = "1"
    assert post_leaving_nothing(api, message).error_code == "signature_invalid"


def test_a_v1_signature_presented_as_v2_is_rejected(api: Api, fake_sns: FakeSns) -> None:
    message = notification(version=1)
    message["SignatureVersion"] = "2"
    assert post_leaving_nothing(api, message).error_code == "signature_invalid"


@pytest.mark.parametrize("value", ["3", "0", "", "SHA256"])
def test_unknown_signature_versions_are_rejected(api: Api, fake_sns: FakeSns, value: str) -> None:
    message = notification()
    message["SignatureVersion"] = value
    result = post_leaving_nothing(api, message)
    assert result.status in (400, 403)
    assert result.error_code == ("invalid_request" if value == "" else "signature_invalid")


@pytest.mark.parametrize("signature", ["not base64!", "", "QUJD", "A" * 10])
def test_garbage_signatures_are_rejected(api: Api, fake_sns: FakeSns, signature: str) -> None:
    message = notification()
    message["Signature"] = signature
    result = post_leaving_nothing(api, message)
    assert result.error_code == ("invalid_request" if signature == "" else "signature_invalid")


def test_a_message_signed_by_another_key_is_rejected(api: Api, fake_sns: FakeSns) -> None:
    impostor = SnsSigner(cert_url=CERT_URL)
    result = post_leaving_nothing(api, impostor.notification(topic_arn(), ses_event("event-delivery.json")))
    assert (result.status, result.error_code) == (403, "signature_invalid")


def test_an_unknown_topic_is_rejected_without_fetching_a_certificate(api: Api, fake_sns: FakeSns) -> None:
    other = "arn:aws:sns:eu-central-1:123456789012:someone-elses-topic"
    result = post_leaving_nothing(api, signer().notification(other, ses_event("event-delivery.json")))
    assert (result.status, result.error_code) == (403, "topic_not_allowed")
    assert result.body["error"]["message"] == "Messages from this topic are not accepted."
    assert fake_sns.requests == []


def documented_as_required(schema: str) -> list[str]:
    """The fields the published API description (``docs/openapi.json``) says ``schema`` must have:
    the webhook holds SNS to what the contract says, not to its own list."""
    document = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return sorted(document["components"]["schemas"][schema]["required"])


@pytest.mark.parametrize("field", documented_as_required("SnsNotification"))
def test_a_missing_field_is_400(api: Api, fake_sns: FakeSns, field: str) -> None:
    message = notification()
    del message[field]
    result = post_leaving_nothing(api, message)
    assert (result.status, result.error_code) == (400, "invalid_request")


@pytest.mark.parametrize("field", ["SubscribeURL", "Token"])
def test_a_confirmation_without_its_fields_is_400(api: Api, fake_sns: FakeSns, field: str) -> None:
    message = signer().subscription_confirmation(topic_arn())
    del message[field]
    assert post_leaving_nothing(api, message).status == 400
    assert fake_sns.requests == []


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"text"', b"null", b'{"Type": 5}', b'{"Type": "Other"}'])
def test_malformed_bodies_are_400(api: Api, fake_sns: FakeSns, body: bytes) -> None:
    before = recorded()
    result = api.request("POST", "/v1/webhooks/ses", raw_body=body, headers={"Content-Type": "text/plain"})
    assert (result.status, result.error_code) == (400, "invalid_request")
    assert_nothing_recorded_since(before)


def test_errors_follow_accept_language(api: Api, fake_sns: FakeSns) -> None:
    before = recorded()
    result = api.request(
        "POST",
        "/v1/webhooks/ses",
        raw_body=b"{",
        headers={"Content-Type": "text/plain", "Accept-Language": "de"},
    )
    assert result.body["error"]["message"].startswith("Die Anfrage ist ungültig")
    assert_nothing_recorded_since(before)


def test_a_message_type_header_that_disagrees_with_the_body_is_400(api: Api, fake_sns: FakeSns) -> None:
    result = post_leaving_nothing(
        api, notification(), headers={"x-amz-sns-message-type": "SubscriptionConfirmation"}
    )
    assert (result.status, result.error_code) == (400, "invalid_request")


def test_an_unreachable_certificate_host_is_a_5xx_so_sns_retries(api: Api, fake_sns: FakeSns) -> None:
    fake_sns.unreachable = True
    result = post(api, notification())
    assert result.status == 503
    assert result.error_code == "internal_error"

    fake_sns.unreachable = False
    assert post(api, notification()).status == 200


# --------------------------------------------------------------------------- confirmations


def test_a_subscription_is_confirmed_for_the_accepted_topic(api: Api, fake_sns: FakeSns) -> None:
    message = signer().subscription_confirmation(topic_arn(), version=2)

    result = post(api, message)

    assert (result.status, result.body) == (200, {"status": "confirmed"})
    assert fake_sns.requests == [CERT_URL, message["SubscribeURL"]]


def test_a_subscription_to_another_topic_is_not_confirmed(api: Api, fake_sns: FakeSns) -> None:
    message = signer().subscription_confirmation("arn:aws:sns:eu-central-1:123456789012:other")
    result = post_leaving_nothing(api, message)
    assert (result.status, result.error_code) == (403, "topic_not_allowed")
    assert fake_sns.requests == []


@pytest.mark.parametrize(
    "subscribe_url",
    [
        "https://evil.example/?Action=ConfirmSubscription&TopicArn={topic}",
        "http://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}",
        "https://sns.eu-central-1.amazonaws.com.evil/?Action=ConfirmSubscription&TopicArn={topic}",
        "https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe&TopicArn={topic}",
        "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:x:1:other",
        "https://sns.eu-central-1.amazonaws.com/redirect?Action=ConfirmSubscription&TopicArn={topic}",
    ],
)
def test_a_subscribe_url_that_is_not_snss_own_is_never_visited(
    api: Api, fake_sns: FakeSns, subscribe_url: str
) -> None:
    message = signer().subscription_confirmation(
        topic_arn(), subscribe_url=subscribe_url.format(topic=topic_arn())
    )
    result = post_leaving_nothing(api, message)
    assert (result.status, result.error_code) == (400, "invalid_request")
    assert fake_sns.requests == [CERT_URL]  # the certificate, nothing else


def test_a_failed_confirmation_is_a_5xx_so_sns_sends_it_again(
    api: Api, fake_sns: FakeSns, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable_confirm(url: str, timeout: float) -> bytes:
        if "ConfirmSubscription" in url:
            raise TimeoutError("timed out")
        return fake_sns(url, timeout)

    from pwreset.delivery import sns

    monkeypatch.setattr(sns, "http_get", unreachable_confirm)
    result = post(api, signer().subscription_confirmation(topic_arn()))
    assert result.status == 503


def test_an_unsubscribe_confirmation_is_acknowledged_and_not_acted_on(api: Api, fake_sns: FakeSns) -> None:
    message = signer().subscription_confirmation(topic_arn(), unsubscribe=True)

    result = post(api, message)

    assert (result.status, result.body) == (200, {"status": "ignored"})
    assert fake_sns.requests == [CERT_URL]


# --------------------------------------------------------------------------- at most once


def test_a_redelivered_message_is_recorded_once(api: Api, fake_sns: FakeSns) -> None:
    from pwreset.storage.models import DeliveryTimeline

    message = signer().notification(topic_arn(), ses_event("event-delivery.json", reset_id="r" * 32))
    issued_link_timeline("r" * 32)

    first, again = post(api, message), post(api, copy.deepcopy(message))

    assert (first.body, again.body) == ({"status": "recorded"}, {"status": "duplicate"})
    assert len(DeliveryTimeline.get("r" * 32).events) == 1


def test_a_stale_message_is_acknowledged_and_dropped(api: Api, fake_sns: FakeSns) -> None:
    from pwreset.storage.models import DeliveryTimeline

    old = sns_timestamp(datetime.now(UTC) - timedelta(days=8))
    result = publish(api, ses_event("event-delivery.json", reset_id="s" * 32), timestamp=old)

    assert (result.status, result.body) == (200, {"status": "ignored"})
    assert DeliveryTimeline.count() == 0


@pytest.mark.parametrize(
    "message",
    [
        "Successfully validated SNS topic for Amazon SES event publishing.",
        '{"unexpected": true}',
        "[1, 2, 3]",
    ],
)
def test_messages_that_are_no_ses_mail_event_are_acknowledged(
    api: Api, fake_sns: FakeSns, message: str
) -> None:
    result = publish(api, message)
    assert (result.status, result.body) == (200, {"status": "ignored"})


# --------------------------------------------------------------------------- the local-only certificate


def test_a_locally_generated_certificate_is_rejected_without_the_local_setting(
    api: Api, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local stack signs with its own key; a deployment fetches SNS's certificate for the URL,
    and the local signature does not verify against it."""
    real_sns = SnsSigner()  # stands in for AWS's key behind CERT_URL
    monkeypatch.delenv("SNS_TRUSTED_CERT_PEM_PATH", raising=False)
    install_fake_sns(monkeypatch, {CERT_URL: real_sns.cert_pem})
    result = post_leaving_nothing(api, notification())
    assert (result.status, result.error_code) == (403, "signature_invalid")


def test_the_local_setting_trusts_that_certificate_and_fetches_nothing(
    api: Api, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pwreset.core.config import settings
    from pwreset.delivery import sns

    fetched = FakeSns()
    monkeypatch.setattr(sns, "http_get", fetched)
    monkeypatch.setenv("SNS_TRUSTED_CERT_PEM_PATH", str(signer().write_cert(tmp_path / "sns-local.pem")))
    settings.cache_clear()
    sns.default_verifier.cache_clear()
    try:
        accepted = post(api, notification(version=2))
        before = recorded()  # after the accepted message: its record is expected
        other_key = post(api, SnsSigner().notification(topic_arn(), ses_event("event-delivery.json")))
        off_sns = post(api, resign(notification(), SigningCertURL="https://sns.evil.com" + _PEM))
        assert_nothing_recorded_since(before)
    finally:
        monkeypatch.delenv("SNS_TRUSTED_CERT_PEM_PATH")
        settings.cache_clear()
        sns.default_verifier.cache_clear()

    assert accepted.status == 200, accepted.body
    assert other_key.error_code == "signature_invalid"  # only the trusted key, not any key
    assert off_sns.error_code == "signature_invalid"  # the URL rules still apply
    assert fetched.requests == []


def test_the_sample_webhook_event_reaches_signature_verification(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """events/ses_events_webhook.json is a real SNS envelope whose signature is not SNS's."""
    import json

    from support.api import gateway

    event = load_event("ses_events_webhook.json")
    envelope = json.loads(event["body"])
    install_fake_sns(monkeypatch, {envelope["SigningCertURL"]: signer().cert_pem})
    event["body"] = event["body"].replace(envelope["TopicArn"], topic_arn())
    before = recorded()

    response = gateway().runner.invoke("SesEventsFunction", event)

    assert response["statusCode"] == 403
    assert json.loads(response["body"])["error"]["code"] == "signature_invalid"
    assert_nothing_recorded_since(before)
