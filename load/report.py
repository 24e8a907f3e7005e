"""Figures and findings of a load run, and ``load/results.md``.

Latencies are what the load users measured (locust's ``response_time``, in ms, from sending the
request to reading the answer); percentiles are exact (nearest rank over every answer), not
locust's bucketed ones. A contract violation is joined with what the stack's journal says the
request met (``load.stack``): the AWS errors behind it, which of them were injected faults, and
whether they outlasted botocore's retries.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from load.contract import Answer, violations
from load.invariants import CheckResult, Settled
from load.redrive import RedriveOutcome

if TYPE_CHECKING:
    from load.probes import ProbeReport


def percentile(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class RouteFigures:
    route: str
    count: int
    per_s: float
    p50: float
    p95: float
    p99: float
    max: float
    by_status: dict[int, int]

    @property
    def non_2xx(self) -> dict[int, int]:
        return {s: n for s, n in sorted(self.by_status.items()) if not 200 <= s < 300}


def route_figures(requests: list[dict[str, Any]], duration_s: float) -> list[RouteFigures]:
    by_route: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for request in requests:
        by_route[str(request["route"])].append(request)
    figures = []
    for route, answers in sorted(by_route.items(), key=lambda item: _route_order(item[0])):
        times = [float(a["ms"]) for a in answers]
        figures.append(
            RouteFigures(
                route=route,
                count=len(answers),
                per_s=len(answers) / duration_s if duration_s > 0 else math.nan,
                p50=percentile(times, 0.50),
                p95=percentile(times, 0.95),
                p99=percentile(times, 0.99),
                max=max(times),
                by_status=dict(Counter(int(a["status"]) for a in answers)),
            )
        )
    return figures


def _route_order(route: str) -> tuple[str, str]:
    method, _, path = route.partition(" ")
    return (path, method)


@dataclass
class Violation:
    route: str
    status: int
    kinds: list[str]
    body: str
    retry_after: str | None
    faults: list[str]  # the injected faults that reached the handler (or, if none, all it met)
    rid: str | None
    why: str = ""


@dataclass
class Redrive:
    """The dead letters redriven after the run (faults off), and the checks once that settled."""

    outcome: RedriveOutcome
    settled: Settled
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return self.outcome.all_ok and self.settled.ok and all(c.ok for c in self.checks)


@dataclass
class RunReport:
    name: str
    faults_spec: str
    seed: int | None
    users: int
    duration_s: float
    requests: list[dict[str, Any]]
    stack_records: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    fault_report: dict[str, Any]
    settled: Settled
    checks: list[CheckResult]
    started_at: str = ""
    redrive: Redrive | None = None
    probes: ProbeReport | None = None
    load_average: tuple[float, float] | None = None  # the machine's 1-minute load, start and end
    violations: list[Violation] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.violations = find_violations(
            self.requests, self.flows, self.stack_records, faults=bool(self.faults_spec)
        )

    @property
    def invariants_ok(self) -> bool:
        """Every check held, the run settled, and what it dead-lettered could be redriven whole."""
        redriven = self.redrive is None or self.redrive.ok
        probed = self.probes is None or self.probes.ok
        return all(c.ok for c in self.checks) and self.settled.ok and redriven and probed

    @property
    def contract_violations(self) -> list[Violation]:
        """Violations other than only being slow."""
        return [v for v in self.violations if set(v.kinds) - {"slow"}]

    @property
    def slow(self) -> list[Violation]:
        return [v for v in self.violations if "slow" in v.kinds]

    @property
    def probe_violations(self) -> int:
        if self.probes is None:
            return 0
        return sum(1 for result in self.probes.results for answer in result.answers if answer.kinds)


def fault_names(record: dict[str, Any] | None) -> list[str]:
    if not record:
        return []
    errors = record.get("aws_errors") or []
    reached = [e for e in errors if e.get("surfaced")]
    chosen = reached or errors
    names = []
    for error in chosen:
        code = error["code"]
        if error.get("reasons"):
            code += f"({','.join(error['reasons'])})"
        label = "injected" if error.get("injected") else "not injected"
        reach = "reached the handler" if error.get("surfaced") else "retried away"
        names.append(f"{error['op']} {code} [{label}, {reach}]")
    return names


def find_violations(
    requests: list[dict[str, Any]],
    flows: list[dict[str, Any]],
    stack_records: list[dict[str, Any]],
    *,
    faults: bool,
) -> list[Violation]:
    by_rid = {r["rid"]: r for r in stack_records if r.get("rid") and r.get("kind") == "http"}
    found: list[Violation] = []
    for request in requests:
        kinds = list(request.get("violations") or [])
        if not faults and int(request["status"]) >= 500:
            kinds.append("5xx_without_faults")
        if not kinds:
            continue
        record = by_rid.get(request.get("rid"))
        found.append(
            Violation(
                route=str(request["route"]),
                status=int(request["status"]),
                kinds=kinds,
                body=str(request.get("body") or (record or {}).get("body") or ""),
                retry_after=request.get("retry_after"),
                faults=fault_names(record),
                rid=request.get("rid"),
            )
        )
    for flow in flows:
        if flow.get("event") != "wrong_answer":
            continue
        records = [by_rid.get(rid) for rid in flow.get("rids") or []]
        found.append(
            Violation(
                route=str(flow["route"]),
                status=int(flow["status"]),
                kinds=["wrong_answer"],
                body="",
                retry_after=None,
                faults=[name for record in records for name in fault_names(record)],
                rid=(flow.get("rids") or [None])[0],
                why=str(flow.get("why") or ""),
            )
        )
    # The webhook, as the simulated SNS deliveries met it (they do not go through the users).
    for record in stack_records:
        if record.get("kind") != "sns":
            continue
        answer = Answer(
            route="POST /v1/webhooks/ses",
            status=int(record["status"]),
            body=str(record.get("body") or ""),
            retry_after=record.get("retry_after"),
            ms=float(record["ms"]),
        )
        kinds = violations(answer)
        if answer.status >= 500:
            # A 5xx makes SNS retry, which is the webhook's design; what it answered is still listed.
            kinds = [k for k in kinds if k != "no_retry_after"] or kinds
        if not faults and answer.status >= 500:
            kinds.append("5xx_without_faults")
        if kinds:
            found.append(
                Violation(
                    route=answer.route,
                    status=answer.status,
                    kinds=kinds,
                    body=answer.body,
                    retry_after=answer.retry_after,
                    faults=fault_names(record),
                    rid=record.get("rid"),
                    why=f"SNS delivery attempt {record.get('attempt', 1)}",
                )
            )
    return found


def function_figures(stack_records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stream and queue invocations, per function; and the webhook as SNS met it."""
    rows: list[dict[str, Any]] = []
    by_function: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in stack_records:
        if record.get("kind") == "invoke":
            by_function[str(record["function"])].append(record)
    for function, records in sorted(by_function.items()):
        times = [float(r["ms"]) for r in records]
        rows.append(
            {
                "what": f"{function} (event source)",
                "count": len(records),
                "p50": percentile(times, 0.5),
                "p95": percentile(times, 0.95),
                "p99": percentile(times, 0.99),
                "outcomes": dict(
                    Counter(
                        "error" if r.get("error") else ("partial" if r.get("batch_item_failures") else "ok")
                        for r in records
                    )
                ),
            }
        )
    sns = [r for r in stack_records if r.get("kind") == "sns"]
    if sns:
        times = [float(r["ms"]) for r in sns]
        rows.append(
            {
                "what": "POST /v1/webhooks/ses (simulated SNS deliveries)",
                "count": len(sns),
                "p50": percentile(times, 0.5),
                "p95": percentile(times, 0.95),
                "p99": percentile(times, 0.99),
                "outcomes": dict(Counter(str(r["status"]) for r in sns)),
            }
        )
    return rows


# ---------------------------------------------------------------------------------------- markdown
def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:,.0f}"


def _statuses(by_status: dict[int, int]) -> str:
    return ", ".join(f"{status}×{count}" for status, count in sorted(by_status.items())) or "none"


def run_section(report: RunReport) -> list[str]:
    figures = route_figures(report.requests, report.duration_s)
    total = sum(f.count for f in figures)
    fault_line = f'`FAULTS="{report.faults_spec}"`, seed {report.seed}' if report.faults_spec else "none"
    lines = [
        f"## Run: {report.name}",
        "",
        f"{report.users} users for {report.duration_s:.0f} s (started {report.started_at}); "
        f"faults: {fault_line}. "
        f"{total} answers, {total / report.duration_s:.1f}/s overall."
        + (
            f" The machine's 1-minute load average was {report.load_average[0]:.1f} as the users started "
            f"and {report.load_average[1]:.1f} as they stopped (2 CPUs)."
            if report.load_average
            else ""
        ),
        "",
        "| route | answers | per s | p50 ms | p95 ms | p99 ms | max ms | non-2xx by status |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for f in figures:
        lines.append(
            f"| `{f.route}` | {f.count} | {f.per_s:.2f} | {_ms(f.p50)} | {_ms(f.p95)} | {_ms(f.p99)} | "
            f"{_ms(f.max)} | {_statuses(f.non_2xx)} |"
        )
    rows = function_figures(report.stack_records)
    if rows:
        lines += [
            "",
            "Behind the API (from the stack's journal; not measured by the users):",
            "",
            "| what | count | p50 ms | p95 ms | p99 ms | outcomes |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for row in rows:
            outcomes = ", ".join(f"{k}×{v}" for k, v in sorted(row["outcomes"].items()))
            lines.append(
                f"| {row['what']} | {row['count']} | {_ms(row['p50'])} | {_ms(row['p95'])} | "
                f"{_ms(row['p99'])} | {outcomes} |"
            )
    lines += ["", "### Faults injected", ""]
    fault_report = report.fault_report
    if report.faults_spec:
        injected = fault_report.get("injected") or {}
        calls = fault_report.get("calls") or {}
        lines += [
            f"{fault_report.get('injected_total', 0)} faults in {sum(calls.values())} DynamoDB, SESv2 and "
            f"EventBridge calls (rules `{fault_report.get('faults')}`, seed {fault_report.get('seed')}; "
            "from `/_dev/faults` after "
            "the run had settled):",
            "",
            "| operation | calls | injected |",
            "|---|---:|---|",
        ]
        for operation in sorted(calls):
            errors = injected.get(operation) or {}
            text = ", ".join(f"{code}×{n}" for code, n in sorted(errors.items())) or "–"
            lines.append(f"| `{operation}` | {calls[operation]} | {text} |")
        reached = Counter(
            f"{e['op']} {e['code']}"
            for r in report.stack_records
            for e in r.get("aws_errors") or []
            if e.get("injected") and e.get("surfaced")
        )
        lines += [
            "",
            "Injected faults that outlasted botocore's retries and reached a handler: "
            + (", ".join(f"`{k}`×{v}" for k, v in sorted(reached.items())) or "none")
            + ".",
        ]
    else:
        lines.append("None (the fault injection was off).")
    lines += ["", "### Invariants", ""]
    settled = report.settled
    lines.append(
        f"Settled {settled.waited_s:.1f} s after the users stopped"
        if settled.ok
        else f"**Not settled** after {settled.waited_s:.0f} s: {settled.pending}"
    )
    lines += ["", "| check | result | looked at | what must hold |", "|---|---|---:|---|"]
    for result in report.checks:
        verdict = "held" if result.ok else f"**FAILED** ({len(result.failures)})"
        lines.append(f"| `{result.name}` | {verdict} | {result.checked} | {result.claim} |")
    for result in report.checks:
        if result.failures or result.notes:
            lines += ["", f"`{result.name}`:", ""]
            lines += [f"- FAILED: {f}" for f in result.failures[:30]]
            if len(result.failures) > 30:
                lines.append(f"- … and {len(result.failures) - 30} more")
            lines += [f"- {n}" for n in result.notes[:15]]
            if len(result.notes) > 15:
                lines.append(f"- … and {len(result.notes) - 15} more notes")
    if report.redrive is not None:
        lines += redrive_section(report.redrive)
    if report.probes is not None:
        from load.probes import probe_section  # deferred: probes builds on this module

        lines += probe_section(report.probes)
    lines += ["", "### Contract violations", ""]
    slow = report.slow
    if slow:
        by_route = Counter(v.route for v in slow)
        faulted = sum(1 for v in slow if any("[injected" in f for f in v.faults))
        lines += [
            f"Slower than 5 s (the target): {len(slow)} answers, "
            + ", ".join(f"`{route}`×{n}" for route, n in by_route.most_common())
            + f"; {faulted} of them met an injected fault (retried away or not). "
            "On this shared machine most of this is waiting for a CPU; see the note at the top.",
            "",
        ]
    contract = report.contract_violations
    if not contract:
        lines.append("None: every answer was one the contract lists, in its shape.")
    else:
        lines += [
            f"{len(contract)} answers broke the contract (`slow` where they were also over 5 s). "
            "Grouped (one example body each):",
            "",
            "| route | status | what | count | fault behind it | example body |",
            "|---|---:|---|---:|---|---|",
        ]
        for (route, status, kinds, faults, why), group in grouped(contract):
            body = group[0].body.replace("|", "\\|").replace("\n", " ")[:160]
            what = ", ".join(kinds) + (f": {why}" if why else "")
            lines.append(
                f"| `{route}` | {status} | {what} | {len(group)} | {faults or 'none seen'} | `{body}` |"
                if body
                else f"| `{route}` | {status} | {what} | {len(group)} | {faults or 'none seen'} | |"
            )
    return lines


def redrive_section(redrive: Redrive) -> list[str]:
    letters = redrive.outcome.letters
    lines = [
        "",
        "### Redrive of the dead letters",
        "",
        f"With the faults off, each of the {len(letters)} dead letters was redriven (its batch read back "
        "from the stream and handed to its function, see `load/redrive.py`); then the stack settled "
        + (
            f"({redrive.settled.waited_s:.1f} s)"
            if redrive.settled.ok
            else f"**not** ({redrive.settled.pending})"
        )
        + " and every check ran again:",
        "",
    ]
    for letter in letters:
        verdict = "redriven" if letter.ok else f"**redrive failed**: {letter.detail}"
        lines.append(f"- `{letter.queue}` message {letter.message_id[:12]}: {letter.records} records to "
                     f"{letter.function or '?'}, {verdict}")  # fmt: skip
    lines += ["", "| check after the redrive | result |", "|---|---|"]
    for result in redrive.checks:
        verdict = "held" if result.ok else f"**FAILED** ({len(result.failures)})"
        lines.append(f"| `{result.name}` | {verdict} |")
    for result in redrive.checks:
        lines += [f"- `{result.name}`: {failure}" for failure in result.failures[:10]]
    return lines


def grouped(
    found: list[Violation],
) -> list[tuple[tuple[str, int, tuple[str, ...], str, str], list[Violation]]]:
    groups: dict[tuple[str, int, tuple[str, ...], str, str], list[Violation]] = defaultdict(list)
    for violation in found:
        key = (
            violation.route,
            violation.status,
            tuple(violation.kinds),
            "; ".join(sorted(set(violation.faults))),
            violation.why.split(" attempt ")[0] if violation.why.startswith("SNS") else violation.why,
        )
        groups[key].append(violation)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
