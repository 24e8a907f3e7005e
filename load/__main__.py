"""``make load`` (``python -m load``): a headless locust run against the local stack, once without
faults and once with 5% faults on every DynamoDB and SESv2 operation and on EventBridge's PutEvents,
then the invariant checks over what each run did, written to ``load/results.md``.

Exit status: 0 when every invariant held in every run; 1 when one failed (or a run did not settle);
2 when a run could not be carried out at all. Contract violations (5xx, wrong shapes, missing
``Retry-After``, answers slower than 5 s) are reported, not counted, unless ``--strict``.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from load.client import StackFailed
from load.population import Shape
from load.report import RunReport, run_section
from load.run import Options, RunSpec, run

DEFAULT_FAULTS = "dynamodb.*=0.05,sesv2.*=0.05,events.PutEvents=0.05"
# botocore's retries absorb nearly every 5% fault; this one outlasts them for SES sends (three
# attempts in botocore's standard mode, 0.6^3: about one send in five fails for good) to walk the
# paths where a mail cannot go out.
SES_OUTAGE_FAULTS = "dynamodb.*=0.05,sesv2.SendEmail=0.6"
RUNS = ("clean", "faults", "ses-outage")
DEFAULT_SEED = 20261130
RESULTS = Path(__file__).with_name("results.md")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default %(default)s)")
    parser.add_argument("--duration", type=int, default=60, help="seconds per run (default %(default)s)")
    parser.add_argument(
        "--runs",
        default="clean,faults",
        help=f"comma-separated, of {', '.join(RUNS)} (default %(default)s); ses-outage: "
        f"FAULTS={SES_OUTAGE_FAULTS}",
    )
    parser.add_argument(
        "--faults", default=DEFAULT_FAULTS, help="fault rules of the faulted run (devstack.faults)"
    )
    parser.add_argument("--fault-seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--firms", type=int, default=4, help="firms the run provisions (besides the demo firms)"
    )
    parser.add_argument("--clients", type=int, default=8, help="clients with a password per provisioned firm")
    parser.add_argument(
        "--stop-timeout", type=int, default=40, help="seconds the users get to finish their flows at the end"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="the report (default load/results.md)")
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).with_name(".work"))
    parser.add_argument("--concurrency", type=int, default=20, help="execution environments per function")
    parser.add_argument("--link-wait", type=float, default=30.0, help="seconds a user waits for a link mail")
    parser.add_argument("--settle-timeout", type=float, default=180.0)
    parser.add_argument("--strict", action="store_true", help="contract violations fail the run too")
    parser.add_argument(
        "--no-probes", action="store_true", help="skip the deterministic probes after the run without faults"
    )
    return parser.parse_args(argv)


def write_results(path: Path, reports: list[RunReport], args: argparse.Namespace) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Load and faults: results",
        "",
        f"Written by `make load` on {now} ({platform.machine()}, {_cpus()} CPUs shared with other work, "
        f"Python {platform.python_version()}). What was held and how to read this: `docs/reliability.md`.",
        "",
        "**Latencies are noisy.** The local stack (moto, every handler, the SES simulator) and locust run "
        "on the same small machine, shared with other processes: the percentiles say where the time goes "
        "under contention, not what Lambda and DynamoDB would answer. The invariants and the contract "
        "violations do not depend on speed.",
        "",
        "The rate limits were loosened for these runs (every limit of the template's `RateLimits` × 1000, "
        "windows unchanged): all users come from 127.0.0.1, so the per-IP limits would otherwise "
        "answer most requests with 429 (or, for self-service, silently send nothing).",
        "",
        "Non-2xx answers the mix asks for on purpose (they are not errors): 401 from `POST /v1/sessions` "
        "(an unknown address) and from `GET /v1/sessions/current` (the session from before a password "
        "change, which must have ended); 404 from verify (a made-up token) and from `GET "
        "/v1/admin/accounts/{account_id}` (an erased account); 409 from invitations (the client has a "
        "password by now) and from staff sends (an address SES bounced or complained about); 410 from "
        "confirm (a link confirmed a second time, on purpose). Per route, `non-2xx by status` counts "
        "them all; what breaks the contract is listed under each run's contract violations.",
        "",
        "| run | users | seconds | faults | answers | contract violations | slower than 5 s "
        "| probe answers breaking it | invariants |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for report in reports:
        held = sum(1 for c in report.checks if c.ok)
        verdict = f"{held}/{len(report.checks)} held" + ("" if report.settled.ok else ", not settled")
        lines.append(
            f"| {report.name} | {report.users} | {report.duration_s:.0f} | {report.faults_spec or 'none'} | "
            f"{len(report.requests)} | {len(report.contract_violations)} | {len(report.slow)} | "
            f"{report.probe_violations if report.probes else '–'} | {verdict} |"
        )
    for report in reports:
        lines += ["", *run_section(report)]
    lines += [
        "",
        "## Reproduce",
        "",
        "```sh",
        f'make load LOAD_ARGS="--runs {args.runs} --users {args.users} --duration {args.duration} '
        f'--fault-seed {args.fault_seed}"',
        "```",
        "",
        "Each request's journal, the users' log, locust's CSV files and the stack's logs are in "
        "`load/.work/<run>/` (`violations.jsonl`: every violation with its request id and faults).",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(
        users=args.users,
        spawn_rate=float(args.users),
        duration_s=args.duration,
        work_dir=args.work_dir,
        shape=Shape(firms=args.firms, clients=args.clients),
        stop_timeout_s=args.stop_timeout,
        concurrency=args.concurrency,
        link_wait_s=args.link_wait,
        settle_timeout_s=args.settle_timeout,
    )
    wanted = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = [r for r in wanted if r not in RUNS]
    if unknown or not wanted:
        print(
            f"make load: --runs takes {', '.join(RUNS)}, not {', '.join(unknown) or 'nothing'}",
            file=sys.stderr,
        )
        return 2
    specs = {
        "clean": RunSpec("without faults", probes=not args.no_probes),
        "faults": RunSpec("with faults", faults=args.faults, seed=args.fault_seed),
        "ses-outage": RunSpec("SES failing beyond retries", faults=SES_OUTAGE_FAULTS, seed=args.fault_seed),
    }
    reports: list[RunReport] = []
    try:
        for name in wanted:
            reports.append(run(specs[name], options))
    except StackFailed as exc:
        print(f"make load: {exc}", file=sys.stderr)
        return 2
    write_results(args.out, reports, args)
    for report in reports:
        for check in report.checks:
            print(f"[{report.name}] {check.name}: {'held' if check.ok else 'FAILED'}")
            for failure in check.failures[:10]:
                print(f"    {failure}")
        if not report.settled.ok:
            print(f"[{report.name}] did not settle: {report.settled.pending}")
        print(
            f"[{report.name}] {len(report.contract_violations)} contract violations, "
            f"{len(report.slow)} answers slower than 5 s"
        )
    print(f"make load: {args.out}")
    return exit_code(reports, strict=args.strict)


def exit_code(reports: list[RunReport], *, strict: bool = False) -> int:
    """1 when an invariant failed or a run did not settle (or, with ``strict``, when an answer broke
    the contract), else 0."""
    for report in reports:
        if not report.invariants_ok or (strict and (report.violations or report.probe_violations)):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
