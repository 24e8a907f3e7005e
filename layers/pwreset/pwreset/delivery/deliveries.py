"""What happened to each mail to a client, for the firm's staff.

Every mail to a client has a delivery record (:mod:`pwreset.delivery.outbox`): reset links,
invitations, unlock links, the notices after a password change or a lock, and any kind added
there. The view reads a client's newest records with one query of the records' ``by_account``
index; link mails sent before mails were recorded have only their link and a timeline keyed by its
reset id, and are read from the links (newest first, older than the oldest record) while the page
is not full. Those expire with the links' retention; no migration is needed.

The status of a mail is computed from its whole timeline (never from the latest arrival, because
SES events arrive in any order), by this precedence, strongest first:

    complained > suppressed > bounced > failed > delivered > delayed > sent

* ``complained``: the client marked it as spam (it had been delivered, so it outranks delivery);
* ``suppressed``: SES did not send it, the address is on a suppression list;
* ``bounced``: the receiving side refused it, even after a Delivery (servers accept and bounce
  later);
* ``failed``: never left SES (Reject, Rendering Failure) or the SES call itself failed;
* ``delivered``: the recipient's server accepted it (a "not spam" report and an unsubscription
  say so too); a later DeliveryDelay does not undo that;
* ``delayed``: SES is still retrying;
* ``sent``: handed to SES, nothing else known yet.

The diagnosis is computed at read time as well, in the reader's language, from the event that
decided the status (:mod:`pwreset.delivery.diagnosis`), including the one SES cannot report: a link
delivered more than a day ago and never opened on the hosted page was probably filtered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pwreset.core import errors
from pwreset.core.request import Principal
from pwreset.delivery.diagnosis import (
    NOT_SPAM,
    SUPPRESSION_SUBTYPE,
    classify_bounce,
    classify_complaint,
    classify_delay,
    describe,
    suppressed_subtype,
)
from pwreset.delivery.outbox import KINDS, SEND_FAILED
from pwreset.storage.accounts import account_status, get_login, get_or_none
from pwreset.storage.models import Account, DeliveryTimeline, Login, ResetToken

PAGE_SIZE = 20
STATUS_PRECEDENCE = ("complained", "suppressed", "bounced", "failed", "delivered", "delayed", "sent")
ADDRESS_PROBLEMS = frozenset({"complained", "suppressed", "bounced"})
# A link delivered this long ago and never opened on the page was most likely filtered.
UNUSED_AFTER = timedelta(hours=24)
_STATUS_OF_TYPE = {
    "send": "sent",
    "delivery": "delivered",
    "delivery_delay": "delayed",
    "reject": "failed",
    "rendering_failure": "failed",
    "subscription": "delivered",  # SES reports it for a delivered mail
}
_CODE_OF_TYPE = {
    "send": "sent",
    "delivery": "delivered",
    "reject": "rejected_by_ses",
    "rendering_failure": "rendering_failed",
    "subscription": "unsubscribed",
}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TimelineEvent:
    key: str
    type: str
    at: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Mail:
    """One mail on a client's timeline: its delivery record, or the link of a link mail sent
    before mails were recorded, with what SES reported."""

    reset_id: str
    kind: str
    email: str
    requested_at: str
    requested_by: str | None
    requested_by_name: str | None
    send_failed: bool
    carries_link: bool
    # The hosted page opened the link (for a link sent before records: it was used).
    opened: bool
    password_version: int | None  # a link mail: the account's when it was sent
    timeline: DeliveryTimeline | None

    @classmethod
    def of_record(cls, record: DeliveryTimeline) -> Mail:
        kind = KINDS.get(str(record.kind))
        return cls(
            reset_id=record.reset_id,
            kind=str(record.kind),
            email=str(record.email or ""),
            requested_at=str(record.requested_at),
            requested_by=record.requested_by,
            requested_by_name=record.requested_by_name,
            send_failed=record.status == SEND_FAILED,
            carries_link=kind is not None and kind.carries_link,
            opened=record.opened_at is not None,
            password_version=None if record.password_version is None else int(record.password_version),
            timeline=record,
        )

    @classmethod
    def of_link(cls, link: ResetToken, timeline: DeliveryTimeline | None) -> Mail:
        return cls(
            reset_id=link.reset_id,
            kind=link.purpose,
            email=link.email,
            requested_at=link.requested_at,
            requested_by=link.requested_by,
            requested_by_name=link.requested_by_name,
            send_failed=link.status == SEND_FAILED,
            carries_link=True,
            opened=link.status == "used",
            password_version=int(link.password_version),
            timeline=timeline,
        )

    def engaged(self, login: Login | None) -> bool:
        """The client got in: the link was opened, or the login's password changed since it was
        sent."""
        if self.opened:
            return True
        if login is None or self.password_version is None:
            return False
        return int(login.password_version) != self.password_version


def timeline_events(timeline: DeliveryTimeline | None) -> list[TimelineEvent]:
    """The stored events, each once, oldest first."""
    seen: set[str] = set()
    events: list[TimelineEvent] = []
    for raw in (timeline.events or []) if timeline else []:
        try:
            data = json.loads(str(raw))
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("key") in seen:
            continue
        seen.add(str(data.get("key")))
        detail = data.get("detail")
        events.append(
            TimelineEvent(
                key=str(data.get("key")),
                type=str(data.get("type") or "unknown"),
                at=str(data.get("at") or ""),
                detail=detail if isinstance(detail, dict) else {},
            )
        )
    events.sort(key=lambda e: e.at)
    return events


def event_status(event: TimelineEvent) -> str | None:
    """The status one event stands for; None for types that say nothing about delivery."""
    if event.type == "bounce":
        return "suppressed" if suppressed_subtype(event.detail.get("bounce_subtype")) else "bounced"
    if event.type == "complaint":
        if event.detail.get("complaint_subtype") == SUPPRESSION_SUBTYPE:
            return "suppressed"
        return "delivered" if event.detail.get("feedback_type") == NOT_SPAM else "complained"
    return _STATUS_OF_TYPE.get(event.type)


def delivery_status(events: Iterable[TimelineEvent], mail: Mail) -> str:
    if mail.send_failed:
        return "failed"
    found = {event_status(e) for e in events}
    return next((status for status in STATUS_PRECEDENCE if status in found), "sent")


def _recipient_facts(event: TimelineEvent | None, email: str) -> dict[str, Any]:
    """The per-recipient facts for this mail's own address only."""
    if event is None:
        return {}
    for entry in event.detail.get("recipients") or []:
        if isinstance(entry, dict) and entry.get("email") == email.lower():
            return {k: v for k, v in entry.items() if k != "email" and v is not None}
    return {}


def public_detail(event: TimelineEvent, email: str) -> dict[str, Any]:
    """What staff see of an event: its facts and this recipient's, no other addresses."""
    detail = {k: v for k, v in event.detail.items() if k != "recipients" and v is not None}
    detail.update(_recipient_facts(event, email))
    return detail


def event_code(event: TimelineEvent, email: str) -> str:
    """The diagnosis code of one event (see :mod:`pwreset.delivery.diagnosis`)."""
    detail = event.detail
    diagnostic = _recipient_facts(event, email).get("diagnostic_code")
    if event.type == "bounce":
        return classify_bounce(detail.get("bounce_type"), detail.get("bounce_subtype"), diagnostic)
    if event.type == "complaint":
        return classify_complaint(detail.get("feedback_type"), detail.get("complaint_subtype"))
    if event.type == "delivery_delay":
        return classify_delay(detail.get("delay_type"), diagnostic)
    return _CODE_OF_TYPE.get(event.type, "sent")


def _delivered_code(
    events: list[TimelineEvent], mail: Mail, login: Login | None, now: datetime
) -> str | None:
    """A delivered mail: what the client did with it, as far as anyone can tell."""
    codes = {event_code(e, mail.email) for e in events if event_status(e) == "delivered"}
    for telling in ("unsubscribed", "marked_not_spam"):
        if telling in codes:
            return telling
    if not mail.carries_link:
        return "delivered"
    if mail.engaged(login):
        return None  # opened or used: nothing to explain
    delivered_at = min((e.at for e in events if e.type == "delivery"), default=None)
    if delivered_at and datetime.fromisoformat(delivered_at) + UNUSED_AFTER <= now:
        return "delivered_not_used"
    return "delivered"


def diagnose(
    status: str,
    events: list[TimelineEvent],
    mail: Mail,
    account: Account | None,
    login: Login | None,
    *,
    locale: str,
    now: datetime,
) -> dict[str, Any] | None:
    decisive = next((e for e in reversed(events) if event_status(e) == status), None)
    code: str | None
    if mail.send_failed:
        code = "send_failed"
    elif status == "delivered":
        code = _delivered_code(events, mail, login, now)
    else:
        code = event_code(decisive, mail.email) if decisive is not None else "sent"
    if code is None:
        return None
    client_locale = account.locale if account else None
    return describe(code, locale, email=mail.email, client_locale=client_locale, kind=mail.kind)


def delivery_view(
    mail: Mail, account: Account | None, login: Login | None, *, locale: str, now: datetime
) -> dict[str, Any]:
    events = timeline_events(mail.timeline)
    status = delivery_status(events, mail)
    return {
        "reset_id": mail.reset_id,
        "kind": mail.kind,
        "requested_at": mail.requested_at,
        "requested_by": (
            {"account_id": mail.requested_by, "name": mail.requested_by_name or ""}
            if mail.requested_by
            else None
        ),
        "status": status,
        "events": [{"type": e.type, "at": e.at, "detail": public_detail(e, mail.email)} for e in events],
        "diagnosis": diagnose(status, events, mail, account, login, locale=locale, now=now),
    }


def recent_mails(account_id: str) -> list[Mail]:
    """The account's newest mails, newest first, at most :data:`PAGE_SIZE`: one query of the
    records; while that does not fill the page, the links sent before records, older than the
    oldest record (one query of the links, and one batch read of their timelines if any)."""
    records = list(DeliveryTimeline.by_account.query(account_id, scan_index_forward=False, limit=PAGE_SIZE))
    mails = [Mail.of_record(r) for r in records]
    if len(mails) < PAGE_SIZE:
        mails += _links_before_records(account_id, records[-1].requested_at if records else None)[
            : PAGE_SIZE - len(mails)
        ]
    return mails


def _links_before_records(account_id: str, before: str | None) -> list[Mail]:
    older = ResetToken.requested_at < before if before else None
    links = list(
        ResetToken.by_account.query(
            account_id, range_key_condition=older, scan_index_forward=False, limit=PAGE_SIZE
        )
    )
    keys = list(dict.fromkeys(link.reset_id for link in links))
    timelines = {t.reset_id: t for t in DeliveryTimeline.batch_get(keys)} if keys else {}
    return [Mail.of_link(link, timelines.get(link.reset_id)) for link in links]


def _firm_client(principal: Principal, account_id: str) -> Account:
    """The client account, when the caller is staff of its firm; the same 404 for everything else."""
    if not principal.is_staff:
        raise errors.Forbidden(locale=principal.locale)
    account = get_or_none(Account, account_id)
    if account is None or account.firm_id != principal.firm_id or account.role != "client":
        raise errors.AccountNotFound(locale=principal.locale)
    return account


def list_deliveries(principal: Principal, account_id: str) -> dict[str, Any]:
    """``GET /v1/accounts/{account_id}/password-reset/deliveries``: newest first, at most
    :data:`PAGE_SIZE`. What SES said of the address and the lock are the login's."""
    account = _firm_client(principal, account_id)
    login = get_login(account.email)
    now = _now()
    return {
        "email": account.email,
        "email_status": login.email_status if login is not None else "ok",
        # Whether a new link would help: "locked" (it unlocks), "archived" (refused) or "active".
        "account_status": account_status(account, login),
        "deliveries": [
            delivery_view(mail, account, login, locale=principal.locale, now=now)
            for mail in recent_mails(account.account_id)
        ],
    }


def undeliverable_diagnosis(account: Account, login: Login, *, locale: str) -> dict[str, Any]:
    """Why the address is blocked: the diagnosis of the newest mail that bounced, was suppressed or
    drew a complaint (a bounced invitation or notice counts as much as a reset); a general one when
    no mail explains it."""
    now = _now()
    for mail in recent_mails(account.account_id):
        events = timeline_events(mail.timeline)
        status = delivery_status(events, mail)
        if status in ADDRESS_PROBLEMS:
            found = diagnose(status, events, mail, account, login, locale=locale, now=now)
            if found:
                return found
    code = "complaint" if login.email_status == "complained" else "undeliverable"
    return describe(code, locale, email=account.email)
