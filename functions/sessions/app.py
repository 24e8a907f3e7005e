"""POST /v1/sessions (sign in), GET and DELETE /v1/sessions/current, PUT /v1/sessions/current/account
(act as another account of the login), POST /v1/sessions/current/password (change the password
while signed in), and GET /v1/accounts (the clients of a staff member's firm, for a portal's client
list)."""

from typing import Any

from pwreset.accounts import directory
from pwreset.api import password_function
from pwreset.api.powertools import Response
from pwreset.api.resolver import (
    api_handler,
    cleared_session_cookie,
    json_response,
    principal,
    request_meta,
    session_cookie,
)
from pwreset.api.schemas import SIGNED_IN, responses
from pwreset.api.schemas.sessions import (
    ChangePasswordBody,
    CurrentAccount,
    FirmClients,
    SessionReplaced,
    SignedIn,
    SignInBody,
    SwitchAccountBody,
)
from pwreset.core.config import settings
from pwreset.core.times import iso
from pwreset.credentials import changes, sessions

app = password_function.create_app()


@app.post(
    "/v1/sessions",
    summary="Sign in",
    tags=["sessions"],
    responses=responses(
        201, SignedIn, "Signed in (also as the __Host-portal_session cookie)", 400, 401, 403, 429
    ),
)
def sign_in(body: SignInBody) -> Response[dict[str, Any]]:
    done = sessions.sign_in(body.email, body.password, meta=request_meta(app), firm_id=body.firm_id)
    session = done.session
    return json_response(
        201,
        {
            "session": {"token": session.raw, "expires_at": iso(session.expires_at)},
            "account": sessions.account_view(done.account),
            "accounts": done.accounts,
        },
        cookies=[session_cookie(session.raw, max_age=settings().session_lifetime_seconds)],
    )


@app.get(
    "/v1/sessions/current",
    summary="Who is signed in: the account the session acts as, and every active account of its login",
    tags=["sessions"],
    responses=responses(200, CurrentAccount, "The signed-in account and the login's accounts", 401),
    security=SIGNED_IN,
)
def current() -> Response[dict[str, Any]]:
    return _acting_as(sessions.acting_as(principal(app)))


@app.put(
    "/v1/sessions/current/account",
    summary="Act as another account of the login (another firm); staff rights follow it",
    tags=["sessions"],
    responses=responses(200, CurrentAccount, "The session now acts as that account", 400, 401, 404),
    security=SIGNED_IN,
)
def switch_account(body: SwitchAccountBody) -> Response[dict[str, Any]]:
    return _acting_as(sessions.switch_account(principal(app), body.account_id))


def _acting_as(found: sessions.ActingAs) -> Response[dict[str, Any]]:
    return json_response(200, {"account": sessions.account_view(found.account), "accounts": found.accounts})


@app.delete(
    "/v1/sessions/current",
    summary="Sign out",
    tags=["sessions"],
    responses=responses(204, None, "Signed out", 401),
    security=SIGNED_IN,
)
def sign_out() -> Response[None]:
    sessions.sign_out(principal(app))
    return json_response(204, None, cookies=[cleared_session_cookie()])


@app.post(
    "/v1/sessions/current/password",
    summary="Change the password while signed in",
    tags=["sessions"],
    responses=responses(
        200,
        SessionReplaced,
        "Changed; this session is replaced (also as the __Host-portal_session cookie)",
        400,
        401,
        422,
        429,
    ),
    security=SIGNED_IN,
)
def change_password(body: ChangePasswordBody) -> Response[dict[str, Any]]:
    done = changes.change_password(
        principal(app), body.current_password, body.new_password, meta=request_meta(app)
    )
    session = done.session
    return json_response(
        200,
        {"session": {"token": session.raw, "expires_at": iso(session.expires_at)}},
        cookies=[session_cookie(session.raw, max_age=settings().session_lifetime_seconds)],
    )


@app.get(
    "/v1/accounts",
    summary="The clients of the caller's firm (staff only), sorted by name",
    tags=["accounts"],
    responses=responses(200, FirmClients, "The firm's clients", 401, 403),
    security=SIGNED_IN,
)
def firm_clients() -> Response[dict[str, Any]]:
    return json_response(200, {"accounts": directory.firm_clients(principal(app))})


lambda_handler = api_handler(app)


# SnapStart (pwreset.runtime.snapstart): prepared once, before the snapshot, instead of by a first request.
password_function.before_snapshot(app)
