"""POST /v1/webhooks/ses (SNS, signed; no session) and
GET /v1/accounts/{account_id}/password-reset/deliveries (the firm's staff)."""

from typing import Any

from pwreset.api import warm_up
from pwreset.api.powertools import Response
from pwreset.api.resolver import api_handler, create_app, json_response, principal
from pwreset.api.schemas import SIGNED_IN, error_responses, responses
from pwreset.api.schemas.delivery import Deliveries, WebhookOutcome
from pwreset.delivery import deliveries, ses_events

# SNS posts its JSON as text/plain: the resolver's JSON content-type gate stays off here, and the
# webhook parses and verifies the body itself.
app = create_app(json_only=False, max_body_bytes=ses_events.MAX_WEBHOOK_BYTES)


@app.post(
    "/v1/webhooks/ses",
    summary="SES events from SNS (signed)",
    tags=["delivery"],
    # The resolver does not parse this body (SNS labels its JSON text/plain); say what it is.
    openapi_extensions={
        "x-text-body": {
            "description": "An SNS HTTP(S) message: a JSON object, sent as text/plain. An empty body, "
            "or anything but such an object, is 400 invalid_request.",
            # Built by the document's generator (devstack.openapi), not at a cold start.
            "schema_model": "pwreset.api.schemas.delivery.SnsMessage",
        }
    },
    responses={
        **responses(200, WebhookOutcome, "Handled (or a duplicate, acknowledged)", 400, 403),
        **error_responses(503),
    },
)
def webhook() -> Response[dict[str, Any]]:
    event = app.current_event
    # SNS posts JSON as text/plain, so the body is parsed here, not by the resolver's validation.
    outcome = ses_events.handle_webhook(
        event.decoded_body, message_type=event.headers.get("x-amz-sns-message-type")
    )
    return json_response(200, {"status": outcome})


@app.get(
    "/v1/accounts/<account_id>/password-reset/deliveries",
    summary="What happened to each reset mail of a client, with a diagnosis",
    tags=["delivery"],
    responses=responses(200, Deliveries, "Newest first", 401, 403, 404),
    security=SIGNED_IN,
)
def list_deliveries(account_id: str) -> Response[dict[str, Any]]:
    return json_response(200, deliveries.list_deliveries(principal(app), account_id))


lambda_handler = api_handler(app)


# SnapStart (pwreset.runtime.snapstart): prepared once, before the snapshot, instead of by a first request.
warm_up.before_snapshot(
    app,
    services=("dynamodb",),
    modules=(
        "cryptography.x509",
        "cryptography.exceptions",
        "cryptography.hazmat.primitives.hashes",
        "cryptography.hazmat.primitives.asymmetric.padding",
        "cryptography.hazmat.primitives.asymmetric.rsa",
    ),
)
