"""Bodies and answers of the reset and invitation requests (RequestResetFunction).
Apart per function, so a cold start builds only its own models."""

from __future__ import annotations

from typing import Literal

from pwreset.api.schemas import Body, Email, Locale, Out


class SelfServiceResetBody(Body):
    email: Email
    locale: Locale | None = None


class Accepted(Out):
    status: Literal["accepted"]


class StaffResetSent(Out):
    reset_id: str
    sent_to: str
    expires_at: str


class InvitationSent(Out):
    invitation_id: str
    sent_to: str
    expires_at: str
