"""The audit events table: what happened to which account, with the request's facts.

:func:`audit_event` builds an item (written inside the transaction that makes the change, so an
event exists exactly when the change does); the table's stream feeds the notifications, which read
an inserted item back as a :class:`PasswordChangedEvent` or an :class:`AccountLockedEvent`, and the
events for the CRM (``pwreset.crm``), which read those two, :class:`EmailUndeliverableEvent` and
:class:`AccountProvisionedEvent` too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from pwreset.core.request import RequestMeta
from pwreset.storage.models import Event

# An audit trail outlives the links and sessions it talks about (about 13 months).
EVENT_RETENTION = timedelta(days=400)


def audit_event(
    kind: str,
    *,
    account_id: str,
    firm_id: str,
    meta: RequestMeta | None,
    at: datetime,
    detail: Mapping[str, object],
) -> Event:
    """An events-table item of ``kind`` for the account, with ``detail`` and the request's facts
    (IP, user agent, location headers); ``meta`` is None for what no person's request caused (an
    SES event through SNS)."""
    return Event(
        uuid.uuid4().hex,
        type=kind,
        account_id=account_id,
        firm_id=firm_id,
        at=at,
        detail={**detail, **(meta.as_detail() if meta is not None else {})},
        ttl=at + EVENT_RETENTION,
    )


class RequestFacts(BaseModel):
    """The facts of a request as ``RequestMeta.as_detail`` records them (IP, browser, location)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    source_ip: str = "unknown"
    user_agent: str = ""
    country: str | None = None
    country_name: str | None = None
    region: str | None = None
    city: str | None = None


class ChangeDetail(RequestFacts):
    """What the confirm path recorded about the request that changed the password: its facts
    (inherited) and how the change came about (see ``credentials.resets.confirm_reset`` and
    ``RequestMeta.as_detail``)."""

    # How it came about: reset (a link), invitation (the first password), portal (signed in).
    change: Literal["reset", "invitation", "portal"] = "reset"
    reset_id: str | None = None
    requested_by: str | None = None  # staff account id; None = the client asked (self-service)
    requested_by_name: str | None = None
    requested_at: datetime | None = None
    request_id: str = ""
    # A staff-sent link confirmed on a locked account: the change also lifted the lock.
    unlocked: bool = False


class StreamedEvent(BaseModel):
    """What every item of the events table that the stream hands on carries (its NEW_IMAGE): which
    event, whose account in which firm, and when."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    account_id: Annotated[str, Field(min_length=1, max_length=128)]
    firm_id: Annotated[str, Field(min_length=1, max_length=128)]
    at: datetime


class PasswordChangedEvent(StreamedEvent):
    """The NEW_IMAGE of a ``password_changed`` item in the events table."""

    type: Literal["password_changed"]
    detail: ChangeDetail = ChangeDetail()


class LockDetail(RequestFacts):
    """What the lock recorded: the lock request's own facts (inherited) and the change it disowned
    (see ``credentials.locks.lock_account``)."""

    reported_event_id: str | None = None
    reported_change: Literal["reset", "invitation", "portal"] = "reset"
    reported_at: datetime | None = None
    reported: RequestFacts = RequestFacts()
    # A second lock link used on an account that was already locked.
    already_locked: bool = False


class AccountLockedEvent(StreamedEvent):
    """The NEW_IMAGE of an ``account_locked`` item in the events table."""

    type: Literal["account_locked"]
    detail: LockDetail = LockDetail()


# The events the notification function mails about, told apart by their ``type``.
NotifiableEvent = Annotated[PasswordChangedEvent | AccountLockedEvent, Field(discriminator="type")]
NOTIFIABLE_TYPES = ("password_changed", "account_locked")


@cache
def notifiable() -> TypeAdapter[PasswordChangedEvent | AccountLockedEvent]:
    """The stream image's parser; built on first use, since every function imports this module and
    only the notification function reads events back."""
    return TypeAdapter(NotifiableEvent)


class AddressVerdictDetail(BaseModel):
    """What the SES webhook recorded when an event condemned an account's address (see
    ``delivery.ses_events``): the verdict and the diagnosis code, never the address."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    email_status: Literal["undeliverable", "complained"]
    diagnosis_code: str
    reset_id: str | None = None  # the reset whose mail bounced, when it was one


class EmailUndeliverableEvent(StreamedEvent):
    """The NEW_IMAGE of an ``email_undeliverable`` item in the events table."""

    type: Literal["email_undeliverable"]
    detail: AddressVerdictDetail


class ProvisionedDetail(BaseModel):
    """What a provisioning ``PUT`` recorded (see ``accounts.provisioning``): which fields it changed
    and, when the address was one of them, the previous and the new address masked."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    fields: tuple[str, ...] = ()
    created: bool = False
    previous_hint: str | None = None
    new_hint: str | None = None


class AccountProvisionedEvent(StreamedEvent):
    """The NEW_IMAGE of an ``account_provisioned`` item in the events table."""

    type: Literal["account_provisioned"]
    detail: ProvisionedDetail = ProvisionedDetail()


# What the events for the CRM are made of, told apart by their ``type``.
PublishableEvent = Annotated[
    PasswordChangedEvent | AccountLockedEvent | EmailUndeliverableEvent | AccountProvisionedEvent,
    Field(discriminator="type"),
]
PUBLISHABLE_TYPES = ("password_changed", "account_locked", "email_undeliverable", "account_provisioned")


@cache
def publishable() -> TypeAdapter[
    PasswordChangedEvent | AccountLockedEvent | EmailUndeliverableEvent | AccountProvisionedEvent
]:
    """The stream image's parser for the events for the CRM; built on first use (as above)."""
    return TypeAdapter(PublishableEvent)
