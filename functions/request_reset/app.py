"""POST /v1/password-resets (self-service), POST /v1/accounts/{account_id}/password-reset and
POST /v1/accounts/{account_id}/invitation (staff)."""

from typing import Any

from pwreset.api import warm_up
from pwreset.api.powertools import Response
from pwreset.api.resolver import api_handler, create_app, json_response, principal, request_meta
from pwreset.api.schemas import SIGNED_IN, responses
from pwreset.api.schemas.resets import Accepted, InvitationSent, SelfServiceResetBody, StaffResetSent
from pwreset.core.times import iso
from pwreset.credentials import resets

app = create_app()


@app.post(
    "/v1/password-resets",
    summary="Ask for a reset link (self-service)",
    tags=["password resets"],
    responses=responses(202, Accepted, "Accepted, whether or not the address is known", 400, 503),
)
def self_service(body: SelfServiceResetBody) -> Response[dict[str, Any]]:
    resets.request_self_service_reset(
        body.email, locale=body.locale, firm_id=body.firm_id, meta=request_meta(app)
    )
    # The same bytes whether or not the address exists, is archived or undeliverable.
    return json_response(202, {"status": "accepted"})


@app.post(
    "/v1/accounts/<account_id>/password-reset",
    summary="Send a client a reset link (firm staff)",
    tags=["password resets"],
    responses=responses(202, StaffResetSent, "The link is on its way", 400, 401, 403, 404, 409, 429, 502),
    security=SIGNED_IN,
)
def staff_send(account_id: str) -> Response[dict[str, Any]]:
    sent = resets.request_staff_reset(principal(app), account_id, meta=request_meta(app))
    unlock = {"unlock_code": sent.unlock_code} if sent.unlock_code else {}
    return json_response(
        202,
        {"reset_id": sent.reset_id, "sent_to": sent.sent_to, "expires_at": iso(sent.expires_at), **unlock},
    )


@app.post(
    "/v1/accounts/<account_id>/invitation",
    summary="Invite a client: a welcome mail with a link to set the first password (firm staff)",
    tags=["password resets"],
    responses=responses(
        202, InvitationSent, "The invitation is on its way", 400, 401, 403, 404, 409, 429, 502
    ),
    security=SIGNED_IN,
)
def invite(account_id: str) -> Response[dict[str, Any]]:
    sent = resets.request_staff_invitation(principal(app), account_id, meta=request_meta(app))
    return json_response(
        202, {"invitation_id": sent.reset_id, "sent_to": sent.sent_to, "expires_at": iso(sent.expires_at)}
    )


lambda_handler = api_handler(app)


# SnapStart (pwreset.runtime.snapstart): prepared once, before the snapshot, instead of by a first request.
warm_up.before_snapshot(
    app,
    services=("dynamodb", "sesv2", "sqs"),
    # A request through CloudFront checks the origin secret (powertools' parameters, boto3).
    modules=("pwreset.api.origin_verify",),
    mails=("reset_link", "invitation"),
)
