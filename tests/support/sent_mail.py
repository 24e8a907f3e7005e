"""The mail moto's SES accepted in this mock (moto keeps only the HTML part when a mail has both),
the reset token in a mail's link, and a spy on the service's SendEmail calls that sees each mail
whole (its parts and tags through :func:`text_of`, :func:`html_of`, :func:`subject_of`, :func:`tags`)
and can make SES fail for chosen recipients."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support.leaks import THIS_TEST
from support.spies import PASS, ApiCall, ApiCallSpy

TOKEN_IN_LINK = re.compile(r"#token=([A-Za-z0-9_-]{43})")


def sent_messages() -> list[Any]:
    """Every message moto's SES accepted in this mock, oldest first."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-central-1"].sent_messages)


def message_body(message: Any) -> str:
    return str(getattr(message, "body", "") or getattr(message, "html", ""))


def token_from(message: Any) -> str:
    found = TOKEN_IN_LINK.search(message_body(message))
    assert found, "no reset link in the mail"
    THIS_TEST.add(found.group(1))
    return found.group(1)


class SesSpy:
    """Sees every SendEmail the service makes (moto keeps only the HTML part) and can make SES
    fail for chosen recipients, as the client would see it after botocore's own retries. ``kind``
    (a prefix of the mails' ``kind`` tag, e.g. ``password_changed``) is what :meth:`mails` and
    :meth:`to` pick when they are not told."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, kind: str = "") -> None:
        self.calls = ApiCallSpy(monkeypatch)
        self.calls.answer("SendEmail", self._send)
        self.kind = kind
        self.attempts: list[str] = []
        self.fail_once: set[str] = set()
        self.fail_always: set[str] = set()

    def _send(self, call: ApiCall) -> Any:
        [to] = call.params["Destination"]["ToAddresses"]
        self.attempts.append(to)
        if to in self.fail_once:
            self.fail_once.discard(to)
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded."}},
                "SendEmail",
            )
        if to in self.fail_always:
            raise ClientError(
                {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified."}},
                "SendEmail",
            )
        return PASS

    @property
    def sent(self) -> list[dict[str, Any]]:
        """What SES accepted."""
        return [call.params for call in self.calls.of("SendEmail") if call.error is None]

    def mails(self, kind: str | None = None) -> list[dict[str, Any]]:
        """What SES accepted of ``kind`` (a prefix of the ``kind`` tag; the spy's own when None)."""
        wanted = self.kind if kind is None else kind
        return [p for p in self.sent if tags(p).get("kind", "").startswith(wanted)]

    def to(self, address: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.mails(kind) if p["Destination"]["ToAddresses"] == [address]]


def tags(params: dict[str, Any]) -> dict[str, str]:
    return {t["Name"]: t["Value"] for t in params.get("EmailTags", [])}


def text_of(params: dict[str, Any]) -> str:
    return str(params["Content"]["Simple"]["Body"]["Text"]["Data"])


def html_of(params: dict[str, Any]) -> str:
    return str(params["Content"]["Simple"]["Body"]["Html"]["Data"])


def subject_of(params: dict[str, Any]) -> str:
    return str(params["Content"]["Simple"]["Subject"]["Data"])
