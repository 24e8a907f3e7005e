"""Verifying SNS HTTP(S) messages before anything in them is believed.

Checks, in this order (cheapest and least revealing first):

1. the body has every field its ``Type`` needs, as strings (else ``400 invalid_request``);
2. ``TopicArn`` is the one accepted topic (else ``403 topic_not_allowed``; no certificate is fetched
   for a topic we do not listen to);
3. ``SignatureVersion`` is 1 (RSA-SHA1) or 2 (RSA-SHA256), ``SigningCertURL`` is https on an SNS
   host (``sns.<region>.amazonaws.com[.cn]``, compared exactly: no user info, no port, no
   look-alikes) with path ``/SimpleNotificationService-<id>.pem``, and the signature over SNS's
   canonical string verifies with that certificate's key (else ``403 signature_invalid``).

Certificates are fetched with a short timeout, without following redirects, and cached per URL
with their parsed public key for the life of the process. A certificate host that cannot be
reached is a 503, so that SNS retries, not a rejection.

The certificate source is injectable (:class:`MessageVerifier` takes any
:class:`CertificateSource`): tests serve certificates without a network, and the local stack uses
:class:`TrustedCertificate`, enabled only by ``SNS_TRUSTED_CERT_PEM_PATH``, which the deployed
template never sets.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.request
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import SplitResult, parse_qs, urlsplit

from pwreset.core import errors
from pwreset.core.config import settings
from pwreset.core.observability import logger, metrics

if TYPE_CHECKING:
    # deferred: the deliveries route in the same function never verifies a signature
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"

# The canonical string SNS signs: "Name\nValue\n" for each of these fields, in this order.
_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    NOTIFICATION: _NOTIFICATION_FIELDS,
    SUBSCRIPTION_CONFIRMATION: _CONFIRMATION_FIELDS,
    UNSUBSCRIBE_CONFIRMATION: _CONFIRMATION_FIELDS,
}
_ENVELOPE = (
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
)
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    NOTIFICATION: _ENVELOPE,
    SUBSCRIPTION_CONFIRMATION: (*_ENVELOPE, "SubscribeURL", "Token"),
    UNSUBSCRIBE_CONFIRMATION: (*_ENVELOPE, "SubscribeURL", "Token"),
}

# Exactly the SNS hosts: a region-shaped label (us-east-1, us-gov-west-1, us-isob-east-1,
# cn-north-1). A looser label would admit sns.s3.amazonaws.com, an S3 bucket anyone may own.
_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d\.amazonaws\.com(?:\.cn)?")
# SignatureVersion -> the hash of cryptography's RSA PKCS#1 v1.5 signature.
_ALGORITHMS = {"1": "SHA1", "2": "SHA256"}
_CERT_PATH = re.compile(r"/SimpleNotificationService-[A-Za-z0-9_-]+\.pem")
CERT_FETCH_TIMEOUT_SECONDS = 3.0
CONFIRM_TIMEOUT_SECONDS = 5.0
_MAX_RESPONSE_BYTES = 64 * 1024
_MAX_CACHED_CERTIFICATES = 32

Fetch = Callable[[str, float], bytes]


@dataclass(frozen=True)
class VerifiedMessage:
    type: str
    message_id: str
    topic_arn: str
    message: str
    timestamp: str
    subject: str | None = None
    subscribe_url: str | None = None
    token: str | None = None


class CertificateSource(Protocol):
    def public_key(self, url: str) -> RSAPublicKey: ...


# ------------------------------------------------------------------------------------ URLs


def _sns_url(url: str) -> SplitResult | None:
    """``url`` split, when it is https on an SNS host and nothing else; otherwise None.

    The host is the whole authority, matched exactly, so ``user@host``, ``host:443``,
    ``sns.evil.com``, ``sns.us-east-1.amazonaws.com.evil`` and S3 hosts all fail. Whitespace,
    control characters, backslashes and non-ASCII are refused before parsing, because
    ``urlsplit`` silently drops some of them.
    """
    if not isinstance(url, str) or not url.isascii() or len(url) > 2048:
        return None
    if "\\" in url or any(ch <= " " or ch == "\x7f" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme != "https" or not _SNS_HOST.fullmatch(parts.netloc) or parts.fragment:
        return None
    return parts


def is_signing_cert_url(url: str) -> bool:
    parts = _sns_url(url)
    return parts is not None and not parts.query and _CERT_PATH.fullmatch(parts.path) is not None


def is_subscribe_url(url: str | None, topic_arn: str) -> bool:
    """An SNS ``ConfirmSubscription`` URL for exactly this topic."""
    parts = _sns_url(url or "")
    if parts is None or parts.path not in ("", "/"):
        return False
    query = parse_qs(parts.query, keep_blank_values=True)
    return query.get("Action") == ["ConfirmSubscription"] and query.get("TopicArn") == [topic_arn]


def string_to_sign(body: Mapping[str, Any]) -> bytes:
    """SNS's canonical form of a message; ``Subject`` counts only when present and not null."""
    parts = []
    for name in SIGNED_FIELDS[str(body["Type"])]:
        value = body.get(name)
        if value is None:
            continue
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


# ------------------------------------------------------------------------------------ certificates


def load_public_key(pem: bytes) -> RSAPublicKey:
    # deferred: the deliveries route in the same function never verifies a signature
    from cryptography import x509

    # deferred: the deliveries route in the same function never verifies a signature
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError as exc:
        raise errors.SignatureInvalid() from exc
    if not isinstance(key, RSAPublicKey):
        raise errors.SignatureInvalid()
    return key


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A certificate is served by the SNS host itself; a redirect elsewhere is not followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http_get(url: str, timeout: float) -> bytes:
    """GET ``url`` (already checked to be an https SNS URL), no redirects, small bodies only."""
    if _sns_url(url) is None:  # never a file:, http: or foreign URL, whatever the caller checked
        raise ValueError("not an https SNS URL")
    opener = urllib.request.build_opener(_NoRedirects())
    headers = {"User-Agent": "portal-password-reset/ses-webhook"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - https SNS URLs only, see above
    with opener.open(request, timeout=timeout) as response:
        body: bytes = response.read(_MAX_RESPONSE_BYTES + 1)
    if len(body) > _MAX_RESPONSE_BYTES:
        raise ValueError("response too large")
    return body


class CertificateStore:
    """Public keys of SNS signing certificates, fetched once per URL and kept for the process."""

    def __init__(self, fetch: Fetch, *, timeout: float = CERT_FETCH_TIMEOUT_SECONDS) -> None:
        self._fetch = fetch
        self._timeout = timeout
        self._keys: dict[str, RSAPublicKey] = {}
        self._lock = threading.Lock()

    def public_key(self, url: str) -> RSAPublicKey:
        with self._lock:
            cached = self._keys.get(url)
        if cached is not None:
            return cached
        try:
            pem = self._fetch(url, self._timeout)
        except Exception as exc:  # DNS, TLS, timeout, HTTP status, size: all mean 'not now'
            logger.warning("sns certificate not fetched", extra={"url": url, "error": type(exc).__name__})
            raise errors.UpstreamUnavailable() from exc
        key = load_public_key(pem)
        with self._lock:
            if len(self._keys) >= _MAX_CACHED_CERTIFICATES:
                self._keys.clear()
            self._keys[url] = key
        return key


class TrustedCertificate:
    """LOCAL ONLY: one certificate from a file answers for every (SNS-shaped) certificate URL, so
    the local stack can sign SNS messages with a key it generated. Nothing is fetched."""

    def __init__(self, pem: bytes) -> None:
        self._key = load_public_key(pem)

    def public_key(self, url: str) -> RSAPublicKey:
        return self._key


# ------------------------------------------------------------------------------------ verify


def _rejected(reason: str, exc: errors.DomainError, **fields: Any) -> errors.DomainError:
    logger.warning("sns message rejected", extra={"reason": reason, **fields})
    metrics.add_metric(name="SnsMessageRejected", unit="Count", value=1)
    return exc


class MessageVerifier:
    def __init__(
        self,
        *,
        accepted_topics: Collection[str],
        certificates: CertificateSource,
        accepted_signature_versions: Collection[str] = ("2",),
    ) -> None:
        self.accepted_topics = frozenset(accepted_topics)
        self.certificates = certificates
        # The topic signs with SHA-256 (SignatureVersion 2); SHA-1 only where a deployment says so.
        self.algorithms = {v: name for v, name in _ALGORITHMS.items() if v in accepted_signature_versions}

    def verify(self, body: Mapping[str, Any]) -> VerifiedMessage:
        """The message, once it is well-formed, from an accepted topic and signed by SNS."""
        # deferred: the deliveries route in the same function never verifies a signature
        from cryptography.exceptions import InvalidSignature

        # deferred: the deliveries route in the same function never verifies a signature
        from cryptography.hazmat.primitives import hashes

        # deferred: the deliveries route in the same function never verifies a signature
        from cryptography.hazmat.primitives.asymmetric import padding

        kind = body.get("Type")
        if not isinstance(kind, str) or kind not in REQUIRED_FIELDS:
            raise _rejected("unknown type", errors.InvalidRequest())
        missing = [
            name for name in REQUIRED_FIELDS[kind] if not isinstance(body.get(name), str) or not body[name]
        ]
        subject = body.get("Subject")
        if missing or (subject is not None and not isinstance(subject, str)):
            raise _rejected("missing fields", errors.InvalidRequest(), fields=missing)
        topic = body["TopicArn"]
        if topic not in self.accepted_topics:
            raise _rejected("topic not allowed", errors.TopicNotAllowed(), topic=topic[:256])
        algorithm_name = self.algorithms.get(body["SignatureVersion"])
        if algorithm_name is None:
            raise _rejected("signature version", errors.SignatureInvalid())
        cert_url = body["SigningCertURL"]
        if not is_signing_cert_url(cert_url):
            raise _rejected("certificate url", errors.SignatureInvalid(), url=cert_url[:256])
        try:
            signature = base64.b64decode(body["Signature"], validate=True)
        except (binascii.Error, ValueError):
            raise _rejected("signature encoding", errors.SignatureInvalid()) from None
        key = self.certificates.public_key(cert_url)
        try:
            key.verify(signature, string_to_sign(body), padding.PKCS1v15(), getattr(hashes, algorithm_name)())
        except InvalidSignature:
            raise _rejected(
                "bad signature", errors.SignatureInvalid(), message_id=body["MessageId"]
            ) from None
        return VerifiedMessage(
            type=kind,
            message_id=body["MessageId"],
            topic_arn=topic,
            message=body["Message"],
            timestamp=body["Timestamp"],
            subject=subject,
            subscribe_url=body.get("SubscribeURL"),
            token=body.get("Token"),
        )


@cache
def default_verifier() -> MessageVerifier:
    """The verifier the webhook uses, built from settings once per process."""
    cfg = settings()
    accepted = {cfg.ses_events_topic_arn} if cfg.ses_events_topic_arn else set()
    certificates: CertificateSource
    if cfg.sns_trusted_cert_pem_path:
        logger.warning(
            "trusting a local SNS signing certificate: local stack only, never in a deployment",
            extra={"path": cfg.sns_trusted_cert_pem_path},
        )
        certificates = TrustedCertificate(Path(cfg.sns_trusted_cert_pem_path).read_bytes())
    else:
        # Looked up at call time, so tests can replace ``http_get`` (there is no network there).
        certificates = CertificateStore(lambda url, timeout: http_get(url, timeout))
    versions = ("1", "2") if cfg.sns_accept_signature_v1 else ("2",)
    return MessageVerifier(
        accepted_topics=accepted, certificates=certificates, accepted_signature_versions=versions
    )


def confirm_subscription(message: VerifiedMessage) -> None:
    """Visit ``SubscribeURL``, once the message is verified and only when it is SNS's own
    ``ConfirmSubscription`` URL for this topic."""
    if not is_subscribe_url(message.subscribe_url, message.topic_arn):
        raise _rejected("subscribe url", errors.InvalidRequest(), url=(message.subscribe_url or "")[:256])
    try:
        http_get(str(message.subscribe_url), CONFIRM_TIMEOUT_SECONDS)
    except Exception as exc:  # SNS retries the confirmation after a 5xx
        logger.warning("subscription not confirmed", extra={"error": type(exc).__name__})
        raise errors.UpstreamUnavailable() from exc
    logger.info("sns subscription confirmed", extra={"topic": message.topic_arn})
