"""Bodies and answers of the session routes and the password change (SessionsFunction).
Apart per function, so a cold start builds only its own models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictStr

from pwreset.api.schemas import Body, Id, Locale, Out, Password, SessionOut


class SignInBody(Body):
    # Not normalised by the model: a malformed address must fail like a wrong password (401).
    email: Annotated[StrictStr, Field(min_length=1, max_length=320, json_schema_extra={"format": "email"})]
    password: Password
    # A firm's own portal sends its firm: the session acts as the login's account there. A firm
    # where the login has no active account is the same 401 as a wrong password.
    firm_id: Id | None = None


class SwitchAccountBody(Body):
    account_id: Id


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


class LoginAccount(Out):
    """One active account of the session's login."""

    account_id: str
    firm_id: str
    firm_name: str
    role: Literal["owner", "member", "client"]


class SignedIn(Out):
    session: SessionOut
    account: AccountOut  # the account the session acts as
    accounts: list[LoginAccount]  # every active account of the login


class CurrentAccount(Out):
    account: AccountOut
    accounts: list[LoginAccount]


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
