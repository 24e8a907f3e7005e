"""SnapStart warm-ups that handlers register (``pwreset.runtime.snapstart.before_snapshot``): each
prepares, before the snapshot, something a first request would otherwise pay for.

The resolver's is the largest: the routes' request models built whole, then one request per route,
resolved in the process with every AWS call answered offline (``pwreset.core.aws.offline``), builds
the routes' validation (pydantic's validators, powertools' dependants and response serialisation),
the error mapping and whatever the route itself touches before it fails or answers. Nothing it
does leaves the process; the logs, metrics and resolver state it leaves behind are cleared.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from pwreset.core import aws, i18n
from pwreset.core.observability import logger, metrics
from pwreset.runtime import snapstart

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

__all__ = [
    "before_snapshot",
    "import_modules",
    "location_names",
    "mail_templates",
    "password_checks",
    "routes",
    "user_agent_rules",
]

# A documentation address (RFC 5737): what a warm-up request comes from.
_SOURCE_IP = "192.0.2.1"
_PATH_PARAMETER = re.compile(r"<(\w+)>")
# Any browser: what the parser's rules are built on before the snapshot.
_SAMPLE_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def before_snapshot(
    app: APIGatewayRestResolver | None = None,
    *,
    services: Sequence[aws.Service] = (),
    modules: Sequence[str] = (),
    passwords: bool = False,
    mails: Sequence[str] = (),
    locations: bool = False,
    user_agents: bool = False,
    prepare: Sequence[Callable[[], object]] = (),
) -> None:
    """Register a function's warm-ups (``pwreset.runtime.snapstart``), in the order they run: the
    modules its paths defer, the password checks, its mail templates, the country names its mails
    give in each language, the User-Agent rules, the function's own preparations (``prepare``:
    callables that take no argument and call no AWS service), the AWS clients it calls
    (:func:`pwreset.core.aws.warm_up`), and last the routes of ``app``, whose offline requests then
    find all of those prepared. The clients come after the preparations: one that registers a
    handler on a client (powertools' idempotency layer does) makes botocore forget every event's
    handler lookups, which the clients' rehearsal then makes again."""
    if modules:
        snapstart.before_snapshot(import_modules, *modules)
    if passwords:
        snapstart.before_snapshot(password_checks)
    if mails:
        snapstart.before_snapshot(mail_templates, *mails)
    if locations:
        snapstart.before_snapshot(location_names)
    if user_agents:
        snapstart.before_snapshot(user_agent_rules)
    for each in prepare:
        snapstart.before_snapshot(each)
    for service in services:
        snapstart.before_snapshot(aws.warm_up, service)
    if app is not None:
        snapstart.before_snapshot(routes, app)


def _event(method: str, route: str) -> dict[str, Any]:
    """An API Gateway REST proxy event for ``route`` (its parameters filled in) with a JSON body
    that no route accepts, so routes with a body stop at validation."""
    parameters = {name: "warm-up" for name in _PATH_PARAMETER.findall(route)}
    path = _PATH_PARAMETER.sub("warm-up", route)
    headers = {"content-type": "application/json", "accept-language": "de", "user-agent": _SAMPLE_USER_AGENT}
    return {
        "resource": _PATH_PARAMETER.sub(r"{\1}", route),
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": _PATH_PARAMETER.sub(r"{\1}", route),
            "httpMethod": method,
            "path": path,
            "stage": "warm-up",
            "requestId": "warm-up",
            "identity": {"sourceIp": _SOURCE_IP, "userAgent": _SAMPLE_USER_AGENT},
        },
        "body": "{}" if method in ("POST", "PUT", "PATCH") else None,
        "isBase64Encoded": False,
    }


def routes(app: APIGatewayRestResolver) -> list[tuple[str, str, int]]:
    """Resolve one offline request per route of ``app``; returns (method, route, status) of each.
    Every language's catalog is read first: a route answers in the language of its caller (or of
    the account), and the requests below speak one."""
    i18n.read_catalogs()
    answered: list[tuple[str, str, int]] = []
    every_route = [*app._static_routes, *app._dynamic_routes]
    for route in every_route:
        for param in route.dependant.body_params:
            # The request models defer their build; a failing validation builds powertools' own
            # validator, not the model's serialiser (model_dump), so build them whole here.
            model = param.type_
            if isinstance(model, type) and issubclass(model, BaseModel):
                model.model_rebuild()
    level = logger.log_level
    logger.setLevel(logging.WARNING)  # the refusals below are expected, not operational news
    try:
        with aws.offline():
            for route in every_route:
                for method in route.method.split("|"):
                    if method == "OPTIONS":
                        continue
                    found = app.resolve(_event(method, route.path), _WarmUpContext())  # type: ignore[arg-type]
                    answered.append((method, route.path, int(found["statusCode"])))
    finally:
        logger.setLevel(level)
        metrics.clear_metrics()
        app.clear_context()
    for route in every_route:
        _inspect_past_validation(route)
    return answered


def _inspect_past_validation(route: Any) -> None:
    """What powertools learns about a route on the first request that passes validation, which the
    requests above never do: each later middleware's and the handler's signature (a ``Request``
    parameter, ``Depends``), resolved through ``typing.get_type_hints`` and then cached on the
    callable and the route. Inspected here, a restored copy's first request evaluates no
    annotations (``tests/integration/test_snapstart.py``)."""
    # deferred: powertools' event handler is imported by the resolver before any warm-up runs
    from aws_lambda_powertools.event_handler.api_gateway import (
        MiddlewareFrame,
        _find_request_param_name,
        _inspect_middleware,
    )

    frame = route._middleware_stack  # built by the route's first request above
    while isinstance(frame, MiddlewareFrame):
        _inspect_middleware(frame.current_middleware)
        frame = frame.next_middleware
    if not route.request_param_name_checked:
        route.request_param_name = _find_request_param_name(route.func)
        route.request_param_name_checked = True
    route.has_dependencies  # noqa: B018 - a property that caches what it finds


class _WarmUpContext:
    """The attributes of Lambda's context object that the resolver and the domain read."""

    function_name = "warm-up"
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:eu-central-1:000000000000:function:warm-up"
    aws_request_id = "warm-up"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def import_modules(*names: str) -> None:
    """Import what a path defers until it needs it (the code keeps deferring it without SnapStart)."""
    for name in names:
        importlib.import_module(name)


def mail_templates(*names: str) -> None:
    # Each warm-up imports only what it prepares: importing this module adds nothing to a plain
    # cold start.
    # deferred: imported by the warm-up that prepares it, not by this module
    from pwreset.mail import mailer

    mailer.prepare(*names)


def location_names() -> None:
    """Babel and CLDR's country names in every language but English (a mail's "where")."""
    # deferred: as the mail templates above
    from pwreset.mail import geo

    geo.prepare()


def password_checks() -> None:
    """The blocklist loaded and one password judged (normalisation, the rules' patterns)."""
    # deferred: as the mail templates above
    from pwreset.credentials import changes

    # deferred: as the mail templates above
    from pwreset.credentials.policy import PolicyContext, shipped_blocklist

    shipped_blocklist()
    changes.policy().check(
        "warm-up: correct horse battery staple",
        PolicyContext(email="warm-up@example.invalid", name="Warm Up", firm_name="Warm Up GmbH"),
    )


def user_agent_rules() -> None:
    """ua-parser's browser and OS rules built on the compiled backend."""
    # deferred: as the mail templates above
    from pwreset.mail import useragent

    useragent.describe(_SAMPLE_USER_AGENT)
