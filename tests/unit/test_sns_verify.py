"""The SNS verifier on its own: canonical strings, URL rules, certificate caching."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.sns_signer import DEFAULT_CERT_URL, SnsSigner
from pwreset.core import errors
from pwreset.delivery.sns import (
    CertificateStore,
    MessageVerifier,
    TrustedCertificate,
    is_signing_cert_url,
    is_subscribe_url,
    string_to_sign,
)
from support.sns import signer

TOPIC = "arn:aws:sns:eu-central-1:123456789012:password-reset-dev-ses-events"


def verifier(fetch: Any = None, *, versions: tuple[str, ...] = ("1", "2")) -> MessageVerifier:
    fetch = fetch or (lambda url, timeout: signer().cert_pem)
    return MessageVerifier(
        accepted_topics={TOPIC}, certificates=CertificateStore(fetch), accepted_signature_versions=versions
    )


def test_the_canonical_string_matches_snss_documented_form() -> None:
    """AWS's documented example layout, field by field (Subject absent)."""
    message = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
        "Message": "Hello world!",
        "Timestamp": "2012-05-02T00:54:06.655Z",
        "Subject": None,
    }
    assert string_to_sign(message) == (
        b"Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
        b"Timestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
        b"Type\nNotification\n"
    )
    assert string_to_sign(message) == SnsSigner.string_to_sign(message)


@pytest.mark.parametrize("version", [1, 2])
def test_the_verifier_and_the_independent_signer_agree(version: int) -> None:
    for message in (
        signer().notification(TOPIC, "x", version=version),
        signer().notification(TOPIC, "ü ✓ \n multi-line", subject="Betreff", version=version),
        signer().subscription_confirmation(TOPIC, version=version),
        signer().subscription_confirmation(TOPIC, unsubscribe=True, version=version),
    ):
        assert verifier().verify(message).message_id == message["MessageId"]


@pytest.mark.parametrize(
    "url",
    [
        DEFAULT_CERT_URL,
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
    ],
)
def test_real_sns_certificate_urls_pass(url: str) -> None:
    assert is_signing_cert_url(url)


@pytest.mark.parametrize(
    "host",
    ["sns.s3.amazonaws.com", "sns.s3-external-1.amazonaws.com", "sns.s3.eu-central-1.amazonaws.com"],
)
def test_an_s3_bucket_called_sns_is_not_sns(host: str) -> None:
    """A bucket named "sns" (anyone may own one) answers at these hosts: its certificate must
    never be trusted (security review #14, item 5)."""
    assert not is_signing_cert_url(f"https://{host}/SimpleNotificationService-abc.pem")


def test_only_the_configured_signature_versions_verify() -> None:
    v1 = signer().notification(TOPIC, "x", version=1)
    with pytest.raises(errors.SignatureInvalid):
        verifier(versions=("2",)).verify(v1)
    assert verifier(versions=("1", "2")).verify(v1).message_id == v1["MessageId"]


def test_subscribe_urls_must_be_snss_confirm_action_for_the_topic() -> None:
    good = signer().subscription_confirmation(TOPIC)["SubscribeURL"]
    assert is_subscribe_url(good, TOPIC)
    assert not is_subscribe_url(good, TOPIC + "-other")
    assert not is_subscribe_url(good.replace("https://", "http://"), TOPIC)
    assert not is_subscribe_url(None, TOPIC)


def test_certificates_are_cached_per_url() -> None:
    second = SnsSigner(cert_url=DEFAULT_CERT_URL.replace("0123456789abcdef", "fedcba9876543210", 1))
    calls: list[str] = []

    def fetch(url: str, timeout: float) -> bytes:
        calls.append(url)
        return signer().cert_pem if url == DEFAULT_CERT_URL else second.cert_pem

    check = verifier(fetch)
    for version in (1, 2, 1, 2):
        check.verify(signer().notification(TOPIC, "x", version=version))
    check.verify(second.notification(TOPIC, "y"))
    check.verify(second.notification(TOPIC, "z"))

    assert calls == [DEFAULT_CERT_URL, second.cert_url]


def test_a_certificate_that_is_not_a_certificate_is_a_bad_signature() -> None:
    with pytest.raises(errors.SignatureInvalid):
        verifier(lambda url, timeout: b"<html>not a pem</html>").verify(signer().notification(TOPIC, "x"))


def test_the_local_trusted_certificate_answers_for_any_sns_url_and_nothing_else() -> None:
    trusted = MessageVerifier(accepted_topics={TOPIC}, certificates=TrustedCertificate(signer().cert_pem))

    assert trusted.verify(signer().notification(TOPIC, "x")).message == "x"
    with pytest.raises(errors.SignatureInvalid):
        trusted.verify(SnsSigner().notification(TOPIC, "x"))
