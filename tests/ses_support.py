"""Helpers for the SES webhook tests: SES fixtures, a signer standing in for SNS, a fake SNS
certificate host, and posting signed messages through the gateway."""

from __future__ import annotations

import json
import os
import urllib.error
from functools import cache
from pathlib import Path
from typing import Any

from devstack.sns_signer import SnsSigner
from helpers import Api, Result

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ses"
WEBHOOK = "/v1/webhooks/ses"


def topic_arn() -> str:
    """The accepted topic, as the template passes it to the function."""
    return os.environ["SES_EVENTS_TOPIC_ARN"]


@cache
def signer() -> SnsSigner:
    """One key pair per test session: RSA key generation is the slow part."""
    return SnsSigner()


def ses_event(
    name: str,
    *,
    ses_message_id: str = "0102019c9a3a1f10-5d1c3f1e-7a8b-4c1d-9e2f-3a4b5c6d7e8f-000000",
    reset_id: str | None = "0" * 32,
    recipient: str = "anna.schmidt@example.com",
) -> dict[str, Any]:
    """A fixture from ``tests/fixtures/ses`` with its placeholders filled in; ``reset_id=None``
    drops the tag (as if the mail had none)."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for key, value in {
        "ses_message_id": ses_message_id,
        "reset_id": reset_id or "",
        "recipient": recipient,
    }.items():
        text = text.replace("${" + key + "}", value)
    event: dict[str, Any] = json.loads(text)
    tags = event.get("mail", {}).get("tags")
    if reset_id is None and isinstance(tags, dict):
        tags.pop("reset_id", None)
    return event


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.json"))


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


def post(api: Api, message: dict[str, Any], *, headers: dict[str, str] | None = None) -> Result:
    """POST a message to the webhook as SNS does (JSON body labelled text/plain)."""
    return api.request(
        "POST",
        WEBHOOK,
        raw_body=SnsSigner.http_body(message),
        headers={**SnsSigner.http_headers(message), **(headers or {})},
    )


def publish(api: Api, ses_record: dict[str, Any] | str, *, version: int = 1, **kw: Any) -> Result:
    """Wrap an SES record in a signed SNS notification from the accepted topic and post it."""
    return post(api, signer().notification(topic_arn(), ses_record, version=version, **kw))
