"""Answers of the SES webhook and the deliveries view (SesEventsFunction).
Apart per function, so a cold start builds only its own models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pwreset.api.schemas import Out
from pwreset.delivery.outbox import KINDS

# The kinds of client mail (pwreset.delivery.outbox.KINDS): a kind added there is one the API names.
if TYPE_CHECKING:
    MailKind = str
else:
    MailKind = Literal[tuple(KINDS)]


class WebhookOutcome(Out):
    status: str


class Diagnosis(Out):
    code: str
    summary: str
    advice: list[str]


class DeliveryEvent(Out):
    type: str
    at: str
    detail: dict[str, Any]


class Requester(Out):
    account_id: str
    name: str


class Delivery(Out):
    reset_id: str
    kind: MailKind
    requested_at: str
    requested_by: Requester | None
    status: Literal["sent", "delivered", "bounced", "complained", "suppressed", "delayed", "failed"]
    events: list[DeliveryEvent]
    diagnosis: Diagnosis | None


class Deliveries(Out):
    email: str
    email_status: Literal["ok", "undeliverable", "complained"]
    account_status: Literal["active", "locked", "archived"]
    deliveries: list[Delivery]
