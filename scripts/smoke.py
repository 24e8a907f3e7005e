"""``make smoke URL=https://...``: a black-box check of a deployed stack, from outside, that
changes no account.

It asks what a client, the portal and SNS would ask, and nothing that writes: a sign-in with a
wrong password for an address that has no account (``401``), a self-service request for such an
address (``202``, which mails nobody), the hosted page with its security headers, the SES webhook
with an unsigned message (``403``), and the OpenAPI document. URL is the stack's ``PublicUrl``
output (the custom domain, the distribution, or the API stage). Each check prints one line; the
exit status is 1 when any failed. ``make test`` runs it against the local stack
(``tests/e2e/test_smoke.py``), so it cannot rot.

Only the standard library: an operator runs it from anywhere with Python 3.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

TIMEOUT_S = 20
# The headers the hosted page must carry (pwreset.api.pages.PAGE_HEADERS), and what each must hold.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# Not a topic of any stack: SNS's fields are all there, the signature is not.
OTHER_TOPIC = "arn:aws:sns:eu-central-1:000000000000:smoke-check-not-a-topic"


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def error_code(self) -> str | None:
        try:
            found = self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None
        return str(found)


@dataclass
class Smoke:
    base_url: str
    topic_arn: str = OTHER_TOPIC
    # An address no account can have: a fresh random local part on every run.
    stranger: str = field(default_factory=lambda: f"smoke-check-{uuid.uuid4().hex}@example.com")

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError(f"not an http(s) URL: {self.base_url!r}")

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Answer:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Accept": "application/json", "User-Agent": "pwreset-smoke/1", "Accept-Language": "en"}
        if data is not None:
            headers["Content-Type"] = content_type
        url = self.base_url + path  # http(s) only: checked in __post_init__
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read())

    # ------------------------------------------------------------------ the checks
    def sign_in_with_a_wrong_password_is_refused(self) -> str:
        answer = self.call("POST", "/v1/sessions", {"email": self.stranger, "password": "not-the-password-9"})
        expect(answer.status == 401 and answer.error_code() == "invalid_credentials", answer)
        return "401 invalid_credentials"

    def self_service_is_accepted(self) -> str:
        answer = self.call("POST", "/v1/password-resets", {"email": self.stranger, "locale": "en"})
        expect(answer.status == 202 and answer.json() == {"status": "accepted"}, answer)
        return "202 accepted (the address has no account: nothing is mailed)"

    def the_page_is_served_with_its_security_headers(self) -> str:
        answer = self.call("GET", "/reset")
        expect(answer.status == 200, answer)
        expect((answer.headers.get("Content-Type") or "").startswith("text/html"), answer, "not HTML")
        for name, wanted in PAGE_HEADERS.items():
            expect(wanted in (answer.headers.get(name) or ""), answer, f"{name} lacks {wanted!r}")
        hsts = answer.headers.get("Strict-Transport-Security")
        return "200 text/html, " + ", ".join(PAGE_HEADERS) + (", Strict-Transport-Security" if hsts else "")

    def the_webhook_refuses_an_unsigned_message(self) -> str:
        message = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": self.topic_arn,
            "Message": json.dumps({"eventType": "Delivery", "mail": {"messageId": "smoke-check"}}),
            "Timestamp": "2026-01-01T00:00:00.000Z",
            "SignatureVersion": "2",
            "Signature": "bm90IGEgc2lnbmF0dXJl",
            # Not https: refused before any certificate could be fetched.
            "SigningCertURL": "http://sns.eu-central-1.amazonaws.com/SimpleNotificationService-smoke.pem",
        }
        answer = self.call(
            "POST", "/v1/webhooks/ses", json.dumps(message).encode(), "text/plain; charset=UTF-8"
        )
        codes = ("signature_invalid", "topic_not_allowed")
        expect(answer.status == 403 and answer.error_code() in codes, answer)
        return f"403 {answer.error_code()}"

    def the_openapi_document_is_served(self) -> str:
        answer = self.call("GET", "/v1/openapi.json")
        expect(answer.status == 200, answer)
        document = answer.json()
        expect(str(document.get("openapi", "")).startswith("3."), answer, "not an OpenAPI 3 document")
        expect("/v1/password-resets" in document.get("paths", {}), answer, "the routes are missing")
        return f"200 OpenAPI {document['openapi']}, {len(document['paths'])} paths"

    def checks(self) -> list[Callable[[], str]]:
        return [
            self.sign_in_with_a_wrong_password_is_refused,
            self.self_service_is_accepted,
            self.the_page_is_served_with_its_security_headers,
            self.the_webhook_refuses_an_unsigned_message,
            self.the_openapi_document_is_served,
        ]


class CheckFailed(AssertionError):
    pass


def expect(condition: bool, answer: Answer, why: str = "unexpected answer") -> None:
    if not condition:
        raise CheckFailed(f"{why}: {answer.status} {answer.body[:300]!r}")


def run(base_url: str, topic_arn: str = OTHER_TOPIC, out: Callable[[str], None] = print) -> bool:
    """Every check, one line each; True when all passed."""
    smoke = Smoke(base_url.rstrip("/"), topic_arn)
    passed = True
    for check in smoke.checks():
        name = check.__name__.replace("_", " ")
        try:
            out(f"ok    {name}: {check()}")
        except (CheckFailed, OSError, ValueError) as failure:
            passed = False
            out(f"FAIL  {name}: {failure}")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "url", help="the stack's PublicUrl output, e.g. https://d111111abcdef8.cloudfront.net"
    )
    parser.add_argument(
        "--topic-arn",
        default=OTHER_TOPIC,
        help="the SesEventsTopicArn output: the webhook then refuses the message for its signature",
    )
    options = parser.parse_args(argv)
    if not options.url.startswith(("https://", "http://")):
        parser.error(f"not an http(s) URL: {options.url!r}")
    return 0 if run(options.url, options.topic_arn) else 1


if __name__ == "__main__":
    sys.exit(main())
