"""Bodies and answers of the CRM's provisioning routes (ProvisioningFunction).
Apart per function, so a cold start builds only its own models."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from pwreset.api.schemas import Body, Email, Id, Locale, Name, Out, TimeZone


class FirmBody(Body):
    name: Name
    locale: Locale | None = None
    time_zone: TimeZone | None = None


class AccountBody(Body):
    firm_id: Id
    role: Literal["owner", "member", "client"]
    email: Email
    name: Name
    locale: Locale | None = None
    time_zone: TimeZone | None = None
    status: Literal["active", "archived"] | None = None
    send_invitation: StrictBool = False


class FirmOut(Out):
    firm_id: str
    name: str
    locale: Locale
    time_zone: str


class FirmProvisioned(Out):
    firm: FirmOut


class ProvisionedAccountOut(Out):
    account_id: str
    firm_id: str
    role: Literal["owner", "member", "client"]
    email: str
    name: str
    locale: Locale
    time_zone: str
    status: Literal["active", "archived", "locked"]
    has_password: bool
    email_status: Literal["ok", "undeliverable", "complained"]


class Revoked(Out):
    links: int
    sessions: int


class InvitationOutcome(Out):
    status: Literal["sent", "pending", "password_already_set", "not_sent", "send_failed"]
    invitation_id: str | None = None
    sent_to: str | None = None
    expires_at: str | None = None
    reason: str | None = None


class AccountProvisioned(Out):
    account: ProvisionedAccountOut
    revoked: Revoked
    invitation: InvitationOutcome | None = None


class ProvisionedAccount(Out):
    account: ProvisionedAccountOut


# Staff and session routes: a bearer token or the __Host-portal_session cookie (see the authorizer).
