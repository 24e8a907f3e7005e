"""Answers of the SES webhook and the deliveries view (SesEventsFunction).
Apart per function, so a cold start builds only its own models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pwreset.api.schemas import Out


class WebhookOutcome(Out):
    status: str


# An SNS field the webhook needs: present and not empty (else 400).
Filled = Annotated[str, Field(min_length=1)]


class _SnsEnvelope(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    MessageId: Filled
    TopicArn: Filled
    Message: Filled
    Timestamp: Filled
    SignatureVersion: Literal["1", "2"]
    Signature: Filled
    SigningCertURL: Filled
    Subject: str | None = None


class SnsNotification(_SnsEnvelope):
    Type: Literal["Notification"]


class SnsConfirmation(_SnsEnvelope):
    Type: Literal["SubscriptionConfirmation", "UnsubscribeConfirmation"]
    SubscribeURL: Filled
    Token: Filled


# What SNS posts to an HTTPS endpoint (JSON, labelled text/plain): documented, not parsed by the
# resolver (pwreset.delivery.sns checks it). An empty body, or anything but one of these
# objects, is 400 invalid_request.
SnsMessage = Annotated[SnsNotification | SnsConfirmation, Field(discriminator="Type")]


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
