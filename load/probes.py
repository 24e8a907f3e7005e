"""Deterministic probes: one request per route while a fault outlasts every retry.

At 5% botocore's retries absorb nearly every injected fault, so what a route answers when one gets
through is left to chance. Here, on the stack of the run without faults (after its checks), each
probe turns one kind of failure on for every call (``PUT /_dev/faults``), sends each route one
request, turns it off, and asks whether the answer was true (does the link still verify, does the
session still work). Then the stack settles, dead letters are redriven, and every invariant is
checked again: the state must be whole after the failures too.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack.template import SamTemplate
from load import invariants, population, redrive
from load.client import Answer, Stack
from load.contract import Answer as Judged
from load.contract import error_code, violations
from load.population import new_password
from load.report import fault_names

PROBES: tuple[tuple[str, str], ...] = (
    ("every DynamoDB transaction conflicts", "dynamodb.TransactWriteItems:TransactionConflict=1"),
    ("SES refuses every mail", "sesv2.SendEmail:TooManyRequestsException=1"),
    (
        "every DynamoDB read is throttled",
        "dynamodb.GetItem:ThrottlingException=1,dynamodb.BatchGetItem:ThrottlingException=1,"
        "dynamodb.Query:ThrottlingException=1",
    ),
)
TOKEN = re.compile(r"#token=([A-Za-z0-9_-]{20,})")


@dataclass
class Probed:
    route: str
    status: int
    code: str | None
    retry_after: str | None
    kinds: list[str]
    truth: str = ""  # what a follow-up request said about the answer
    rid: str = ""
    faults: list[str] = field(default_factory=list)


@dataclass
class ProbeResult:
    name: str
    spec: str
    answers: list[Probed]
    started: float = 0.0  # when the fault was turned on and off (epoch seconds)
    ended: float = 0.0


@dataclass
class ProbeReport:
    results: list[ProbeResult]
    redriven: redrive.RedriveOutcome | None
    settled: invariants.Settled
    checks: list[invariants.CheckResult]

    @property
    def ok(self) -> bool:
        redriven = self.redriven is None or self.redriven.all_ok
        return self.settled.ok and redriven and all(c.ok for c in self.checks)


class _Session:
    """A firm of the probes' own (an owner, three clients with passwords the probes keep track of),
    provisioned and set up through the API like the load run's."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        people = population.build(
            stack, population.Shape(firms=1, owners=1, members=0, clients=3), run="probe"
        )
        firm = next(f for f in people["firms"] if f["firm_id"].startswith("firm-probe"))
        self.firm = firm
        self.staff = firm["staff"][0]
        self.clients = list(firm["clients"])

    def sign_in(self, account: dict[str, Any]) -> str:
        answer = self.stack.request(
            "POST", "/v1/sessions", {"email": account["email"], "password": account["password"]}
        )
        if answer.status != 201:
            raise RuntimeError(f"probe set-up: sign-in answered {answer.status}")
        return str(answer.json()["session"]["token"])

    def link_for(self, client: dict[str, Any], staff_token: str) -> str:
        mark = self.stack.load_status()["mail"]
        sent = self.stack.request(
            "POST", f"/v1/accounts/{client['account_id']}/password-reset", token=staff_token
        )
        if sent.status != 202:
            raise RuntimeError(f"probe set-up: staff send answered {sent.status}")
        page = self.stack.request("GET", f"/_dev/load/mail?after={mark}&wait=10").json()
        for message in page["messages"]:
            if client["email"] in message["to"]:
                for link in message["links"]:
                    if found := TOKEN.search(link):
                        return found.group(1)
        raise RuntimeError("probe set-up: no link mail")


def _judge(route: str, answer: Answer) -> Probed:
    judged = Judged(route, answer.status, answer.text, answer.headers.get("retry-after"), 0.0)
    return Probed(
        route=route,
        status=answer.status,
        code=error_code(answer.text) if answer.status >= 400 else None,
        retry_after=answer.headers.get("retry-after"),
        kinds=violations(judged),
        rid=answer.headers.get("x-amzn-requestid", ""),
    )


def probe(stack: Stack, session: _Session, name: str, spec: str, flows: list[dict[str, Any]]) -> ProbeResult:
    """Set up (faults off), then one request per route with ``spec`` on, then the truth checks."""
    staff = session.sign_in(session.staff)
    linked, changer, target = session.clients[0], session.clients[1], session.clients[2]
    token = session.link_for(linked, staff)
    client_session = session.sign_in(changer)
    throwaway, invited, new_account = (f"acc-probe-{secrets.token_hex(4)}" for _ in range(3))
    firm_id = session.firm["firm_id"]

    def client_body(account_id: str, **extra: Any) -> dict[str, Any]:
        email = f"{account_id}@probe.load.example.com"
        return {"firm_id": firm_id, "role": "client", "email": email, "name": "Probe Konto", **extra}

    for account_id in (throwaway, invited):
        stack.signed("PUT", f"/v1/admin/accounts/{account_id}", client_body(account_id))
    password, changed_to = new_password(), new_password()
    http, signed = stack.request, stack.signed
    target_id = target["account_id"]
    change = {"current_password": changer["password"], "new_password": changed_to}
    sign_in = {"email": target["email"], "password": target["password"]}
    calls: list[tuple[str, Callable[[], Answer]]] = [
        ("POST /v1/password-resets", lambda: http("POST", "/v1/password-resets", {"email": target["email"]})),
        (
            "POST /v1/password-resets/verify",
            lambda: http("POST", "/v1/password-resets/verify", {"token": token}),
        ),
        (
            "POST /v1/password-resets/confirm",
            lambda: http("POST", "/v1/password-resets/confirm", {"token": token, "password": password}),
        ),
        ("POST /v1/sessions", lambda: http("POST", "/v1/sessions", sign_in)),
        ("GET /v1/sessions/current", lambda: http("GET", "/v1/sessions/current", token=client_session)),
        (
            "POST /v1/sessions/current/password",
            lambda: http("POST", "/v1/sessions/current/password", change, token=client_session),
        ),
        (
            "POST /v1/accounts/{account_id}/password-reset",
            lambda: http("POST", f"/v1/accounts/{target_id}/password-reset", token=staff),
        ),
        (
            "POST /v1/accounts/{account_id}/invitation",
            lambda: http("POST", f"/v1/accounts/{invited}/invitation", token=staff),
        ),
        (
            "GET /v1/accounts/{account_id}/password-reset/deliveries",
            lambda: http("GET", f"/v1/accounts/{target_id}/password-reset/deliveries", token=staff),
        ),
        (
            "PUT /v1/admin/firms/{firm_id}",
            lambda: signed(
                "PUT", f"/v1/admin/firms/{firm_id}", {"name": session.firm["name"], "locale": "de"}
            ),
        ),
        (
            "PUT /v1/admin/accounts/{account_id}",
            lambda: signed(
                "PUT", f"/v1/admin/accounts/{new_account}", client_body(new_account, send_invitation=True)
            ),
        ),
        ("GET /v1/admin/accounts/{account_id}", lambda: signed("GET", f"/v1/admin/accounts/{throwaway}")),
        (
            "DELETE /v1/admin/accounts/{account_id}",
            lambda: signed("DELETE", f"/v1/admin/accounts/{throwaway}"),
        ),
        ("DELETE /v1/sessions/current", lambda: http("DELETE", "/v1/sessions/current", token=staff)),
    ]
    stack.set_faults(spec, 1)
    started = time.time()
    try:
        answers = [_judge(route, call()) for route, call in calls]
    finally:
        ended = time.time()
        stack.set_faults("", 0)
    # Was each answer true? A link that still verifies was not used; a session that still works
    # was not ended.
    for answer in answers:
        if answer.route == "POST /v1/password-resets/confirm" and answer.status != 200:
            still = stack.request("POST", "/v1/password-resets/verify", {"token": token}).status == 200
            answer.truth = "the link still verifies" if still else "the link no longer verifies"
            if still and answer.status in (404, 409, 410):
                answer.kinds.append("wrong_answer")
        if answer.route == "POST /v1/sessions/current/password" and answer.status == 401:
            still = stack.request("GET", "/v1/sessions/current", token=client_session).status == 200
            answer.truth = "the session still works" if still else "the session ended"
            if still:
                answer.kinds.append("wrong_answer")
        if answer.route == "POST /v1/password-resets/confirm" and answer.status == 200:
            linked["password"] = password
        if answer.route == "POST /v1/sessions/current/password" and answer.status == 200:
            changer["password"] = changed_to
        if answer.route == "POST /v1/password-resets":
            flows.append(
                {"type": "flow", "event": "self_service", "account_id": target_id, "status": answer.status}
            )
    return ProbeResult(name, spec, answers, started, ended)


def run_probes(
    stack: Stack, template: SamTemplate, *, journal: list[dict[str, Any]], settle_timeout: float
) -> ProbeReport:
    """The probes, then settle, redrive, and the checks over the whole state, with the run's own
    journal (``journal``) and the probes' self-service requests added to it."""
    session = _Session(stack)
    flows = [entry for entry in journal if entry.get("type") == "flow"]
    results = [probe(stack, session, name, spec, flows) for name, spec in PROBES]
    settled = invariants.settle(stack, template, timeout=settle_timeout)
    records = invariants.read_journal(stack.journal)
    by_rid = {r["rid"]: r for r in records if r.get("rid")}
    for result in results:
        for answer in result.answers:
            answer.faults = fault_names(by_rid.get(answer.rid))
        # SES's events of the mails sent meanwhile reach the webhook on their own (SNS's deliveries):
        # one row per distinct answer.
        deliveries: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for record in records:
            if record.get("kind") == "sns" and result.started <= float(record["at"]) <= result.ended:
                text = str(record.get("body") or "")
                key = (int(record["status"]), error_code(text), text, tuple(fault_names(record)))
                deliveries.setdefault(key, []).append(record)
        for (status, code, text, faults), group in deliveries.items():
            attempts = sorted({int(r.get("attempt", 1)) for r in group})
            result.answers.append(
                Probed(
                    route="POST /v1/webhooks/ses",
                    status=status,
                    code=code if status >= 400 else None,
                    retry_after=group[0].get("retry_after"),
                    kinds=violations(
                        Judged("POST /v1/webhooks/ses", status, text, group[0].get("retry_after"), 0.0)
                    ),
                    truth=f"{len(group)} SNS deliveries (attempts {', '.join(map(str, attempts))})",
                    faults=list(faults),
                )
            )
    letters = invariants.collect(stack, template, faults=True).dead_letters
    outcome = redrive.redrive_streams(stack, template) if letters else None
    if outcome is not None:
        settled = invariants.settle(stack, template, timeout=settle_timeout)
    checks = invariants.check(invariants.collect(stack, template, journal=flows, faults=True))
    return ProbeReport(results, outcome, settled, checks)


def probe_section(report: ProbeReport) -> list[str]:
    lines = [
        "",
        "### Deterministic probes: one request per route while a fault outlasts every retry",
        "",
        "On this run's stack after its checks: each probe sets up what it needs with the faults off, "
        "turns one failure on for every call, sends each route one request, turns it off and asks "
        "whether the answer was true (`load/probes.py`). 2xx and the contract's own 4xx are fine; "
        "the violations column says what is not.",
    ]
    for result in report.results:
        lines += [
            "",
            f"**{result.name}** (`{result.spec}`):",
            "",
            "| route | status | code | Retry-After | violations | checked afterwards | fault behind it |",
            "|---|---:|---|---|---|---|---|",
        ]
        for a in result.answers:
            faults = "; ".join(sorted(set(a.faults))) or "none seen"
            lines.append(
                f"| `{a.route}` | {a.status} | {a.code or ''} | {a.retry_after or ''} | "
                f"{', '.join(a.kinds) or 'none'} | {a.truth} | {faults} |"
            )
    lines += [""]
    if report.redriven is not None:
        letters = report.redriven.letters
        done = sum(1 for letter in letters if letter.ok)
        lines.append(f"Dead letters after the probes: {len(letters)}, redriven with the faults off: {done}.")
    else:
        lines.append("Dead letters after the probes: none.")
    held = [c.name for c in report.checks if c.ok]
    failed = [c for c in report.checks if not c.ok]
    lines.append(
        f"Then (settled: {'yes' if report.settled.ok else 'no, ' + report.settled.pending}) every "
        f"invariant was checked over the whole state again: {len(held)} of {len(report.checks)} held."
    )
    for check in failed:
        lines += [f"- `{check.name}` FAILED: {failure}" for failure in check.failures[:10]]
    return lines
