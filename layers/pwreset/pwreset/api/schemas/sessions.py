"""Bodies and answers of the session routes and the password change (SessionsFunction).
Apart per function, so a cold start builds only its own models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictStr

from pwreset.api.schemas import Body, Locale, Out, Password, SessionOut


class SignInBody(Body):
    # Not normalised by the model: a malformed address must fail like a wrong password (401).
    email: Annotated[StrictStr, Field(min_length=1, max_length=320, json_schema_extra={"format": "email"})]
    password: Password


class ChangePasswordBody(Body):
    current_password: Password
    new_password: Password


class AccountOut(Out):
    account_id: str
    firm_id: str
    role: Literal["owner", "member", "client"]
    name: str
    email: str
    locale: Locale


class SignedIn(Out):
    session: SessionOut
    account: AccountOut


class CurrentAccount(Out):
    account: AccountOut


class SessionReplaced(Out):
    session: SessionOut


class FirmClient(Out):
    account_id: str
    name: str
    email: str
    status: Literal["active", "archived", "locked"]
    has_password: bool
    email_status: Literal["ok", "undeliverable", "complained"]


class FirmClients(Out):
    """``GET /v1/accounts``: the clients of the caller's firm, sorted by name."""

    accounts: list[FirmClient]
