"""Bodies and answers of the reset and invitation requests (RequestResetFunction).
Apart per function, so a cold start builds only its own models."""

from __future__ import annotations

from typing import Literal

from pwreset.api.schemas import Body, Email, Id, Locale, Out


class SelfServiceResetBody(Body):
    email: Email
    locale: Locale | None = None
    # A firm's own portal sends its firm: the link is for the login's account there (none there:
    # nothing is sent, and the answer is the same).
    firm_id: Id | None = None


class Accepted(Out):
    status: Literal["accepted"]


class StaffResetSent(Out):
    reset_id: str
    sent_to: str
    expires_at: str
    # Only for a locked login: six digits staff read to the client over the phone, after checking
    # who they are; the link's confirm needs them.
    unlock_code: str | None = None


class InvitationSent(Out):
    invitation_id: str
    sent_to: str
    expires_at: str
