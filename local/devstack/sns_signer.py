"""Signs SNS HTTP(S) messages exactly as SNS does, with an RSA key and a self-signed certificate
generated here. For the tests and for the local stack, which has no SNS to sign for it.

The webhook accepts such messages only when it is told to trust this certificate
(``SNS_TRUSTED_CERT_PEM_PATH``, see :meth:`SnsSigner.write_cert`; never set by the deployed
template) or when a test serves the certificate in place of SNS's certificate host.

The canonical string is built here independently of ``pwreset.delivery.sns`` on purpose: a test that
signs with the verifier's own code could not catch a mistake in it. Per AWS ("Verifying the
signatures of Amazon SNS messages"): ``Name\\nValue\\n`` for each field, in this order -
Notification: Message, MessageId, Subject (only if present), Timestamp, TopicArn, Type;
SubscriptionConfirmation and UnsubscribeConfirmation: Message, MessageId, SubscribeURL,
Timestamp, Token, TopicArn, Type. SignatureVersion 1 signs with RSA-SHA1, 2 with RSA-SHA256.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

DEFAULT_REGION = "eu-central-1"
# Shaped like SNS's own certificate URLs, so the webhook's URL checks apply unchanged.
DEFAULT_CERT_URL = f"https://sns.{DEFAULT_REGION}.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"

_NOTIFICATION_ORDER = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_ORDER = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def sns_timestamp(at: datetime | None = None) -> str:
    """SNS's format: ``2026-05-04T10:11:12.345Z``."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _region_of(topic_arn: str) -> str:
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else DEFAULT_REGION


class SnsSigner:
    """A signing key and its self-signed certificate, and SNS-shaped messages signed with them."""

    def __init__(self, *, cert_url: str = DEFAULT_CERT_URL, key_size: int = 2048) -> None:
        self.cert_url = cert_url
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com (local stack)")])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365))
            .sign(self.private_key, hashes.SHA256())
        )

    # ------------------------------------------------------------------ the certificate
    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def write_cert(self, path: Path) -> Path:
        """Write the certificate (never the key) for ``SNS_TRUSTED_CERT_PEM_PATH``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.cert_pem)
        return path

    # ------------------------------------------------------------------ signing
    @staticmethod
    def string_to_sign(fields: dict[str, Any]) -> bytes:
        order = _NOTIFICATION_ORDER if fields["Type"] == "Notification" else _CONFIRMATION_ORDER
        return "".join(f"{name}\n{fields[name]}\n" for name in order if fields.get(name) is not None).encode(
            "utf-8"
        )

    def sign(self, fields: dict[str, Any], *, version: int = 2) -> dict[str, Any]:
        """``fields`` plus ``SignatureVersion``, ``SigningCertURL`` and ``Signature``."""
        if version not in (1, 2):
            raise ValueError("SignatureVersion is 1 or 2")
        signed = {**fields, "SignatureVersion": str(version), "SigningCertURL": self.cert_url}
        digest: hashes.HashAlgorithm = hashes.SHA1() if version == 1 else hashes.SHA256()  # noqa: S303
        signature = self.private_key.sign(self.string_to_sign(signed), padding.PKCS1v15(), digest)
        signed["Signature"] = base64.b64encode(signature).decode("ascii")
        return signed

    # ------------------------------------------------------------------ messages
    def notification(
        self,
        topic_arn: str,
        message: str | dict[str, Any],
        *,
        subject: str | None = None,
        message_id: str | None = None,
        timestamp: str | None = None,
        version: int = 2,
    ) -> dict[str, Any]:
        """A signed ``Notification``; a dict ``message`` (an SES event) is sent as JSON text."""
        host = f"sns.{_region_of(topic_arn)}.amazonaws.com"
        fields: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": timestamp or sns_timestamp(),
            "UnsubscribeURL": f"https://{host}/?"
            + urlencode({"Action": "Unsubscribe", "SubscriptionArn": f"{topic_arn}:{uuid.uuid4()}"}),
        }
        if subject is not None:
            fields["Subject"] = subject
        return self.sign(fields, version=version)

    def subscription_confirmation(
        self,
        topic_arn: str,
        *,
        unsubscribe: bool = False,
        subscribe_url: str | None = None,
        token: str | None = None,
        message_id: str | None = None,
        timestamp: str | None = None,
        version: int = 2,
    ) -> dict[str, Any]:
        """A signed ``SubscriptionConfirmation`` (or ``UnsubscribeConfirmation``)."""
        token = token or secrets.token_hex(64)
        host = f"sns.{_region_of(topic_arn)}.amazonaws.com"
        url = subscribe_url or f"https://{host}/?" + urlencode(
            {"Action": "ConfirmSubscription", "TopicArn": topic_arn, "Token": token}
        )
        kind = "UnsubscribeConfirmation" if unsubscribe else "SubscriptionConfirmation"
        text = (
            f"You have chosen to deactivate subscription to the topic {topic_arn}."
            if unsubscribe
            else f"You have chosen to subscribe to the topic {topic_arn}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        )
        fields = {
            "Type": kind,
            "MessageId": message_id or str(uuid.uuid4()),
            "Token": token,
            "TopicArn": topic_arn,
            "Message": text,
            "SubscribeURL": url,
            "Timestamp": timestamp or sns_timestamp(),
        }
        return self.sign(fields, version=version)

    # ------------------------------------------------------------------ HTTP
    @staticmethod
    def http_headers(message: dict[str, Any]) -> dict[str, str]:
        """The headers SNS sends with a message (its body is JSON, but labelled text/plain)."""
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "User-Agent": "Amazon Simple Notification Service Agent",
        }
        for header, name in (
            ("x-amz-sns-message-type", "Type"),
            ("x-amz-sns-message-id", "MessageId"),
            ("x-amz-sns-topic-arn", "TopicArn"),
        ):
            if isinstance(message.get(name), str):
                headers[header] = message[name]
        return headers

    @staticmethod
    def http_body(message: dict[str, Any]) -> bytes:
        return json.dumps(message).encode("utf-8")
