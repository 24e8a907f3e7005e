"""What the HTTP contract (``docs/api.md``) allows each route to answer, and how an
answer that breaks it is described. Pure functions: the load users classify every answer as it
arrives, and the report joins the violations with the faults the stack saw behind them.

What counts as a violation (one answer may have several):

* ``undocumented_status``: a status below 500 the contract does not list for the route (a 5xx
  is what an AWS failure beyond the retries answers on any route: it must have the error shape and
  ``Retry-After``, see below; self-service must still answer its one ``202``);
* ``bad_error_shape``: an error answer that is not ``{"error": {"code": str, "message": str}}``;
* ``stack_trace``: an answer that shows a Python traceback;
* ``no_retry_after``: a 5xx, or a 429, without ``Retry-After`` (every 5xx the stack gives under
  faults is one where a retry helps);
* ``slow``: an answer after more than :data:`SLOW_MS` (target: none slower than 5 s);
* ``wrong_body``: a success whose body is not what the contract fixes (self-service: always
  exactly ``{"status": "accepted"}``);
* ``wrong_answer``: a listed status that is not true: a confirm answered ``410 token_used`` while
  the link still verifies, a password change answered ``401`` while the session still works, a
  link confirmed twice. The users find these with a follow-up request (see ``load.locustfile``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

SLOW_MS = 5000.0

# Every route of template.yaml, by (method, resource path), with the statuses the contract lists.
_STAFF_SEND = frozenset({202, 401, 403, 404, 409, 429, 502})
CONTRACT: dict[str, frozenset[int]] = {
    "POST /v1/password-resets": frozenset({202, 400}),
    "POST /v1/password-resets/verify": frozenset({200, 400, 404, 409, 410, 429}),
    "POST /v1/password-resets/confirm": frozenset({200, 400, 404, 409, 410, 422, 429}),
    "POST /v1/sessions": frozenset({201, 400, 401, 403, 429}),
    "GET /v1/sessions/current": frozenset({200, 401}),
    "DELETE /v1/sessions/current": frozenset({204, 401}),
    "PUT /v1/sessions/current/account": frozenset({200, 400, 401, 404}),
    "POST /v1/sessions/current/password": frozenset({200, 400, 401, 422, 429}),
    "POST /v1/accounts/{account_id}/password-reset": _STAFF_SEND,
    "POST /v1/accounts/{account_id}/invitation": _STAFF_SEND,
    "GET /v1/accounts/{account_id}/password-reset/deliveries": _STAFF_SEND - {202, 502} | {200},
    "PUT /v1/admin/firms/{firm_id}": frozenset({200, 201, 400, 403}),
    "PUT /v1/admin/accounts/{account_id}": frozenset({200, 201, 400, 403, 404, 409}),
    "GET /v1/admin/accounts/{account_id}": frozenset({200, 403, 404}),
    "DELETE /v1/admin/accounts/{account_id}": frozenset({204, 403, 404}),
    "POST /v1/webhooks/ses": frozenset({200, 400, 403}),
    "POST /v1/account-locks": frozenset({200, 400, 404, 410}),
    "GET /reset": frozenset({200}),
    "GET /reset/assets/{name}": frozenset({200, 404}),
    "GET /v1/openapi.json": frozenset({200}),
}
# Routes whose errors are not JSON (pages and their assets).
_NOT_JSON = frozenset({"GET /reset", "GET /reset/assets/{name}"})
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")


@dataclass(frozen=True)
class Answer:
    route: str  # "METHOD /resource/{path}"
    status: int
    body: str
    retry_after: str | None
    ms: float


def route_of(method: str, path: str) -> str:
    """The contract's route for a concrete request path (``/v1/accounts/acc-1/invitation`` ->
    ``POST /v1/accounts/{account_id}/invitation``), or ``METHOD path`` when none matches."""
    for route in CONTRACT:
        wanted_method, _, template = route.partition(" ")
        if wanted_method != method.upper():
            continue
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path.split("?", 1)[0]):
            return route
    return f"{method.upper()} {path}"


def error_code(body: str) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return str(error.get("code")) if isinstance(error, dict) and error.get("code") is not None else None


def has_error_shape(body: str) -> bool:
    try:
        document: Any = json.loads(body)
    except ValueError:
        return False
    if not isinstance(document, dict):
        return False
    error = document.get("error")
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and bool(error["code"])
        and isinstance(error.get("message"), str)
        and bool(error["message"])
    )


def violations(answer: Answer) -> list[str]:
    """What is wrong with one answer, by the contract alone ([] when nothing is)."""
    found: list[str] = []
    allowed = CONTRACT.get(answer.route)
    # An AWS failure that outlasts the retries may answer any route with a 5xx in the error shape,
    # with Retry-After (issue #15): judged below by its shape and Retry-After, not as a status the
    # route's table omits.
    if allowed is not None and answer.status not in allowed and answer.status < 500:
        found.append("undocumented_status")
    if answer.status >= 400 and answer.route not in _NOT_JSON and not has_error_shape(answer.body):
        found.append("bad_error_shape")
    if _TRACEBACK.search(answer.body):
        found.append("stack_trace")
    if (answer.status >= 500 or answer.status == 429) and not answer.retry_after:
        found.append("no_retry_after")
    if answer.ms > SLOW_MS:
        found.append("slow")
    if answer.route == "POST /v1/password-resets" and answer.status == 202:
        try:
            accepted = json.loads(answer.body) == {"status": "accepted"}
        except ValueError:
            accepted = False
        if not accepted:
            found.append("wrong_body")
    return found
