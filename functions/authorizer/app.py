"""REQUEST authorizer: a bearer token or the __Host-portal_session cookie -> the account the session
acts as (its firm and role are the caller's rights) and the session's login.

With two or more cookies of that name none is believed (``session_cookie_token``).

Results are not cached by API Gateway (ReauthorizeEvery: 0), so a revoked session stops working at
once. Anything but a currently valid session is "Unauthorized", which API Gateway turns into the
contract's 401 through the template's gateway responses.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pwreset.api import warm_up
from pwreset.api.powertools import APIGatewayAuthorizerRequestEvent, APIGatewayAuthorizerResponse
from pwreset.api.resolver import session_cookie_token
from pwreset.core.observability import metrics, observed_handler
from pwreset.credentials.sessions import resolve_session


def session_token(event: APIGatewayAuthorizerRequestEvent) -> str | None:
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    scheme, _, value = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return session_cookie_token(event.raw_event)


@observed_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerRequestEvent(event)
    resolved = resolve_session(session_token(request))
    if resolved is None:
        metrics.add_metric(name="AuthorizerDenied", unit="Count", value=1)
        raise Exception("Unauthorized")
    who, _ = resolved
    arn = request.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=who.account_id,
        context={
            "account_id": who.account_id,
            "firm_id": who.firm_id,
            "role": who.role,
            "name": who.name,
            "locale": who.locale,
            "session_hash": who.session_hash,
            "email": who.email,
        },
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
    )
    policy.allow_all_routes()
    return policy.asdict()


# SnapStart (pwreset.runtime.snapstart): prepared once, before the snapshot, instead of by a first request.
warm_up.before_snapshot(services=("dynamodb",))
