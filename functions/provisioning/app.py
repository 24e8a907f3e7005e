"""The CRM's provisioning routes (API Gateway ``AWS_IAM`` authorization, SigV4):
PUT|GET /v1/admin/firms/{firm_id}, PUT|GET|DELETE /v1/admin/accounts/{account_id}."""

from typing import Annotated, Any

from pwreset.accounts import provisioning
from pwreset.api import warm_up
from pwreset.api.powertools import Path, Response
from pwreset.api.resolver import api_handler, create_app, iam_caller, json_response, request_meta
from pwreset.api.schemas import ID_PATTERN, SIGV4, AccountIdPath, created_or_updated, responses
from pwreset.api.schemas.provisioning import (
    AccountBody,
    AccountProvisioned,
    FirmBody,
    FirmProvisioned,
    ProvisionedAccount,
)

app = create_app()

FirmId = Annotated[str, Path(pattern=ID_PATTERN, description="The CRM's id of the firm")]
AccountId = AccountIdPath


@app.put(
    "/v1/admin/firms/<firm_id>",
    summary="Create or update a firm (CRM)",
    tags=["provisioning"],
    responses=created_or_updated(FirmProvisioned, 400, 403),
    security=SIGV4,
)
def put_firm(firm_id: FirmId, body: FirmBody) -> Response[dict[str, Any]]:
    spec = provisioning.FirmSpec(
        name=body.name, locale=body.locale, time_zone=body.time_zone, white_label=body.white_label()
    )
    firm, created = provisioning.put_firm(firm_id, spec)
    return json_response(201 if created else 200, {"firm": provisioning.firm_view(firm)})


@app.get(
    "/v1/admin/firms/<firm_id>",
    summary="Read a firm (CRM)",
    tags=["provisioning"],
    responses=responses(200, FirmProvisioned, "The firm", 403, 404),
    security=SIGV4,
)
def get_firm(firm_id: FirmId) -> Response[dict[str, Any]]:
    return json_response(200, {"firm": provisioning.firm_view(provisioning.get_firm(firm_id))})


@app.put(
    "/v1/admin/accounts/<account_id>",
    summary="Create or update an account (CRM)",
    tags=["provisioning"],
    responses=created_or_updated(AccountProvisioned, 400, 403, 404, 409),
    security=SIGV4,
)
def put_account(account_id: AccountId, body: AccountBody) -> Response[dict[str, Any]]:
    done = provisioning.put_account(
        account_id,
        provisioning.AccountSpec(**body.model_dump()),
        caller=iam_caller(app),
        meta=request_meta(app),
    )
    answer: dict[str, Any] = {
        "account": provisioning.account_view(done.account, done.login),
        "revoked": {"links": done.revoked_links, "sessions": done.revoked_sessions},
    }
    if done.invitation is not None:
        answer["invitation"] = done.invitation
    return json_response(201 if done.created else 200, answer)


@app.get(
    "/v1/admin/accounts/<account_id>",
    summary="Read an account (CRM)",
    tags=["provisioning"],
    responses=responses(200, ProvisionedAccount, "The account", 400, 403, 404),
    security=SIGV4,
)
def get_account(account_id: AccountId) -> Response[dict[str, Any]]:
    account, login = provisioning.get_account(account_id)
    return json_response(200, {"account": provisioning.account_view(account, login)})


@app.delete(
    "/v1/admin/accounts/<account_id>",
    summary="Erase an account and its personal data (CRM)",
    tags=["provisioning"],
    responses=responses(204, None, "Erased", 400, 403, 404),
    security=SIGV4,
)
def delete_account(account_id: AccountId) -> Response[None]:
    provisioning.erase_account(account_id, caller=iam_caller(app))
    return json_response(204, None)


lambda_handler = api_handler(app)


# SnapStart (pwreset.runtime.snapstart): prepared once, before the snapshot, instead of by a first request.
warm_up.before_snapshot(
    app,
    services=("dynamodb", "sesv2"),
    # A request through CloudFront checks the origin secret (powertools' parameters, boto3).
    modules=("pwreset.api.origin_verify",),
    mails=("invitation", "access_granted", "previous_address"),
)
