"""SES delivery events arriving through SNS: the webhook's domain side.

A verified SNS notification carries one SES event, in either format SES uses: configuration-set
event publishing (``eventType``: Send, Delivery, Bounce, Complaint, Reject, DeliveryDelay,
"Rendering Failure", Subscription; the configuration set publishes all of them, but not Open and
Click: no tracking) or identity notifications (``notificationType``: Bounce, Complaint, Delivery;
no tags). Unknown types and fields are kept or ignored, never an error.

Each event is normalised (:class:`DeliveryEvent`: type, event time, a few safe facts) and

* matched to its mail: by the ``reset_id`` tag every client mail carries (its id on the deliveries
  timeline, :mod:`pwreset.delivery.outbox`), else, for a link mail, by SES message id through the
  reset tokens' ``by_ses_message_id`` index (identity notifications carry no tags); a mail to staff
  belongs to no timeline;
* appended to that mail's timeline (:class:`~pwreset.storage.models.DeliveryTimeline`), only while
  the timeline exists (every client mail's record is written before it leaves) or, for a link mail
  sent before mails were recorded, while the link exists: an event arriving after the account was
  erased (its records and links deleted) must not write its address back; and, for a
  permanent bounce or a complaint, applied to the address's login (``email_status``
  ``undeliverable`` / ``complained``; a complaint outranks a bounce; an address already so marked
  is left as it is): what SES says is a fact of the address, so every account with it (in any
  firm) sees it, and each of the login's active accounts gets an ``email_undeliverable`` audit
  event (its stream tells the CRM, see ``pwreset.crm``). One ``Query`` by the address finds the
  login's accounts; everything else goes in one transaction with the SNS ``MessageId`` marker: a
  redelivered message fails on the marker and changes nothing, and an event is never half
  recorded.

The timeline stores facts, not verdicts: the delivery status and the diagnosis are computed when
read (:mod:`pwreset.delivery.deliveries`), from the whole timeline, so arrival order does not matter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pwreset.core import errors
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.core.times import iso
from pwreset.delivery import sns
from pwreset.delivery.diagnosis import classify_bounce, classify_complaint
from pwreset.delivery.outbox import record_retention
from pwreset.storage.accounts import get_or_none
from pwreset.storage.events import audit_event
from pwreset.storage.logins import accounts_of_login
from pwreset.storage.models import LOGIN_ITEM, DeliveryTimeline, Event, Login, ResetToken, SnsMessage
from pwreset.storage.transactions import TransactWriteError, transaction

# SES's names -> ours. "Rendering Failure" really has a space in eventType.
EVENT_TYPES = {
    "Send": "send",
    "Delivery": "delivery",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Reject": "reject",
    "DeliveryDelay": "delivery_delay",
    "Rendering Failure": "rendering_failure",
    "RenderingFailure": "rendering_failure",
    "Subscription": "subscription",
}
# Where each type keeps its facts in the SES record.
_SECTIONS = {
    "send": "send",
    "delivery": "delivery",
    "bounce": "bounce",
    "complaint": "complaint",
    "reject": "reject",
    "delivery_delay": "deliveryDelay",
    "rendering_failure": "failure",
    "subscription": "subscription",
}
SNS_MESSAGE_RETENTION = timedelta(days=14)
# Older messages are acknowledged and dropped: their MessageId marker may be gone, and SNS's own
# retries end within hours, so anything this old is a replay.
STALE_AFTER = timedelta(days=7)
# SNS messages are at most 256 KiB; the envelope (signature, URLs, JSON escaping) adds a little.
MAX_WEBHOOK_BYTES = 384 * 1024
MAX_BODY_CHARS = MAX_WEBHOOK_BYTES
_RESET_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
_TYPE_NAME = re.compile(r"[^a-z0-9]+")


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class DeliveryEvent:
    type: str  # send | delivery | bounce | complaint | reject | delivery_delay | rendering_failure | other
    at: str  # ISO-8601 UTC, when SES says it happened
    ses_message_id: str
    reset_id: str | None = None  # our tag: the mail's id on the deliveries timeline
    kind: str | None = None  # our tag: which mail (its template)
    recipients: tuple[str, ...] = ()  # lower-cased addresses the event is about
    detail: dict[str, Any] = field(default_factory=dict)
    feedback_id: str | None = None

    @property
    def key(self) -> str:
        """Identifies the event itself (SES may publish one event in two SNS messages)."""
        return f"{self.type}|{self.at}|{self.feedback_id or ''}"

    def to_json(self) -> str:
        return json.dumps(
            {"key": self.key, "type": self.type, "at": self.at, "detail": self.detail},
            ensure_ascii=False,
            sort_keys=True,
        )


def _text(value: Any, limit: int = 200) -> str | None:
    return (value.strip()[:limit] or None) if isinstance(value, str) else None


def _email(value: Any) -> str | None:
    text = _text(value, 320)
    return text.lower() if text and "@" in text else None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _when(value: Any) -> str | None:
    parsed = parse_time(value)
    return iso(parsed) if parsed else None


def smtp_line(value: Any, own_address: str | None = None, limit: int = 300) -> str | None:
    """The first line of an SMTP reply or diagnostic code, with any address but the recipient's
    own masked: staff see what the server said, not a transcript or other people's addresses."""
    if not isinstance(value, str):
        return None
    first = value.strip().splitlines()[0].strip() if value.strip() else ""

    def mask(match: re.Match[str]) -> str:
        address = match.group(0)
        return address if own_address and address.lower().strip(".") == own_address else mask_email(address)

    return _EMAIL_IN_TEXT.sub(mask, first)[:limit] or None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _recipients(items: Any, *, with_action: bool = False) -> list[dict[str, Any]]:
    """The recipients of a bounce or a delay: each address, SES's action (a bounce's), status and
    SMTP diagnostic, with any other address in it masked."""
    found = []
    for item in _dicts(items):
        address = _email(item.get("emailAddress"))
        action = {"action": _text(item.get("action"), 32)} if with_action else {}
        status = _text(item.get("status"), 16)
        found.append(
            {
                "email": address,
                **action,
                "status": status,
                "diagnostic_code": smtp_line(item.get("diagnosticCode"), address),
            }
        )
    return found


def _bounce(section: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "bounce_type": _text(section.get("bounceType"), 32),
        "bounce_subtype": _text(section.get("bounceSubType"), 64),
        "recipients": _recipients(section.get("bouncedRecipients"), with_action=True),
    }


def _complaint(section: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "feedback_type": _text(section.get("complaintFeedbackType"), 32),
        "complaint_subtype": _text(section.get("complaintSubType"), 64),
        "recipients": [
            {"email": _email(item.get("emailAddress"))}
            for item in _dicts(section.get("complainedRecipients"))
        ],
    }


def _delivery(section: Mapping[str, Any]) -> dict[str, Any]:
    millis = section.get("processingTimeMillis")
    recipients = section.get("recipients")
    return {
        "smtp_response": smtp_line(section.get("smtpResponse")),
        "processing_time_ms": millis if isinstance(millis, int) and not isinstance(millis, bool) else None,
        "recipients": [{"email": _email(r)} for r in recipients] if isinstance(recipients, list) else [],
    }


def _delay(section: Mapping[str, Any]) -> dict[str, Any]:
    recipients = _recipients(section.get("delayedRecipients"))
    return {
        "delay_type": _text(section.get("delayType"), 64),
        "expiration_time": _when(section.get("expirationTime")),
        "recipients": recipients,
    }


def _reject(section: Mapping[str, Any]) -> dict[str, Any]:
    return {"reason": _text(section.get("reason"), 200)}


def _rendering_failure(section: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "template_name": _text(section.get("templateName"), 128),
        "error_message": smtp_line(section.get("errorMessage")),
    }


def _subscription(section: Mapping[str, Any]) -> dict[str, Any]:
    """The recipient changed their subscription (SES list management: the List-Unsubscribe header
    or an unsubscribe link): how, and whether from everything."""
    preferences = section.get("newTopicPreferences")
    unsubscribe_all = preferences.get("unsubscribeAll") if isinstance(preferences, dict) else None
    return {
        "contact_list": _text(section.get("contactList"), 128),
        "source": _text(section.get("source"), 64),
        "unsubscribe_all": unsubscribe_all if isinstance(unsubscribe_all, bool) else None,
    }


_DETAILS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "bounce": _bounce,
    "complaint": _complaint,
    "delivery": _delivery,
    "delivery_delay": _delay,
    "reject": _reject,
    "rendering_failure": _rendering_failure,
    "subscription": _subscription,
}


def _tag(tags: Any, name: str) -> str | None:
    value = tags.get(name) if isinstance(tags, dict) else None
    if isinstance(value, list) and value:
        value = value[0]
    return _text(value, 128)


def event_type(raw: str) -> str:
    """Our name for an SES event type; unknown ones keep a sanitised version of theirs."""
    known = EVENT_TYPES.get(raw)
    if known:
        return known
    return _TYPE_NAME.sub("_", raw.lower()).strip("_")[:40] or "unknown"


def parse_event(payload: Any, *, received_at: datetime | None = None) -> DeliveryEvent | None:
    """The SES event in an SNS ``Message``, or None when it is not about a mail (SES's
    "subscription succeeded" notice, a test message, something else)."""
    if not isinstance(payload, dict):
        return None
    raw_type = payload.get("eventType") or payload.get("notificationType")
    mail = payload.get("mail")
    if not isinstance(raw_type, str) or not isinstance(mail, dict):
        return None
    message_id = _text(mail.get("messageId"), 256)
    if not message_id:
        return None
    kind = event_type(raw_type)
    # Unknown types follow SES's pattern too ("Open" keeps its facts under "open").
    section = payload.get(_SECTIONS.get(kind) or raw_type[:1].lower() + raw_type[1:])
    section = section if isinstance(section, dict) else {}
    at = (
        _when(section.get("timestamp"))
        or _when(section.get("arrivalDate"))
        or _when(mail.get("timestamp"))
        or iso(received_at or _now())
    )
    detail = _DETAILS[kind](section) if kind in _DETAILS else {}
    recipients = tuple(r["email"] for r in detail.get("recipients", []) if r.get("email"))
    if not recipients and isinstance(mail.get("destination"), list):
        recipients = tuple(a for a in (_email(d) for d in mail["destination"]) if a)
    reset_id = _tag(mail.get("tags"), "reset_id")
    return DeliveryEvent(
        type=kind,
        at=at,
        ses_message_id=message_id,
        reset_id=reset_id if reset_id and _RESET_ID.fullmatch(reset_id) else None,
        kind=_tag(mail.get("tags"), "kind"),
        recipients=recipients,
        detail=detail,
        feedback_id=_text(section.get("feedbackId"), 128),
    )


# ------------------------------------------------------------------------------------ webhook


def parse_body(raw: str | None) -> dict[str, Any]:
    """An SNS HTTP body (JSON sent as text/plain) as a dict, or ``400 invalid_request``."""
    if not raw or len(raw) > MAX_BODY_CHARS:
        raise errors.InvalidRequest()
    try:
        body = json.loads(raw)
    except ValueError:
        raise errors.InvalidRequest() from None
    if not isinstance(body, dict):
        raise errors.InvalidRequest()
    return body


def handle_webhook(raw_body: str | None, *, message_type: str | None = None) -> str:
    """Verify and act on one SNS message; returns what happened (for the response and the log)."""
    body = parse_body(raw_body)
    if message_type is not None and message_type != body.get("Type"):
        raise errors.InvalidRequest()
    message = sns.default_verifier().verify(body)
    if message.type == sns.SUBSCRIPTION_CONFIRMATION:
        sns.confirm_subscription(message)
        return "confirmed"
    if message.type == sns.UNSUBSCRIBE_CONFIRMATION:
        # Someone unsubscribed the webhook; re-subscribing is a deployment's job, not ours.
        logger.warning("sns unsubscribe confirmation received", extra={"topic": message.topic_arn})
        return "ignored"
    return record_notification(message)


def record_notification(message: sns.VerifiedMessage, *, now: datetime | None = None) -> str:
    now = now or _now()
    published = parse_time(message.timestamp)
    if published is None or now - published > STALE_AFTER:
        logger.warning("stale sns message ignored", extra={"message_id": message.message_id})
        return "ignored"
    try:
        payload = json.loads(message.message)
    except ValueError:
        payload = None  # SES's set-up test message is plain text
    event = parse_event(payload, received_at=now)
    if event is None:
        logger.info("sns message without an ses mail event", extra={"message_id": message.message_id})
        return _store(message.message_id, None, None, [], now)
    reset_id = find_timeline(event)
    outcome = _store(message.message_id, event, reset_id, address_marks(event), now)
    logger.info(
        "ses event",
        extra={
            "type": event.type,
            "reset_id": reset_id,
            "ses_message_id": event.ses_message_id,
            "outcome": outcome,
        },
    )
    if outcome != "duplicate":
        metrics.add_metric(name="SesEventRecorded", unit="Count", value=1)
    return outcome


@dataclass(frozen=True)
class AddressMark:
    """An address an event is about (its login's key), what the event says of it, and the login's
    active accounts (``(account_id, firm_id)``: an ``email_undeliverable`` audit event each)."""

    address: str
    verdict: str  # undeliverable | complained
    accounts: tuple[tuple[str, str], ...] = ()
    diagnosis_code: str = "undeliverable"  # pwreset.delivery.diagnosis's code for the CRM's event


def _seen(message_id: str) -> bool:
    return get_or_none(SnsMessage, message_id, consistent_read=True) is not None


def _store(
    message_id: str,
    event: DeliveryEvent | None,
    reset_id: str | None,
    marks: list[AddressMark],
    now: datetime,
    *,
    timeline: str = "existing",
) -> str:
    """The MessageId marker, the timeline entry, the address marks and their audit events,
    together or not at all.

    ``timeline``: ``"existing"`` appends to the mail's timeline only if it exists; a token
    digest appends (creating the timeline) only if that link still exists; ``""`` writes none.
    When the timeline is missing, the link is looked up once (by the SES message id) and the
    transaction tried again with it, or without a timeline entry when the link is gone too: an
    erased account's reset gets nothing back that would hold its address.

    A mark whose condition fails (the address has no login (any more), the address has this verdict
    already, or a complaint already outranks a bounce) is dropped with its events and the rest
    written again; a failed marker is a duplicate."""
    marker = SnsMessage(message_id, received_at=now, ttl=now + SNS_MESSAGE_RETENTION)
    writes_timeline = event is not None and reset_id is not None and bool(timeline)
    link = timeline if writes_timeline and timeline != "existing" else None
    events = [
        _undeliverable_event(mark, account, reset_id, now) for mark in marks for account in mark.accounts
    ]
    try:
        with transaction() as tx:
            if link:
                tx.condition_check(ResetToken, link, condition=ResetToken.reset_id == reset_id)
            tx.save(marker, condition=SnsMessage.message_id.does_not_exist())
            if writes_timeline and event is not None and reset_id is not None:
                keep = record_retention()
                tx.update(
                    DeliveryTimeline(reset_id),
                    actions=[
                        DeliveryTimeline.events.set((DeliveryTimeline.events | []).append([event.to_json()])),
                        DeliveryTimeline.message_id.set(event.ses_message_id),
                        DeliveryTimeline.ttl.set(now + keep),
                    ],
                    condition=None if link else DeliveryTimeline.reset_id.exists(),
                )
            for mark in marks:
                tx.update(
                    Login(mark.address, LOGIN_ITEM),
                    actions=[Login.email_status.set(mark.verdict)],
                    condition=_mark_condition(mark),
                )
            for audit in events:
                tx.save(audit, condition=Event.event_id.does_not_exist())
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons
        failed = {i for i, reason in enumerate(reasons) if reason and reason.code == "ConditionalCheckFailed"}
        # pynamodb sends the condition check first, then the puts, then the updates: the link's
        # check, the marker, the marks' events (one per account of the login), the timeline
        # entry, the marks.
        marker_at = 1 if link else 0
        timeline_at = marker_at + 1 + len(events) if writes_timeline else -1
        first_mark = marker_at + 1 + len(events) + (1 if writes_timeline else 0)
        if marker_at in failed or (not failed and _seen(message_id)):
            # The marker exists: recorded before, or by a twin delivered at the same moment.
            metrics.add_metric(name="SnsMessageDuplicate", unit="Count", value=1)
            return "duplicate"
        stale = {marks[i - first_mark] for i in failed if first_mark <= i < first_mark + len(marks)}
        next_timeline = timeline
        if link and 0 in failed:
            next_timeline = ""  # the link is gone as well
        elif timeline_at in failed:
            next_timeline = _link_of(event, reset_id) or ""
        explained = len(stale) + (1 if next_timeline != timeline else 0)
        if not failed or explained != len(failed):
            raise
        if next_timeline != timeline and not next_timeline:
            logger.info("ses event for a reset without timeline or link", extra={"reset_id": reset_id})
            metrics.add_metric(name="SesEventWithoutTimeline", unit="Count", value=1)
        remaining = [m for m in marks if m not in stale]
        return _store(message_id, event, reset_id, remaining, now, timeline=next_timeline)
    for mark in marks:
        logger.info("address marked", extra={"email": mask_email(mark.address), "email_status": mark.verdict})
        metrics.add_metric(name="AddressMarked", unit="Count", value=1)
    if event is None:
        return "ignored"
    return "recorded" if writes_timeline else "unmatched"


def _link_of(event: DeliveryEvent | None, reset_id: str | None) -> str:
    """The digest (key) of the reset's link, found by the event's SES message id; ``""`` when the
    link is gone (the account was erased, or the link's retention ended)."""
    if event is None or reset_id is None:
        return ""
    for hit in ResetToken.by_ses_message_id.query(event.ses_message_id):
        if hit.reset_id == reset_id:
            return str(hit.token_hash)
    return ""


def _undeliverable_event(
    mark: AddressMark, account: tuple[str, str], reset_id: str | None, now: datetime
) -> Event:
    """The audit event of one mark for one account of the login: the verdict and its diagnosis
    code, never the address."""
    account_id, firm_id = account
    return audit_event(
        "email_undeliverable",
        account_id=account_id,
        firm_id=firm_id,
        meta=None,
        at=now,
        detail={
            "email_status": mark.verdict,
            "diagnosis_code": mark.diagnosis_code,
            **({"reset_id": reset_id} if reset_id else {}),
        },
    )


def find_timeline(event: DeliveryEvent) -> str | None:
    """The timeline (``reset_id``) of the event's mail: our tag first, which every client mail
    carries; the SES message id as the fallback, which finds link mails (untagged identity
    notifications). A mail to staff has neither."""
    if event.reset_id:
        return event.reset_id
    for hit in ResetToken.by_ses_message_id.query(event.ses_message_id, limit=1):
        return str(hit.reset_id)
    return None


def address_verdict(event: DeliveryEvent) -> str | None:
    """What an event says about the address itself: a permanent bounce (suppression included)
    makes it ``undeliverable``, a complaint (other than "not-spam") ``complained``."""
    if event.type == "bounce" and event.detail.get("bounce_type") == "Permanent":
        return "undeliverable"
    if event.type == "complaint" and event.detail.get("feedback_type") != "not-spam":
        return "complained"
    return None


def address_marks(event: DeliveryEvent) -> list[AddressMark]:
    """Every address the event condemns that is a login, with the login's active accounts (one
    ``Query`` per address by the logins table's key). A login gone by the time of the write fails
    its mark's condition and is dropped there."""
    verdict = address_verdict(event)
    if verdict is None:
        return []
    marks: list[AddressMark] = []
    for address in dict.fromkeys(event.recipients):
        login = accounts_of_login(address)
        if login.login is None:
            continue  # no login (a staff mail's other recipient, an erased person): nothing to mark
        accounts = tuple((m.account_id, m.firm_id) for m in login.active)
        marks.append(
            AddressMark(address, verdict, accounts, diagnosis_code=address_diagnosis(event, address))
        )
    return marks


def address_diagnosis(event: DeliveryEvent, address: str) -> str:
    """The diagnosis code (``pwreset.delivery.diagnosis``) of what a bounce or a complaint says
    about ``address``: the code staff read in the deliveries view, and the CRM in its event."""
    if event.type == "complaint":
        return classify_complaint(event.detail.get("feedback_type"), event.detail.get("complaint_subtype"))
    recipient: dict[str, Any] = next(
        (r for r in event.detail.get("recipients", []) if r.get("email") == address), {}
    )
    return classify_bounce(
        event.detail.get("bounce_type"), event.detail.get("bounce_subtype"), recipient.get("diagnostic_code")
    )


def _mark_condition(mark: AddressMark) -> Any:
    # Only an existing login (an update would make one) without this verdict already (one event per
    # change of the verdict); a complaint is never downgraded to a bounce.
    condition = Login.email.exists() & (Login.email_status != mark.verdict)
    if mark.verdict == "undeliverable":
        condition &= Login.email_status != "complained"
    return condition
