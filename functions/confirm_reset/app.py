"""The public token routes: POST /v1/password-resets/verify, POST /v1/password-resets/confirm and
POST /v1/account-locks (the "It wasn't me" link of a password-changed mail)."""

from typing import Any

from pwreset.api import password_function
from pwreset.api.powertools import Response
from pwreset.api.resolver import api_handler, json_response, request_meta, session_cookie
from pwreset.api.schemas import responses
from pwreset.api.schemas.confirm import ConfirmBody, Confirmed, LockBody, Locked, Verified, VerifyBody
from pwreset.core.config import settings
from pwreset.core.times import iso
from pwreset.credentials import locks, resets

app = password_function.create_app()


@app.post(
    "/v1/password-resets/verify",
    summary="Check a reset link without using it",
    tags=["password resets"],
    responses=responses(200, Verified, "The link works", 400, 404, 409, 410, 429),
)
def verify(body: VerifyBody) -> Response[dict[str, Any]]:
    found = resets.verify_reset(body.token, meta=request_meta(app))
    return json_response(
        200,
        {
            "valid": True,
            "purpose": found.purpose,
            **({"code_required": True} if found.purpose == resets.UNLOCK else {}),
            "email_hint": found.email_hint,
            "expires_at": iso(found.expires_at),
            "locale": found.locale,
            "policy": found.policy,
            "firm": found.firm,
        },
    )


@app.post(
    "/v1/password-resets/confirm",
    summary="Set the new password and sign in",
    tags=["password resets"],
    responses=responses(
        200,
        Confirmed,
        "Changed; signed in (also as the __Host-portal_session cookie)",
        400,
        404,
        409,
        410,
        422,
        429,
    ),
)
def confirm(body: ConfirmBody) -> Response[dict[str, Any]]:
    done = resets.confirm_reset(body.token, body.password, code=body.code, meta=request_meta(app))
    session = done.session
    cookie = session_cookie(session.raw, max_age=settings().session_lifetime_seconds)
    return json_response(
        200,
        {
            "redirect_url": done.redirect_url,
            "session": {"token": session.raw, "expires_at": iso(session.expires_at)},
        },
        cookies=[cookie],
    )


@app.post(
    "/v1/account-locks",
    summary='Lock the account from an "It wasn\'t me" link',
    tags=["password resets"],
    responses=responses(200, Locked, "Locked: every session and open link ended", 400, 404, 409, 410, 429),
)
def lock(body: LockBody) -> Response[dict[str, Any]]:
    locks.lock_account(body.token, meta=request_meta(app))
    return json_response(200, {"status": "locked"})


lambda_handler = api_handler(app)


# SnapStart (pwreset.runtime.snapstart): prepared once, before the snapshot, instead of by a first request.
password_function.before_snapshot(app)
