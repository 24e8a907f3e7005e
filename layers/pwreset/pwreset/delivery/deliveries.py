"""What happened to each reset mail of a client, for the firm's staff.

The status of a mail is computed from its whole timeline (never from the latest arrival, because
SES events arrive in any order), by this precedence, strongest first:

    complained > suppressed > bounced > failed > delivered > delayed > sent

* ``complained``: the client marked it as spam (it had been delivered, so it outranks delivery);
* ``suppressed``: SES did not send it, the address is on a suppression list;
* ``bounced``: the receiving side refused it, even after a Delivery (servers accept and bounce
  later);
* ``failed``: never left SES (Reject, Rendering Failure) or the SES call itself failed;
* ``delivered``: the recipient's server accepted it; a later DeliveryDelay does not undo that;
* ``delayed``: SES is still retrying;
* ``sent``: handed to SES, nothing else known yet.

The diagnosis is computed at read time as well, in the reader's language, including the one SES
cannot report: delivered, not used and now expired (spam folder?).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pwreset.core import errors
from pwreset.core.request import Principal
from pwreset.delivery.diagnosis import classify_bounce, classify_delay, describe
from pwreset.storage.accounts import account_status, get_login, get_or_none
from pwreset.storage.models import Account, DeliveryTimeline, Login, ResetToken

PAGE_SIZE = 20
STATUS_PRECEDENCE = ("complained", "suppressed", "bounced", "failed", "delivered", "delayed", "sent")
ADDRESS_PROBLEMS = frozenset({"complained", "suppressed", "bounced"})
_SUPPRESSED_SUBTYPES = ("Suppressed", "OnAccountSuppressionList")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TimelineEvent:
    key: str
    type: str
    at: str
    detail: dict[str, Any]


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
        return "suppressed" if event.detail.get("bounce_subtype") in _SUPPRESSED_SUBTYPES else "bounced"
    return {
        "send": "sent",
        "delivery": "delivered",
        "delivery_delay": "delayed",
        "reject": "failed",
        "rendering_failure": "failed",
        "complaint": "complained",
    }.get(event.type)


def delivery_status(events: Iterable[TimelineEvent], record: ResetToken) -> str:
    if record.status == "send_failed":
        return "failed"
    found = {event_status(e) for e in events}
    return next((status for status in STATUS_PRECEDENCE if status in found), "sent")


def _recipient_facts(event: TimelineEvent | None, email: str) -> dict[str, Any]:
    """The per-recipient facts for this reset's own address only."""
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


def _expired_unused(record: ResetToken, login: Login | None, now: datetime) -> bool:
    same_password = login is None or record.password_version == login.password_version
    return record.status == "issued" and now >= record.expires_at and same_password


def diagnose(
    status: str,
    events: list[TimelineEvent],
    record: ResetToken,
    login: Login | None,
    *,
    locale: str,
    now: datetime,
) -> dict[str, Any] | None:
    decisive = next((e for e in reversed(events) if event_status(e) == status), None)
    facts = _recipient_facts(decisive, record.email)
    code: str | None = None
    if status == "suppressed":
        code = "suppressed"
    elif status == "bounced" and decisive is not None:
        code = classify_bounce(
            decisive.detail.get("bounce_type"),
            decisive.detail.get("bounce_subtype"),
            facts.get("diagnostic_code"),
        )
    elif status == "complained":
        code = "complaint"
    elif status == "failed":
        by_type = {"reject": "rejected_by_ses", "rendering_failure": "rendering_failed"}
        code = by_type.get(decisive.type, "send_failed") if decisive else "send_failed"
    elif status == "delayed" and decisive is not None:
        code = classify_delay(decisive.detail.get("delay_type"), facts.get("diagnostic_code"))
    elif status == "delivered" and _expired_unused(record, login, now):
        code = "delivered_not_used"
    return describe(code, locale, email=record.email) if code else None


def delivery_view(
    record: ResetToken,
    timeline: DeliveryTimeline | None,
    login: Login | None,
    *,
    locale: str,
    now: datetime,
) -> dict[str, Any]:
    events = timeline_events(timeline)
    status = delivery_status(events, record)
    return {
        "reset_id": record.reset_id,
        "requested_at": record.requested_at,
        "requested_by": (
            {"account_id": record.requested_by, "name": record.requested_by_name}
            if record.requested_by
            else None
        ),
        "status": status,
        "events": [{"type": e.type, "at": e.at, "detail": public_detail(e, record.email)} for e in events],
        "diagnosis": diagnose(status, events, record, login, locale=locale, now=now),
    }


def _recent_resets(account_id: str) -> tuple[list[ResetToken], dict[str, DeliveryTimeline]]:
    records = list(ResetToken.by_account.query(account_id, scan_index_forward=False, limit=PAGE_SIZE))
    keys = list(dict.fromkeys(r.reset_id for r in records))
    timelines = {t.reset_id: t for t in DeliveryTimeline.batch_get(keys)} if keys else {}
    return records, timelines


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
    records, timelines = _recent_resets(account.account_id)
    now = _now()
    return {
        "email": account.email,
        "email_status": login.email_status if login is not None else "ok",
        # Whether a new link would help: "locked" (it unlocks), "archived" (refused) or "active".
        "account_status": account_status(account, login),
        "deliveries": [
            delivery_view(r, timelines.get(r.reset_id), login, locale=principal.locale, now=now)
            for r in records
        ],
    }


def undeliverable_diagnosis(account: Account, login: Login, *, locale: str) -> dict[str, Any]:
    """Why the address is blocked: the diagnosis of the newest reset mail that bounced, was
    suppressed or drew a complaint; a general one when no reset mail explains it (e.g. another
    mail to the address bounced)."""
    records, timelines = _recent_resets(account.account_id)
    now = _now()
    for record in records:
        events = timeline_events(timelines.get(record.reset_id))
        status = delivery_status(events, record)
        if status in ADDRESS_PROBLEMS:
            found = diagnose(status, events, record, login, locale=locale, now=now)
            if found:
                return found
    code = "complaint" if login.email_status == "complained" else "undeliverable"
    return describe(code, locale, email=account.email)
