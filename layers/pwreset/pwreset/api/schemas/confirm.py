"""Bodies and answers of verify, confirm and the "It wasn't me" lock (ConfirmResetFunction).
Apart per function, so a cold start builds only its own models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictStr

from pwreset.api.schemas import Body, FirmContactOut, Locale, Out, Password, SessionOut, Token


class VerifyBody(Body):
    token: Token


# The digits staff read over the phone; spaces or hyphens between them are allowed. Longer than
# six, so a mistyped code is a 422 code_invalid (which counts), not a 400.
UnlockCode = Annotated[StrictStr, Field(max_length=32)]


class ConfirmBody(Body):
    token: Token
    password: Password
    # Only for an unlock link (verify says code_required); any other link ignores it.
    code: UnlockCode | None = None


class PolicyRule(Out):
    rule: str
    message: str


class PolicyDescription(Out):
    min_length: int
    max_length: int
    rules: list[PolicyRule]


class PageFirm(Out):
    """Whose brand the hosted page shows."""

    firm_id: str
    name: str
    logo_url: str | None
    color: str | None
    contact: FirmContactOut | None


class Verified(Out):
    valid: Literal[True]
    purpose: Literal["reset", "invitation", "unlock"]
    # Only for an unlock link: its confirm needs the code the firm read to the client.
    code_required: Literal[True] | None = None
    email_hint: str
    expires_at: str
    locale: Locale
    policy: PolicyDescription
    firm: PageFirm | None


class Confirmed(Out):
    redirect_url: str
    session: SessionOut


class LockBody(Body):
    token: Token


class Locked(Out):
    status: Literal["locked"]
