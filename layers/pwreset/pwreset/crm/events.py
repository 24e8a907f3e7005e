"""The events the CRM hears of, made from the audit events the events table's stream carries.

Every event's ``Detail`` has ``event_id`` (the audit event's own id: the stream may deliver a
record twice and a failed entry is put again, and every copy carries the same id, so the CRM
deduplicates on it), ``occurred_at``, ``account_id`` and ``firm_id``; a change that acts on the
login (a new password, a lock) also names every account it affected (``accounts``). What each type
adds is in ``docs/events.md`` and the contract's table. Nothing here reads an address, a token, a
hash or a password: the audit events hold none of them, an address change only masked hints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pwreset.core.times import iso
from pwreset.credentials.tokens import BY_PROVISIONING
from pwreset.mail import geo, useragent
from pwreset.storage.events import (
    PUBLISHABLE_TYPES,
    AccountLockedEvent,
    AccountProvisionedEvent,
    EmailUndeliverableEvent,
    PasswordChangedEvent,
    RequestFacts,
    StreamedEvent,
    publishable,
)

SOURCE = "pwreset"
PASSWORD_CHANGED = "PasswordChanged"  # noqa: S105 - an event name, not a password
ACCOUNT_LOCKED = "AccountLocked"
EMAIL_UNDELIVERABLE = "EmailUndeliverable"
EMAIL_CHANGED = "EmailChanged"
DETAIL_TYPES = (PASSWORD_CHANGED, ACCOUNT_LOCKED, EMAIL_UNDELIVERABLE, EMAIL_CHANGED)
# Client facts are for machines: English place names, whatever the firm's language.
LOCATION_LOCALE = "en"

AuditEvent = PasswordChangedEvent | AccountLockedEvent | EmailUndeliverableEvent | AccountProvisionedEvent


@dataclass(frozen=True)
class CrmEvent:
    """One event for the bus: its ``DetailType`` and ``Detail``."""

    detail_type: str
    occurred_at: datetime
    detail: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.detail["event_id"])

    def entry(self, bus_name: str) -> dict[str, Any]:
        """The ``PutEvents`` entry. ``Time`` is when it happened, not when it was put."""
        return {
            "Source": SOURCE,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail, ensure_ascii=False, separators=(",", ":")),
            "EventBusName": bus_name,
            "Time": self.occurred_at,
        }


# (account_id, firm_id) of an event -> every {account_id, firm_id} a change of its login affected.
AccountsOf = Callable[[str, str], list[dict[str, str]]]


def login_accounts(account_id: str, firm_id: str) -> list[dict[str, str]]:
    """The event's own account alone: what a change affected when nothing more is known (the
    publisher reads the login's accounts, ``pwreset.crm.accounts``)."""
    return [{"account_id": account_id, "firm_id": firm_id}]


def from_stream_image(image: Mapping[str, Any], accounts_of: AccountsOf = login_accounts) -> CrmEvent | None:
    """The CRM's event for an inserted events-table item (a stream record's ``NewImage``), or None
    for an item the CRM does not hear of (a provisioning write that left the address alone).
    ``accounts_of`` lists the accounts a change of the login affected (issue #22: a reset, a change
    or a lock acts on every account that shares the address, and the CRM hears of each).
    Raises pydantic's ``ValidationError`` for an item of a publishable type that is malformed."""
    if image.get("type") not in PUBLISHABLE_TYPES:
        return None
    return crm_event(publishable().validate_python(image), accounts_of)


def crm_event(audit: AuditEvent, accounts_of: AccountsOf = login_accounts) -> CrmEvent | None:
    if isinstance(audit, PasswordChangedEvent):
        return password_changed(audit, accounts_of)
    if isinstance(audit, AccountLockedEvent):
        return account_locked(audit, accounts_of)
    if isinstance(audit, EmailUndeliverableEvent):
        return email_undeliverable(audit)
    return email_changed(audit)


def _common(audit: StreamedEvent) -> dict[str, Any]:
    return {
        "event_id": audit.event_id,
        "occurred_at": iso(audit.at),
        "account_id": audit.account_id,
        "firm_id": audit.firm_id,
    }


def client(facts: RequestFacts) -> dict[str, str | None]:
    """The request's IP, location, operating system and browser, as the firm's mails name them
    (``pwreset.mail.geo`` and ``useragent``); None where unknown."""
    software = useragent.describe(facts.user_agent)
    ip = facts.source_ip if facts.source_ip and facts.source_ip != "unknown" else None
    return {
        "ip": ip,
        "location": geo.locate(facts.model_dump(), LOCATION_LOCALE),
        "os": software.os,
        "browser": software.browser,
    }


def via(change: PasswordChangedEvent) -> str:
    """How the password came to change: ``staff_reset``, ``self_service``, ``invitation``,
    ``change`` (signed in) or ``unlock`` (a staff-sent link that also lifted a lock)."""
    detail = change.detail
    if detail.change == "portal":
        return "change"
    if detail.change == "invitation":
        return "invitation"
    if detail.unlocked:
        return "unlock"
    return "self_service" if detail.requested_by is None else "staff_reset"


def password_changed(change: PasswordChangedEvent, accounts_of: AccountsOf = login_accounts) -> CrmEvent:
    detail = change.detail
    requested_by = detail.requested_by if detail.requested_by != BY_PROVISIONING else None
    return CrmEvent(
        PASSWORD_CHANGED,
        change.at,
        {
            **_common(change),
            "accounts": accounts_of(change.account_id, change.firm_id),
            "via": via(change),
            "requested_by": requested_by,
            "client": client(detail),
        },
    )


def account_locked(lock: AccountLockedEvent, accounts_of: AccountsOf = login_accounts) -> CrmEvent:
    return CrmEvent(
        ACCOUNT_LOCKED,
        lock.at,
        {
            **_common(lock),
            "accounts": accounts_of(lock.account_id, lock.firm_id),
            "client": client(lock.detail),
        },
    )


def email_undeliverable(verdict: EmailUndeliverableEvent) -> CrmEvent:
    return CrmEvent(
        EMAIL_UNDELIVERABLE,
        verdict.at,
        {
            **_common(verdict),
            "email_status": verdict.detail.email_status,
            "diagnosis": {"code": verdict.detail.diagnosis_code},
        },
    )


def email_changed(provisioned: AccountProvisionedEvent) -> CrmEvent | None:
    detail = provisioned.detail
    if detail.created or not detail.previous_hint or not detail.new_hint:
        return None
    return CrmEvent(
        EMAIL_CHANGED,
        provisioned.at,
        {**_common(provisioned), "previous_hint": detail.previous_hint, "new_hint": detail.new_hint},
    )
