"""What SES and SNS would say about each mail the local stack sends.

SES's mailbox simulator answers mail to ``<scenario>@simulator.amazonses.com`` with a known
outcome; SES then publishes the configuration set's events to SNS, which posts them, signed, to
the webhook. Locally there is neither, so this module plays both parts: for every sent mail it
builds the SES events (``eventType`` format, as the configuration set publishes them), wraps each
in an SNS Notification signed with a locally generated key, and hands it to ``deliver`` (the local
stack posts it to ``POST /v1/webhooks/ses``). Mail to any other address is reported as sent and
delivered, as a healthy mailbox would be.

The webhook believes these signatures only because the local stack sets
``SNS_TRUSTED_CERT_PEM_PATH`` to this signer's certificate; the deployed template never does.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.sns_signer import SnsSigner, sns_timestamp

SIMULATOR_DOMAIN = "simulator.amazonses.com"
Deliver = Callable[[dict[str, str], bytes], Any]

log = logging.getLogger("devstack.ses")


def _ses_time(at: datetime) -> str:
    return sns_timestamp(at)


class SesSimulator:
    def __init__(
        self,
        *,
        topic_arn: str,
        signer: SnsSigner,
        deliver: Deliver,
        configuration_set: str | None = None,
        delay_seconds: float = 0.2,
    ) -> None:
        self.topic_arn = topic_arn
        self.signer = signer
        self.deliver = deliver
        self.configuration_set = configuration_set
        self.delay_seconds = delay_seconds
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ entry points
    def on_message(self, message: Any) -> None:
        """A :class:`devstack.mailbox.Mailbox` listener: every captured mail gets its SES events."""
        self.on_mail_sent(
            message.id,
            sender=message.sender,
            recipients=list(message.recipients),
            subject=message.subject,
            tags=dict(message.tags),
            configuration_set=message.configuration_set,
        )

    def on_mail_sent(
        self,
        message_id: str,
        *,
        sender: str,
        recipients: list[str],
        subject: str,
        tags: Mapping[str, str],
        configuration_set: str | None = None,
    ) -> None:
        """Events for one accepted mail follow shortly after, on another thread, as from SES."""
        sent_at = datetime.now(UTC)
        ses_tags: dict[str, list[str]] = {str(name): [str(value)] for name, value in tags.items()}
        configuration_set = configuration_set or self.configuration_set
        if configuration_set:
            ses_tags["ses:configuration-set"] = [configuration_set]
        # As SES reports it: "source" is the address, the From header (with a display name) in full.
        address = email.utils.parseaddr(sender)[1] or sender
        ses_tags.setdefault("ses:from-domain", [address.partition("@")[2]])
        mail = {
            "timestamp": _ses_time(sent_at),
            "source": address,
            "sendingAccountId": "123456789012",
            "messageId": message_id,
            "destination": recipients,
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": sender},
                {"name": "To", "value": ", ".join(recipients)},
                {"name": "Subject", "value": subject},
            ],
            "commonHeaders": {
                "from": [sender],
                "to": recipients,
                "messageId": message_id,
                "subject": subject,
            },
            "tags": ses_tags,
        }
        events = self.events_for(mail, recipients, sent_at)
        thread = threading.Thread(target=self._post_all, args=(events,), name="ses-events", daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait(self, timeout: float = 5.0) -> None:
        """Until every event handed out so far has been posted (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def _post_all(self, events: list[dict[str, Any]]) -> None:
        time.sleep(self.delay_seconds)
        for event in events:
            message = self.signer.notification(self.topic_arn, event)
            try:
                self.deliver(SnsSigner.http_headers(message), SnsSigner.http_body(message))
            except Exception:  # a dev tool: say so and go on with the next event
                log.exception("posting a simulated SES %s event failed", event.get("eventType"))

    # ------------------------------------------------------------------ events
    def events_for(
        self, mail: dict[str, Any], recipients: list[str], sent_at: datetime
    ) -> list[dict[str, Any]]:
        """What SES reports of ``mail``: its send, then each recipient's outcome."""
        events: list[dict[str, Any]] = [{"eventType": "Send", "mail": mail, "send": {}}]
        for recipient in recipients:
            events.extend(self._outcome(recipient, mail, sent_at))
        return events

    def _outcome(self, recipient: str, mail: dict[str, Any], sent_at: datetime) -> list[dict[str, Any]]:
        local, _, domain = recipient.lower().partition("@")
        scenario = local.split("+", 1)[0] if domain == SIMULATOR_DOMAIN else "success"
        at = _ses_time(sent_at + timedelta(seconds=2))
        if scenario == "bounce":
            return [
                self._bounce(
                    mail, recipient, at, "Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown"
                )
            ]
        if scenario == "suppressionlist":
            return [
                self._bounce(
                    mail,
                    recipient,
                    at,
                    "Permanent",
                    "OnAccountSuppressionList",
                    "5.1.1",
                    "Amazon SES did not send the message to this address because it is on "
                    "the suppression list for your account.",
                )
            ]
        if scenario == "complaint":
            return [
                self._delivery(mail, recipient, at),
                {
                    "eventType": "Complaint",
                    "mail": mail,
                    "complaint": {
                        "complainedRecipients": [{"emailAddress": recipient}],
                        "timestamp": _ses_time(sent_at + timedelta(seconds=30)),
                        "feedbackId": f"{uuid.uuid4()}-000000",
                        "userAgent": "Amazon SES Mailbox Simulator",
                        "complaintFeedbackType": "abuse",
                        "arrivalDate": at,
                    },
                },
            ]
        # success@, ooto@ (delivered, then an auto-reply SES does not report) and real addresses.
        return [self._delivery(mail, recipient, at)]

    @staticmethod
    def _delivery(mail: dict[str, Any], recipient: str, at: str) -> dict[str, Any]:
        return {
            "eventType": "Delivery",
            "mail": mail,
            "delivery": {
                "timestamp": at,
                "processingTimeMillis": 1830,
                "recipients": [recipient],
                "smtpResponse": "250 2.6.0 Message received",
                "reportingMTA": "a8-70.smtp-out.amazonses.com",
            },
        }

    @staticmethod
    def _bounce(
        mail: dict[str, Any], recipient: str, at: str, kind: str, subtype: str, status: str, diagnostic: str
    ) -> dict[str, Any]:
        return {
            "eventType": "Bounce",
            "mail": mail,
            "bounce": {
                "bounceType": kind,
                "bounceSubType": subtype,
                "bouncedRecipients": [
                    {
                        "emailAddress": recipient,
                        "action": "failed",
                        "status": status,
                        "diagnosticCode": diagnostic,
                    }
                ],
                "timestamp": at,
                "feedbackId": f"{uuid.uuid4()}-000000",
                "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
            },
        }
