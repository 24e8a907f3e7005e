"""The audit events table: what happened to which account, with the request's facts.

:func:`audit_event` builds an item (written inside the transaction that makes the change, so an
event exists exactly when the change does); the table's stream feeds the notifications, which read
an inserted item back as a :class:`PasswordChangedEvent`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from pwreset.core.request import RequestMeta
from pwreset.storage.models import Event

# An audit trail outlives the links and sessions it talks about (about 13 months).
EVENT_RETENTION = timedelta(days=400)


def audit_event(
    kind: str,
    *,
    account_id: str,
    firm_id: str,
    meta: RequestMeta,
    at: datetime,
    detail: Mapping[str, object],
) -> Event:
    """An events-table item of ``kind`` for the account, with ``detail`` and the request's facts
    (IP, user agent, location headers)."""
    return Event(
        uuid.uuid4().hex,
        type=kind,
        account_id=account_id,
        firm_id=firm_id,
        at=at,
        detail={**detail, **meta.as_detail()},
        ttl=at + EVENT_RETENTION,
    )


class ChangeDetail(BaseModel):
    """What the confirm path recorded about the request that changed the password
    (see ``credentials.resets.confirm_reset`` and ``RequestMeta.as_detail``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reset_id: str | None = None
    requested_by: str | None = None  # staff account id; None = the client asked (self-service)
    requested_by_name: str | None = None
    requested_at: datetime | None = None
    source_ip: str = "unknown"
    user_agent: str = ""
    request_id: str = ""
    country: str | None = None
    country_name: str | None = None
    region: str | None = None
    city: str | None = None


class PasswordChangedEvent(BaseModel):
    """The NEW_IMAGE of a ``password_changed`` item in the events table."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    type: Literal["password_changed"]
    account_id: Annotated[str, Field(min_length=1, max_length=128)]
    firm_id: Annotated[str, Field(min_length=1, max_length=128)]
    at: datetime
    detail: ChangeDetail = ChangeDetail()
