"""SNS as the SES webhook meets it: a signer standing in for SNS, a fake SNS certificate host, and
signed messages posted through the gateway."""

from __future__ import annotations

import os
import urllib.error
from functools import cache
from typing import Any

import pytest

from devstack.sns_signer import SnsSigner
from support.api import Api, Result
from support.recorded import assert_nothing_recorded_since, recorded

WEBHOOK = "/v1/webhooks/ses"


def topic_arn() -> str:
    """The accepted topic, as the template passes it to the function."""
    return os.environ["SES_EVENTS_TOPIC_ARN"]


@cache
def signer() -> SnsSigner:
    """One key pair per test session: RSA key generation is the slow part."""
    return SnsSigner()


class FakeSns:
    """Stands in for SNS's certificate host and ConfirmSubscription endpoint (no network in tests)."""

    def __init__(self, certificates: dict[str, bytes] | None = None, *, serve_any: bool = False) -> None:
        self.certificates = dict(certificates or {})
        self.serve_any = serve_any  # serve the first certificate for every URL asked for
        self.requests: list[str] = []
        self.unreachable = False

    def __call__(self, url: str, timeout: float) -> bytes:
        self.requests.append(url)
        assert 0 < timeout <= 5, "fetches must use a short timeout"
        if self.unreachable:
            raise TimeoutError("timed out")
        if "Action=ConfirmSubscription" in url:
            return b"<ConfirmSubscriptionResponse/>"
        if url in self.certificates:
            return self.certificates[url]
        if self.serve_any and self.certificates:
            return next(iter(self.certificates.values()))
        raise urllib.error.HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]


def install_fake_sns(
    monkeypatch: pytest.MonkeyPatch, certificates: dict[str, bytes] | None = None, *, serve_any: bool = False
) -> FakeSns:
    """The webhook's fetches go to a new :class:`FakeSns` until the test ends; certificates
    fetched before are forgotten."""
    from pwreset.delivery import sns

    fake = FakeSns(certificates, serve_any=serve_any)
    monkeypatch.setattr(sns, "http_get", fake)
    sns.default_verifier.cache_clear()
    return fake


def post(api: Api, message: dict[str, Any], *, headers: dict[str, str] | None = None) -> Result:
    """POST a message to the webhook as SNS does (JSON body labelled text/plain)."""
    return api.request(
        "POST",
        WEBHOOK,
        raw_body=SnsSigner.http_body(message),
        headers={**SnsSigner.http_headers(message), **(headers or {})},
    )


def post_leaving_nothing(
    api: Api, message: dict[str, Any], *, headers: dict[str, str] | None = None
) -> Result:
    """POST a message the webhook must refuse or ignore: nothing of it is recorded (no marker, no
    timeline entry, no address mark)."""
    before = recorded()
    result = post(api, message, headers=headers)
    assert_nothing_recorded_since(before)
    return result


def publish(api: Api, ses_record: dict[str, Any] | str, *, version: int = 2, **kw: Any) -> Result:
    """Wrap an SES record in a signed SNS notification from the accepted topic and post it."""
    return post(api, signer().notification(topic_arn(), ses_record, version=version, **kw))
