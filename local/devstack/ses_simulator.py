"""What SES and SNS would say about each mail the local stack sends.

SES's mailbox simulator answers mail to ``<scenario>@simulator.amazonses.com`` with a known
outcome; SES then publishes the configuration set's events to SNS, which posts them, signed, to
the webhook. Locally there is neither, so this module plays both parts: for every sent mail it
builds the SES events (``eventType`` format, as the configuration set publishes them), wraps each
in an SNS Notification signed with a locally generated key, and hands it to ``deliver`` (the local
stack posts it to ``POST /v1/webhooks/ses``). Mail to any other address is reported as sent and
delivered, as a healthy mailbox would be.

SES's own scenarios (``success``, ``bounce``, ``ooto``, ``complaint``, ``suppressionlist``) take a
``+label`` as SES does (``bounce+anna@``). So that every event type the webhook diagnoses can be
seen locally, a label naming a variant selects it, and four scenarios exist only here (real SES
does not know them): ``bounce+<subtype>`` (:data:`BOUNCES`), ``complaint+<feedback type>``
(:data:`FEEDBACK_TYPES`, ``none`` for none), ``delay[+<delay type>]`` (:data:`DELAY_TYPES`),
``reject``, ``renderingfailure``, ``subscription``. Labels compare without case, ``-`` or ``_``
(``delay+mailbox-full@`` is ``MailboxFull``); any other label is only a label.

The webhook believes these signatures only because the local stack sets
``SNS_TRUSTED_CERT_PEM_PATH`` to this signer's certificate; the deployed template never does.
"""

from __future__ import annotations

import email.utils
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.sns_signer import SnsSigner, sns_timestamp

SIMULATOR_DOMAIN = "simulator.amazonses.com"
Deliver = Callable[[dict[str, str], bytes], Any]
# bounce+<label>: (bounceType, bounceSubType, SMTP status, diagnostic code); the first is bounce@'s.
BOUNCES: dict[str, tuple[str, str, str | None, str | None]] = {
    "general": ("Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown"),
    "noemail": ("Permanent", "NoEmail", "5.1.1", "smtp; 550 5.1.1 user unknown"),
    "suppressed": (
        "Permanent",
        "Suppressed",
        "5.1.1",
        "Amazon SES has suppressed sending to this address because it has a recent history of "
        "bouncing as an invalid address.",
    ),
    "onaccountsuppressionlist": (
        "Permanent",
        "OnAccountSuppressionList",
        "5.1.1",
        "Amazon SES did not send the message to this address because it is on the suppression list "
        "for your account.",
    ),
    "spam": ("Permanent", "General", "5.7.1", "smtp; 554 5.7.1 Message rejected as spam"),
    "transient": (
        "Transient",
        "General",
        "4.4.7",
        "smtp; 451 4.4.7 Message expired, delivery attempts timed out",
    ),
    "mailboxfull": ("Transient", "MailboxFull", "5.2.2", "smtp; 552 5.2.2 Mailbox full"),
    "messagetoolarge": (
        "Transient",
        "MessageTooLarge",
        "5.3.4",
        "smtp; 552 5.3.4 Message size exceeds the limit",
    ),
    "contentrejected": ("Transient", "ContentRejected", "5.6.0", "smtp; 554 5.6.0 Message content rejected"),
    "attachmentrejected": (
        "Transient",
        "AttachmentRejected",
        "5.7.1",
        "smtp; 554 5.7.1 Attachment not allowed",
    ),
    "undetermined": ("Undetermined", "Undetermined", None, None),
}
# complaint+<label>: complaintFeedbackType (None: the provider sent none); the first is complaint@'s.
FEEDBACK_TYPES: dict[str, str | None] = {
    "abuse": "abuse",
    "authfailure": "auth-failure",
    "fraud": "fraud",
    "notspam": "not-spam",
    "other": "other",
    "virus": "virus",
    "none": None,
}
# delay+<label>: SES's delay types; the first is delay@'s.
DELAY_TYPES = {
    name.lower(): name
    for name in (
        "General",
        "InternalFailure",
        "MailboxFull",
        "SpamDetected",
        "RecipientServerError",
        "IPFailure",
        "TransientCommunicationFailure",
        "BYOIPHostNameLookupUnavailable",
        "Undetermined",
        "SendingDeferral",
    )
}

log = logging.getLogger("devstack.ses")


def _ses_time(at: datetime) -> str:
    return sns_timestamp(at)


def scenario_of(address: str) -> tuple[str, str]:
    """(scenario, label) of an address: ``("success", "")`` for any address but the simulator's;
    the label without case, ``-`` or ``_``."""
    local, _, domain = address.lower().partition("@")
    if domain != SIMULATOR_DOMAIN:
        return "success", ""
    scenario, _, label = local.partition("+")
    return scenario, re.sub(r"[^a-z0-9]", "", label)


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
        scenario, label = scenario_of(recipient)
        at = _ses_time(sent_at + timedelta(seconds=2))
        later = _ses_time(sent_at + timedelta(seconds=30))
        if scenario == "bounce":
            return [self._bounce(mail, recipient, at, *BOUNCES.get(label, BOUNCES["general"]))]
        if scenario == "suppressionlist":
            return [self._bounce(mail, recipient, at, *BOUNCES["onaccountsuppressionlist"])]
        if scenario == "complaint":
            feedback = FEEDBACK_TYPES.get(label, "abuse")
            return [
                self._delivery(mail, recipient, at),
                self._complaint(mail, recipient, at, later, feedback),
            ]
        if scenario == "delay":
            return [self._delay(mail, recipient, at, DELAY_TYPES.get(label, "General"), sent_at)]
        if scenario == "reject":
            return [{"eventType": "Reject", "mail": mail, "reject": {"reason": "Bad content"}}]
        if scenario == "renderingfailure":
            failure = {
                "templateName": "simulated",
                "errorMessage": "Attribute 'name' is not present in the data.",
            }
            return [{"eventType": "Rendering Failure", "mail": mail, "failure": failure}]
        if scenario == "subscription":
            return [self._delivery(mail, recipient, at), self._subscription(mail, later)]
        # success@, ooto@ (delivered, then an auto-reply SES does not report) and real addresses.
        return [self._delivery(mail, recipient, at)]

    @staticmethod
    def _complaint(
        mail: dict[str, Any], recipient: str, arrived: str, at: str, feedback: str | None
    ) -> dict[str, Any]:
        complaint: dict[str, Any] = {
            "complainedRecipients": [{"emailAddress": recipient}],
            "timestamp": at,
            "feedbackId": f"{uuid.uuid4()}-000000",
            "userAgent": "Amazon SES Mailbox Simulator",
            "arrivalDate": arrived,
        }
        if feedback:
            complaint["complaintFeedbackType"] = feedback
        return {"eventType": "Complaint", "mail": mail, "complaint": complaint}

    @staticmethod
    def _delay(
        mail: dict[str, Any], recipient: str, at: str, delay_type: str, sent_at: datetime
    ) -> dict[str, Any]:
        return {
            "eventType": "DeliveryDelay",
            "mail": mail,
            "deliveryDelay": {
                "timestamp": at,
                "delayType": delay_type,
                "expirationTime": _ses_time(sent_at + timedelta(hours=12)),
                "delayedRecipients": [
                    {
                        "emailAddress": recipient,
                        "status": "4.4.1",
                        "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host",
                    }
                ],
                "reportingMTA": "a8-70.smtp-out.amazonses.com",
            },
        }

    @staticmethod
    def _subscription(mail: dict[str, Any], at: str) -> dict[str, Any]:
        def preferences(unsubscribed: bool) -> dict[str, Any]:
            status = "OptOut" if unsubscribed else "OptIn"
            topics = [{"topicName": "portal-access", "subscriptionStatus": status}]
            return {"unsubscribeAll": unsubscribed, "topicSubscriptionStatus": topics}

        subscription = {
            "contactList": "portal-mail",
            "timestamp": at,
            "source": "UnsubscribeHeader",
            "newTopicPreferences": preferences(True),
            "oldTopicPreferences": preferences(False),
        }
        return {"eventType": "Subscription", "mail": mail, "subscription": subscription}

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
        mail: dict[str, Any],
        recipient: str,
        at: str,
        kind: str,
        subtype: str,
        status: str | None,
        diagnostic: str | None,
    ) -> dict[str, Any]:
        bounced: dict[str, Any] = {"emailAddress": recipient}
        if status and diagnostic:  # an Undetermined bounce names neither
            bounced.update(action="failed", status=status, diagnosticCode=diagnostic)
        return {
            "eventType": "Bounce",
            "mail": mail,
            "bounce": {
                "bounceType": kind,
                "bounceSubType": subtype,
                "bouncedRecipients": [bounced],
                "timestamp": at,
                "feedbackId": f"{uuid.uuid4()}-000000",
                "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
            },
        }
