"""The SAM template, transformed offline to CloudFormation, against the code it deploys."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from devstack.gateway import FunctionRunner
from support.cloudformation import cloudformation, refs, statements
from support.environment import API_FUNCTIONS, TEMPLATE

# What each function may touch. A new table access needs a line here, on purpose: least privilege
# is reviewed, not inherited.
TABLE_ACCESS: dict[str, set[str]] = {
    "AuthorizerFunction": {"SessionsTable", "AccountsTable", "LoginsTable"},
    "RequestResetFunction": {
        "AccountsTable",
        "LoginsTable",  # the client's login: has a password, locked, what SES said of the address
        "FirmsTable",
        "ResetTokensTable",
        "EventsTable",
        "RateLimitsTable",
        "DeliveryEventsTable",  # the link mail's delivery record; the diagnosis in a 409
    },
    "ConfirmResetFunction": {
        "AccountsTable",
        "LoginsTable",  # the link's login; the change or the lock writes it
        "ResetTokensTable",
        "LockTokensTable",  # "It wasn't me": read the lock link, mark it used in the lock's transaction
        "FirmsTable",  # the link's firm: its brand for the page, its portal after a confirm
        "SessionsTable",
        "EventsTable",
        "RateLimitsTable",
        "DeliveryEventsTable",  # a link's first verify marks its mail opened
    },
    # Sign in (the login and its memberships), switch, and change the password (the firm's name for
    # the policy, the event, the new session).
    "SessionsFunction": {
        "AccountsTable",
        "LoginsTable",
        "FirmsTable",
        "SessionsTable",
        "EventsTable",
        "RateLimitsTable",
    },
    "ProvisioningFunction": {
        "AccountsTable",
        "LoginsTable",  # memberships and logins, written with the account
        "FirmsTable",
        "ResetTokensTable",  # invitations; erasure
        "SessionsTable",  # counted when revoked; erasure
        "DeliveryEventsTable",  # erasure
        "EventsTable",  # audit events; erasure strips their personal data
        "LockTokensTable",  # erasure deletes the account's lock links
    },
    # Its stream comes through SAM's managed stream-reading policy, not a table grant. It writes the
    # lock link a client's password-changed mail carries.
    "NotifyPasswordChangedFunction": {
        "AccountsTable",
        "LoginsTable",  # the holder's login and its firms; the owners' logins (may they be mailed)
        "FirmsTable",
        "NotifyIdempotencyTable",
        "LockTokensTable",
        "DeliveryEventsTable",  # the holder's mail's delivery record
    },
    # The email_undeliverable audit events go into the events table in the mark's transaction.
    "SesEventsFunction": {
        "ResetTokensTable",
        "DeliveryEventsTable",
        "SnsMessagesTable",
        "AccountsTable",  # the deliveries view's client
        "LoginsTable",  # the address's verdict and its accounts; the view reads it
        "EventsTable",
    },
    # Reads the events table's stream (SAM's managed policy); the event's account (its address) and
    # that address's login, for the accounts a change of the login affected.
    "CrmEventsFunction": {"AccountsTable", "LoginsTable"},
    "ResetPageFunction": {"FirmsTable"},  # the page and its assets; a firm's contact for the help article
    # Self-service links from the queue: the login by address, the account and the firm's name, the
    # link, its event, and one idempotency record per request.
    "SelfServiceResetFunction": {
        "AccountsTable",
        "LoginsTable",
        "FirmsTable",
        "ResetTokensTable",
        "EventsTable",
        "NotifyIdempotencyTable",
        "DeliveryEventsTable",  # the link mail's delivery record
    },
}
# Counters and idempotency records only matter for minutes to days: no point-in-time recovery.
DISPOSABLE_TABLES = {"RateLimitsTable", "NotifyIdempotencyTable", "SnsMessagesTable"}
DATA_ACTION = re.compile(r"^(dynamodb|ses|sqs|sns):", re.I)


def test_the_template_transforms_to_cloudformation() -> None:
    resources = cloudformation()["Resources"]
    types = {r["Type"] for r in resources.values()}
    assert {"AWS::Lambda::Function", "AWS::ApiGateway::RestApi", "AWS::DynamoDB::Table"} <= types


def handler_routes(function_id: str) -> set[tuple[str, str]]:
    module = FunctionRunner(TEMPLATE).module(function_id)
    app = module.app
    routes = set()
    for route in app._static_routes + app._dynamic_routes:
        path = re.sub(r"<(\w+)>", r"{\1}", route.path)
        routes |= {(method.upper(), path) for method in route.method.split("|")}
    return routes


def test_every_template_route_has_a_handler_route_and_back() -> None:
    by_function: dict[str, set[tuple[str, str]]] = {}
    for route in TEMPLATE.api_routes():
        by_function.setdefault(route.function, set()).add((route.method, route.path))
    for function_id, template_routes in by_function.items():
        assert handler_routes(function_id) == template_routes, function_id


def test_every_handler_resolves() -> None:
    runner = FunctionRunner(TEMPLATE)
    for function_id in TEMPLATE.functions():
        _, _, attr = TEMPLATE.handler(function_id).rpartition(".")
        assert callable(getattr(runner.module(function_id), attr)), function_id


@pytest.mark.parametrize("function_id", sorted(TABLE_ACCESS))
def test_each_function_may_touch_only_its_own_tables(function_id: str) -> None:
    tables = set(TEMPLATE.tables())
    touched = set()
    for statement in statements(function_id):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not any(DATA_ACTION.match(a) for a in actions):
            continue
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert "*" not in resources, (function_id, statement)
        touched |= refs(resources) & tables
    assert touched == TABLE_ACCESS[function_id]


def test_every_function_is_reviewed_for_table_access() -> None:
    assert set(TEMPLATE.functions()) == set(TABLE_ACCESS)


def test_ttl_and_streams_where_the_design_says() -> None:
    for table in ("ResetTokensTable", "LockTokensTable", "SessionsTable", "EventsTable", "RateLimitsTable"):
        assert TEMPLATE.ttl_attribute(table) == "ttl", table
    assert TEMPLATE.ttl_attribute("AccountsTable") is None
    streams = {t: p["Properties"].get("StreamSpecification") for t, p in TEMPLATE.tables().items()}
    assert streams.pop("EventsTable") == {"StreamViewType": "NEW_IMAGE"}
    for table, props in TEMPLATE.tables().items():
        if table not in DISPOSABLE_TABLES:
            assert props["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], (
                table
            )
        assert props["Properties"]["BillingMode"] == "PAY_PER_REQUEST"


def test_functions_run_python_313_with_tracing() -> None:
    resources = cloudformation()["Resources"]
    for function_id in TEMPLATE.functions():
        props = resources[function_id]["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["TracingConfig"] == {"Mode": "Active"}


def _alias_of(function_id: str) -> str:
    return f"{function_id}Aliaslive"


def _condition_holds(name: str, parameters: dict[str, str]) -> bool:
    """Evaluate one of the template's conditions for ``parameters`` (the defaults for the rest):
    the intrinsic functions the SnapStart conditions use, as CloudFormation evaluates them."""
    template_parameters = cloudformation()["Parameters"]

    def parameter(ref: str) -> str:
        return parameters.get(ref, str(template_parameters[ref].get("Default", "")))

    def value(node: Any) -> Any:
        if isinstance(node, str):
            return node
        (function, argument), *_ = node.items()
        if function == "Ref":
            return parameter(argument)
        if function == "Fn::Sub":
            return re.sub(r"\$\{(\w+)\}", lambda m: parameter(m.group(1)), argument)
        if function == "Fn::Split":
            return value(argument[1]).split(argument[0])
        if function == "Fn::Select":
            return value(argument[1])[int(argument[0])]
        if function == "Fn::Equals":
            return value(argument[0]) == value(argument[1])
        if function == "Fn::Not":
            return not value(argument[0])
        if function == "Fn::And":
            return all(value(each) for each in argument)
        if function == "Condition":
            return value(cloudformation()["Conditions"][argument])
        raise AssertionError(f"not evaluated here: {function}")

    return bool(value({"Condition": name}))


def _snapstart_functions(parameters: dict[str, str]) -> set[str]:
    """The functions whose SnapStart is on for ``parameters``."""
    resources = cloudformation()["Resources"]
    on: set[str] = set()
    for function_id in TEMPLATE.functions():
        apply_on = resources[function_id]["Properties"]["SnapStart"]["ApplyOn"]
        condition, when_true, when_false = apply_on["Fn::If"]
        assert (when_true, when_false) == ("PublishedVersions", "None"), function_id
        if _condition_holds(condition, parameters):
            on.add(function_id)
    return on


def test_snapstart_is_on_for_the_api_functions_by_default_and_off_without_the_switch() -> None:
    assert TEMPLATE.doc["Parameters"]["SnapStartEnabled"]["Default"] == "false"
    assert _snapstart_functions({}) == set()
    assert _snapstart_functions({"SnapStartEnabled": "true"}) == set(API_FUNCTIONS)


def test_snapstart_functions_names_exactly_the_functions_that_have_it() -> None:
    some = {
        "SnapStartEnabled": "true",
        "SnapStartFunctions": "ConfirmResetFunction,NotifyPasswordChangedFunction",
    }
    assert _snapstart_functions(some) == {"ConfirmResetFunction", "NotifyPasswordChangedFunction"}
    # A name is matched whole: a part of four functions' ids switches on none of them.
    assert _snapstart_functions({"SnapStartEnabled": "true", "SnapStartFunctions": "ResetFunction"}) == set()
    assert _snapstart_functions({"SnapStartEnabled": "true", "SnapStartFunctions": ""}) == set()
    assert (
        _snapstart_functions({"SnapStartEnabled": "false", "SnapStartFunctions": "SessionsFunction"}) == set()
    )
    pattern = re.compile(TEMPLATE.doc["Parameters"]["SnapStartFunctions"]["AllowedPattern"])
    assert pattern.fullmatch(",".join(TEMPLATE.functions()))
    assert not pattern.fullmatch("ConfirmResetFunction, SessionsFunction")  # a space would never match


def test_samconfig_turns_snapstart_on_in_staging_and_prod_only() -> None:

    config = tomllib.loads((TEMPLATE.path.parent / "samconfig.toml").read_text(encoding="utf-8"))
    overrides = {
        env: config[env]["deploy"]["parameters"]["parameter_overrides"] for env in config if env != "version"
    }
    assert "SnapStartEnabled=false" in overrides["default"]
    assert "SnapStartEnabled=true" in overrides["staging"]
    assert "SnapStartEnabled=true" in overrides["prod"]


def test_routes_the_authorizer_and_event_sources_invoke_the_published_alias() -> None:
    """SnapStart restores published versions only: whatever invokes $LATEST would cold-start."""
    resources = cloudformation()["Resources"]
    for function_id in TEMPLATE.functions():
        alias = resources[_alias_of(function_id)]
        assert alias["Type"] == "AWS::Lambda::Alias"
        assert alias["Properties"]["FunctionName"] == {"Ref": function_id}
    permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert permissions
    for permission in permissions:
        assert permission["FunctionName"]["Ref"].endswith("Aliaslive"), permission
    mappings = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mappings
    for mapping in mappings:
        assert mapping["FunctionName"]["Ref"].endswith("Aliaslive"), mapping
    body = resources["PortalApi"]["Properties"]["Body"]
    for operations in body["paths"].values():
        for operation in operations.values():
            uri = operation.get("x-amazon-apigateway-integration", {}).get("uri")
            if uri:
                assert "Aliaslive}" in json.dumps(uri), uri
    authorizer = body["securityDefinitions"]["SessionAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert "AuthorizerFunctionAliaslive" in json.dumps(authorizer["authorizerUri"])


def test_a_new_password_needs_15_characters_and_no_deployment_may_ask_fewer() -> None:
    """A password is this service's only factor: NIST SP 800-63B-4 asks at least 15 characters
    for that (#24.10). Every function reads the parameter (the policy is built from it)."""
    spec = TEMPLATE.doc["Parameters"]["PasswordMinLength"]
    assert (spec["Default"], spec["MinValue"]) == (15, 15)
    environment = TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["PASSWORD_MIN_LENGTH"] == {"Ref": "PasswordMinLength"}


def test_a_self_service_request_waits_at_most_a_day_in_its_queue() -> None:
    """SQS drops an older request by itself; the function drops one older than
    ``SELF_SERVICE_MAX_AGE`` (tests/integration/test_self_service_queue.py)."""
    queue = TEMPLATE.doc["Resources"]["SelfServiceQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 24 * 3600


@pytest.mark.parametrize(
    "function_id",
    # Links in mails; and the deliveries view's advice names the client help article beside the
    # page (a link delivered but never opened), from the same published address.
    ["RequestResetFunction", "SelfServiceResetFunction", "ProvisioningFunction", "SesEventsFunction"],
)
def test_what_names_the_hosted_page_may_read_its_published_address(function_id: str) -> None:
    grants = [s for s in statements(function_id) if s.get("Action") == "ssm:GetParameter"]
    assert grants, function_id
