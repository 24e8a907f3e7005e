"""The flows the bench measures, each one definition: which function serves it, how to make its
event, how to tell it worked, which raw-boto3 function is its baseline and which AWS calls it needs
at the least (with the reason for each).

Adding a flow is one more ``Flow`` in ``FLOWS`` plus one function in ``baseline.py`` (and, if its
event needs state, a helper on ``bench.stack.Fixture``). The two flows still to come would look
like this (sketch; their functions, events and fixture helpers arrive with them)::

    Flow(
        name="notify",
        title="notification",
        function="NotifyPasswordChangedFunction",
        # one DynamoDB stream batch holding one password_changed record
        prepare=lambda fx: fx.stream_batch("password_changed", "acc-berger-client-anna"),
        check=lambda response: None if response == {"batchItemFailures": []} else str(response),
        baseline="notify",
        path="a client's password changed: the firm's owner and the client are mailed",
        minimum=(...),  # e.g. the account and firm in one BatchGetItem, one SendEmail per recipient
    )
    Flow(
        name="ses_event",
        title="SES event",
        function="SesEventsFunction",
        # one signed SNS Notification (an SES Bounce) POSTed as API Gateway passes it on
        prepare=lambda fx: fx.signed_sns_notification("bounce", "anna.schmidt@example.com"),
        check=status(200),
        baseline="ses_event",
        path="a permanent bounce for a known reset mail",
        minimum=(...),
    )
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.stack import Fixture

# The demo accounts each flow acts on (local/demo_data.json). Different accounts per flow, so that
# one flow's writes (a confirm bumps the password version) never change another flow's path.
SELF_SERVICE_ACCOUNT = "acc-berger-client-anna"
STAFF_PRINCIPAL = "acc-berger-owner"
STAFF_TARGET = "acc-berger-client-anna"
VERIFY_ACCOUNT = "acc-berger-client-james"
CONFIRM_ACCOUNT = "acc-hartmann-client-maria"
SIGN_IN_ACCOUNT = "acc-berger-client-anna"
NEW_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Call:
    """One AWS API call a flow cannot do without."""

    operation: str  # "<service>.<Operation>", as botocore names them
    target: str  # table(s) or resource, for the reader
    why: str


@dataclass(frozen=True)
class Flow:
    name: str
    title: str
    function: str  # logical id in template.yaml
    prepare: Callable[[Fixture], dict[str, Any]]  # runs in the harness, untimed; returns the event
    check: Callable[[dict[str, Any]], str | None]  # None when the response is what the flow means
    baseline: str  # function name in bench/baseline.py
    minimum: tuple[Call, ...]
    path: str  # the case measured, in words
    stub_hash: bool = False  # replace argon2id in the service (both sides then skip the hash)


def status(expected: int) -> Callable[[dict[str, Any]], str | None]:
    def check(response: dict[str, Any]) -> str | None:
        got = response.get("statusCode")
        if got == expected:
            return None
        return f"expected HTTP {expected}, got {got}: {str(response.get('body'))[:300]}"

    return check


def _with_body(event: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    event["body"] = json.dumps(body)
    return event


def _prepare_self_service(fx: Fixture) -> dict[str, Any]:
    email = fx.account(SELF_SERVICE_ACCOUNT)["email"]
    return _with_body(fx.event("request_reset_self_service.json"), {"email": email, "locale": "de"})


def _prepare_staff(fx: Fixture) -> dict[str, Any]:
    return fx.staff_event("request_reset_staff.json", principal=STAFF_PRINCIPAL, target=STAFF_TARGET)


def _prepare_verify(fx: Fixture) -> dict[str, Any]:
    token = fx.issue_reset_token(VERIFY_ACCOUNT)
    return _with_body(fx.event("confirm_reset_verify.json"), {"token": token})


def _prepare_confirm(fx: Fixture) -> dict[str, Any]:
    # A client who forgot the password is signed in nowhere: no other session to clean up, the
    # same state on every run and on both sides.
    fx.drop_sessions(CONFIRM_ACCOUNT)
    token = fx.issue_reset_token(CONFIRM_ACCOUNT)
    return _with_body(fx.event("confirm_reset_confirm.json"), {"token": token, "password": NEW_PASSWORD})


def _prepare_sign_in(fx: Fixture) -> dict[str, Any]:
    account = fx.account(SIGN_IN_ACCOUNT)
    return _with_body(
        fx.event("sessions_sign_in.json"), {"email": account["email"], "password": account["password"]}
    )


_COUNTER = Call(
    "dynamodb.UpdateItem",
    "RateLimits",
    "one atomic `ADD hits :1` per rate-limit subject; it returns the new count, so no read is needed",
)
_TOKEN_READ = Call(
    "dynamodb.GetItem",
    "ResetTokens",
    "the link's record by the SHA-256 digest of the token (consistent read: it may be minutes old)",
)
_ACCOUNT_READ = Call(
    "dynamodb.GetItem",
    "Accounts",
    "the account's current password_version and status decide whether the link still works; "
    "its key is only known from the token record, so it cannot join the first read",
)
_ISSUE = Call(
    "dynamodb.TransactWriteItems",
    "ResetTokens+Events",
    "the token record and the reset_requested audit event in one transaction (design: both or none)",
)
_SEND = Call("sesv2.SendEmail", "SES", "the mail with the link")
_STORE_MESSAGE_ID = Call(
    "dynamodb.UpdateItem",
    "ResetTokens",
    "the SES message id on the token (issue #2 asks for it; the delivery view falls back to it when an "
    "event lacks our tag): the token must exist before the mail leaves, and the id exists only after",
)
_BY_EMAIL = Call(
    "dynamodb.Query",
    "Accounts.by_email",
    "the account behind the address, the only thing the request names (GSI query, limit 1)",
)

FLOWS: tuple[Flow, ...] = (
    Flow(
        name="self_service",
        title="self-service request",
        function="RequestResetFunction",
        prepare=_prepare_self_service,
        check=status(202),
        baseline="self_service",
        path="known active client, within its limits: a link is issued and mailed",
        minimum=(
            Call(
                "dynamodb.UpdateItem",
                "RateLimits (per IP)",
                "per-IP limit; counted on every path so a known address costs what an unknown one does",
            ),
            Call(
                "dynamodb.UpdateItem",
                "RateLimits (per address)",
                "per-address limit (OWASP); a second item, and a transaction cannot return the counts",
            ),
            _BY_EMAIL,
            Call(
                "dynamodb.GetItem",
                "Firms",
                "the firm's name for the mail; its key is only known from the account "
                "(denormalising the name onto the account would drop this call)",
            ),
            _ISSUE,
            _SEND,
            _STORE_MESSAGE_ID,
        ),
    ),
    Flow(
        name="staff",
        title="staff request",
        function="RequestResetFunction",
        prepare=_prepare_staff,
        check=status(202),
        baseline="staff",
        path="a firm owner sends one of the firm's active clients a link",
        minimum=(
            Call(
                "dynamodb.BatchGetItem",
                "Accounts+Firms",
                "the target account and the firm's name in one batch: the firm is the caller's "
                "(another firm's account is a 404), so both keys are known from the request",
            ),
            Call("dynamodb.UpdateItem", "RateLimits", "per-account send limit (atomic counter)"),
            _ISSUE,
            _SEND,
            _STORE_MESSAGE_ID,
        ),
    ),
    Flow(
        name="verify",
        title="verify",
        function="ConfirmResetFunction",
        prepare=_prepare_verify,
        check=status(200),
        baseline="verify",
        path="a valid link is checked (nothing consumed)",
        minimum=(
            Call("dynamodb.UpdateItem", "RateLimits", "per-IP limit on the token routes"),
            _TOKEN_READ,
            _ACCOUNT_READ,
        ),
    ),
    Flow(
        name="confirm",
        title="confirm",
        function="ConfirmResetFunction",
        prepare=_prepare_confirm,
        check=status(200),
        baseline="confirm",
        path="a valid link and an allowed password; the client has no other session",
        stub_hash=True,
        minimum=(
            Call("dynamodb.UpdateItem", "RateLimits", "per-IP limit on the token routes"),
            _TOKEN_READ,
            _ACCOUNT_READ,
            Call(
                "dynamodb.TransactWriteItems",
                "Accounts+ResetTokens+Events+Sessions",
                "new hash and version bump (conditional), token used (conditional), the "
                "password_changed event and the new session, all or nothing. Deleting the other "
                "sessions is not needed here: the version bump already ends them",
            ),
        ),
    ),
    Flow(
        name="sign_in",
        title="sign-in",
        function="SessionsFunction",
        prepare=_prepare_sign_in,
        check=status(201),
        baseline="sign_in",
        path="right password, active account, no failures counted",
        stub_hash=True,
        minimum=(
            Call(
                "dynamodb.BatchGetItem",
                "RateLimits (account + IP)",
                "the two failure-only counters are read, not counted, before the password check; "
                "both keys are known from the request, so one batch reads both",
            ),
            _BY_EMAIL,
            Call("dynamodb.PutItem", "Sessions", "the new session (condition: the digest is new)"),
        ),
    ),
)


def by_name(names: list[str] | None) -> tuple[Flow, ...]:
    if not names:
        return FLOWS
    known = {f.name: f for f in FLOWS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown flow(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(known[n] for n in names)
