"""``bench/results.md`` and ``bench/results.png`` from one run."""

from __future__ import annotations

import math
import platform
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from statistics import median, quantiles
from typing import Any

from bench.flows import Flow
from bench.profiles import (
    BOTO3_IMPORT,
    FRAMEWORK_FLOOR,
    LAYER_BOTOCORE,
    NO_BYTECODE,
    NO_BYTECODE_AT_ALL,
    RUNTIME_BOTOCORE,
    CountryName,
    ImportProfile,
    UserAgentParse,
)
from bench.runner import TRACING_CHOSEN, TRACING_OPTIONS, FlowResult, Reply, Settings
from bench.sizes import UNZIPPED_LIMIT, ZIPPED_DIRECT_LIMIT, FunctionSize
from bench.stack import BREACHED_CHECK_DELAY_S
from devstack.template import REPO_ROOT

COLD_TARGET = 1.3  # issue #18 (the goal stays 1.2)
COLD_GOAL = 1.2
RESTORE_TARGET = 1.1
WARM_TARGET = 1.2


@dataclass
class Run:
    started: datetime
    settings: Settings
    results: list[FlowResult]
    xray_segments: int = 0
    moto_collections: int = 0  # garbage collections moto's server made, each between requests
    argon2: dict[str, Any] | None = None
    imports: list[ImportProfile] = field(default_factory=list)
    compile_ms: float | None = None
    first_client: dict[str, float] = field(default_factory=dict)  # ms, by whose botocore
    user_agent_parse: UserAgentParse | None = None
    country_name: CountryName | None = None
    first_requests: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)
    warm_requests: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)
    sizes: list[FunctionSize] | None = None
    largest_in_layer: list[tuple[str, int]] = field(default_factory=list)
    layer_packages: list[str] = field(default_factory=list)
    runtime_packages: list[str] = field(default_factory=list)
    # The 1-minute load average at the start, after each flow and at the end of the measuring.
    load: list[float] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- verdicts


def ratio(service: float | None, baseline: float | None) -> float | None:
    return service / baseline if service is not None and baseline else None


def operations(calls: list[str]) -> Counter[str]:
    return Counter(call.split(" ", 1)[0] for call in calls)


def calls_on_tables(calls: list[str]) -> Counter[str]:
    """Each call with the tables it touches, in any order: what a baseline must match, so that it
    cannot do less than the service (a table left out of a batch or a transaction) unnoticed."""
    return Counter(
        f"{operation} {'+'.join(sorted(on.split('+')))}"
        for operation, _, on in (call.partition(" ") for call in calls)
    )


def minimum_operations(flow: Flow) -> Counter[str]:
    return Counter(call.operation for call in flow.minimum)


def calls_ok(result: FlowResult) -> bool | None:
    service = result.calls.get("service")
    if not service:
        return None
    wanted = minimum_operations(result.flow)
    return operations(service["cold"]) == wanted and operations(service["warm"]) == wanted


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value <= target else "FAIL"


def pass_fail(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def summary_lines(run: Run) -> list[str]:
    lines = []
    for r in run.results:
        if r.error:
            lines.append(f"{r.flow.name:<14} ERROR  {r.error.splitlines()[-1][:160]}")
            continue
        cold = ratio(r.cold_ms("service"), r.cold_ms("baseline"))
        restored = ratio(r.restore_ms("service"), r.restore_ms("baseline"))
        warm = ratio(r.warm_ms("service"), r.warm_ms("baseline"))
        calls = r.calls.get("service", {}).get("cold", [])
        lines.append(
            f"{r.flow.name:<14} cold {_x(cold)} {verdict(cold, COLD_TARGET)}   "
            f"restore {_x(restored)} {verdict(restored, RESTORE_TARGET)}   "
            f"warm {_x(warm)} {verdict(warm, WARM_TARGET)}   "
            f"calls {len(calls)}/{len(r.flow.minimum)} {pass_fail(calls_ok(r))}"
        )
    return lines


# ---------------------------------------------------------------------------------------- formatting


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _mb(value: int) -> str:
    return f"{value / 1e6:.2f} MB" if value >= 100_000 else f"{value / 1e3:.1f} kB"


def _p90(values: list[float]) -> float | None:
    return quantiles(values, n=10)[-1] if len(values) >= 2 else (values[0] if values else None)


def _spread(replies: list[Reply]) -> str:
    values = [r.since_start_ms for r in replies if r.since_start_ms is not None]
    return f"{min(values):.0f}–{max(values):.0f}" if values else "n/a"


def _drift(values: list[float]) -> str:
    """Median of the last quarter over the first: 1.00 when nothing grew during the loop."""
    quarter = len(values) // 4
    if quarter < 2:
        return "n/a"
    return f"{median(values[-quarter:]) / median(values[:quarter]):.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cores() -> str:
    import os

    return str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


def _load(run: Run) -> list[str]:
    if not run.load:
        return []
    return [
        "- Load: a shared machine (other work ran beside the bench); 1-minute load average "
        f"{run.load[0]:.2f} at the start, {max(run.load):.2f} at its highest between flows, "
        f"{run.load[-1]:.2f} at the end, on {_cores()} cores"
    ]


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


# ---------------------------------------------------------------------------------------- markdown


def markdown(run: Run) -> str:
    s = run.settings
    out: list[str] = [
        "# Benchmark: cold start, warm latency, AWS calls, package size",
        "",
        f"Written by `make bench` on {run.started:%Y-%m-%d %H:%M} UTC. Every time is a median; every "
        "ratio is service / raw-boto3 baseline, both measured in the same run against the same moto "
        f"server. Targets (issue #18): plain cold ≤ {COLD_TARGET}× (goal {COLD_GOAL}×), SnapStart "
        f"restore model ≤ {RESTORE_TARGET}×, warm ≤ {WARM_TARGET}×, AWS calls = the minimum stated "
        "below. The machine is shared and noisy: read ratios, not milliseconds, and expect a few "
        "percent of run-to-run spread. **The restore column models SnapStart; it is not a "
        "measurement of it** (see *SnapStart restore model*).",
        "",
        "## Summary",
        "",
    ]
    rows = []
    for r in run.results:
        cold = ratio(r.cold_ms("service"), r.cold_ms("baseline"))
        restored = ratio(r.restore_ms("service"), r.restore_ms("baseline"))
        warm = ratio(r.warm_ms("service"), r.warm_ms("baseline"))
        calls = r.calls.get("service", {}).get("cold", [])
        rows.append(
            [
                r.flow.title,
                "ERROR" if r.error else f"{_x(cold)} {verdict(cold, COLD_TARGET)}",
                "ERROR" if r.error else f"{_x(restored)} {verdict(restored, RESTORE_TARGET)}",
                "ERROR" if r.error else f"{_x(warm)} {verdict(warm, WARM_TARGET)}",
                f"{len(calls)} / {len(r.flow.minimum)} {pass_fail(calls_ok(r))}",
            ]
        )
    out += _table(
        [
            "flow",
            f"plain cold (≤ {COLD_TARGET}×)",
            f"SnapStart restore model (≤ {RESTORE_TARGET}×)",
            f"warm (≤ {WARM_TARGET}×)",
            "AWS calls / minimum",
        ],
        rows,
    )
    out += _floor(run)
    errors = [r for r in run.results if r.error]
    for r in errors:
        out += [f"**{r.flow.title} failed:**", "", "```", (r.error or "").strip()[-3000:], "```", ""]

    sections = (
        _environment,
        _cold,
        _restore,
        _warm,
        _breached_check,
        _tracing,
        _cost,
        _snapstart_by_function,
        _calls,
        _where_time_goes,
        _argon2,
        _sizes,
    )
    for section in sections:
        out += section(run)
    out += [
        "## How to read and rerun",
        "",
        f"`make bench` (cold runs: {s.cold_runs} per side and flow; restore model: {s.restore_runs}; "
        f"warm: {s.warm_iterations} requests "
        f"per side after {s.warm_up} warm-up requests). `python -m bench --help` lists the knobs; "
        "logs of every measured process are in `bench/.work/logs/`, cProfile dumps of the first "
        "requests in `bench/.work/profiles/`.",
        "",
    ]
    return "\n".join(out)


def _environment(run: Run) -> list[str]:
    s = run.settings
    flows = [r.flow for r in run.results]
    changed = "".join(f"; {f.changed}" for f in flows if f.changed)
    per_flow = [f"- **{f.title}**: {f.method}" for f in flows if f.method]
    return [
        "## Environment",
        "",
        f"- Date: {run.started:%Y-%m-%d %H:%M} UTC; commit {_git_commit()}",
        f"- CPU: {_cpu_model()}, {_cores()} cores usable; {platform.system()} {platform.release()}",
        *_load(run),
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- moto {_version('moto')} (its server as `make dev` runs it, `devstack.motoserver`, with "
        "DynamoDB calls serialized; on 127.0.0.1, started and stopped by the run). Its automatic "
        "garbage collection is off: it collected "
        f"{run.moto_collections} times, each before a measured request, never during one "
        "(a collection of its heap pauses a request by up to 130 ms on this machine, and oftener "
        "the side whose requests make it allocate more: a cost of the stand-in, not of DynamoDB "
        "or SES)",
        f"- boto3 {_version('boto3')}, botocore {_version('botocore')}, aws-lambda-powertools "
        f"{_version('aws-lambda-powertools')}, pynamodb {_version('pynamodb')}, "
        f"pydantic {_version('pydantic')}",
        "",
        "### What each side runs",
        "",
        "- **Service**: a fresh `python -S` process whose `sys.path` is shaped like Lambda's: the "
        "function's directory (`functions/<name>/`, the handler imported as `app`), then the layer "
        "(`layers/pwreset/` plus exactly the packages `pip install -r layers/pwreset/requirements.txt` "
        "puts in the layer, linked from the venv, except botocore: a copy pruned as the layer's "
        "Makefile prunes it, to the data of the services the functions call), then the runtime's "
        "boto3 and `snapshot_restore_py` (both part of Lambda's python3.13 runtime). Nothing else of "
        "the dev venv is visible: a package the layer does not ship would change what imports.",
        "- **Baseline**: a fresh `python -S` process with only the runtime's boto3 (and its whole "
        "botocore) on `sys.path`, "
        "running `bench/baseline.py`: the same flow as a plain boto3 script making exactly the "
        "minimal calls below (clients made once per process).",
        "- **Environment (both sides)**: the function's variables from `template.yaml` "
        "(`SamTemplate.function_environment`), `LAMBDA_TASK_ROOT`, `AWS_LAMBDA_FUNCTION_NAME`, "
        "`AWS_EXECUTION_ENV`, memory size, fake credentials with a session token, `AWS_REGION`, "
        "`AWS_ENDPOINT_URL` = the moto server, and a new sampled `_X_AMZN_TRACE_ID` per request. The "
        "template deploys `Tracing: Active` and no `POWERTOOLS_TRACE_DISABLED`, so the functions' own "
        "tracing (`pwreset.runtime.tracing`) is **on** and sends the handler's and each AWS call's "
        f"subsegment to `AWS_XRAY_DAEMON_ADDRESS`, a UDP sink of this run ({run.xray_segments} "
        "segments received). "
        "Metrics and logs go to stdout (a log file), as in Lambda.",
        "- **Changed for the benchmark**: `RATE_LIMITS` with "
        "the deployed rules and windows but limits of 10⁹ (every counter is still written, no run "
        "is turned away); argon2id stubbed out in the service (`pwreset.credentials.hashing.hash_password`, "
        "`verify_password`, `needs_rehash` replaced in the child before the handler is imported) "
        "and absent from the baseline: it is measured apart below, with the import of argon2-cffi; "
        "`ORIGIN_VERIFY_SECRET_ID` empty, so the service, like the baseline, never believes the "
        "sample events' CloudFront headers (deployed, a new environment's first request through "
        "CloudFront reads the origin secret: one Secrets Manager call, cached five minutes)"
        f"{changed}.",
        f"- **Cold**: a new process per request, service and baseline alternating (A B A B …), "
        f"{s.cold_runs} per side. The primary number is measured inside the process: "
        "`time.perf_counter()` from the first line of `bench/child.py` to the handler's response "
        "(interpreter start-up before that line is the same for both sides). The harness's wall "
        "time (spawn to answer) is shown too.",
        f"- **Warm**: one long-lived process per side; after {s.warm_up} warm-up requests each, "
        f"{s.warm_iterations} requests per side, alternating, each timed inside the process around "
        "the handler call. Each request gets a fresh event prepared by the harness (untimed).",
        "- Bytecode: the venv's packages and `pwreset` run from their `__pycache__` (filled by an "
        "untimed first run), as on Lambda: the layer's Makefile compiles everything it ships "
        "(`compileall`). What a cold start would pay without bytecode is shown under *Where the "
        "time goes*. The service reads its templates as the layer ships them: the mail templates "
        "precompiled into Python modules (`TEMPLATES_DIR` points at a copy the run prepares).",
        "",
        *(["### Per flow", "", *per_flow, ""] if per_flow else []),
    ]


def _floor(run: Run) -> list[str]:
    """The import of the frameworks alone against ``import boto3``: no handler can start faster."""
    by_label = {p.label: p for p in run.imports}
    floor = by_label.get(FRAMEWORK_FLOOR)
    boto3 = by_label.get(BOTO3_IMPORT)
    if floor is None or boto3 is None:
        return []
    return [
        f"The frameworks the service is built on (powertools with its validating REST resolver, "
        f"pydantic, pynamodb), imported alone with no pwreset code, take {floor.total_ms:.0f} ms "
        f"against {boto3.total_ms:.0f} ms for `import boto3`: "
        f"**{_x(ratio(floor.total_ms, boto3.total_ms))}** before a handler does anything "
        "(see *Where the time goes*).",
        "",
    ]


def _ratio_row(r: FlowResult, ms: Callable[[str], float | None], target: float, *more: str) -> list[str]:
    """A flow's row of a ratio table: service and baseline ms, their ratio, its verdict against
    ``target``, then ``more``."""
    value = ratio(ms("service"), ms("baseline"))
    return [
        r.flow.title,
        _ms(ms("service")),
        _ms(ms("baseline")),
        f"**{_x(value)}**",
        verdict(value, target),
        *more,
    ]


def _cold(run: Run) -> list[str]:
    rows = []
    for r in run.results:
        svc, base = r.cold_ms("service"), r.cold_ms("baseline")
        svc_import, base_import = r.cold_import_ms("service"), r.cold_import_ms("baseline")
        wall_s, wall_b = r.cold_wall_ms("service"), r.cold_wall_ms("baseline")
        first_s = svc - svc_import if svc is not None and svc_import is not None else None
        first_b = base - base_import if base is not None and base_import is not None else None
        rows.append(
            _ratio_row(
                r,
                r.cold_ms,
                COLD_TARGET,
                f"{_ms(svc_import)} / {_ms(first_s)}",
                f"{_ms(base_import)} / {_ms(first_b)}",
                f"{_ms(wall_s)} / {_ms(wall_b)} = {_x(ratio(wall_s, wall_b))}",
                f"{_spread(r.cold['service'])} / {_spread(r.cold['baseline'])}",
            )
        )
    return [
        "## Cold flow (fresh process: import, initialise, first request)",
        "",
        *_table(
            [
                "flow",
                "service ms",
                "baseline ms",
                "ratio",
                f"≤ {COLD_TARGET}×",
                "service: import / first request ms",
                "baseline: import / first request ms",
                "wall ms (service / baseline)",
                "min–max ms (service / baseline)",
            ],
            rows,
        ),
    ]


def _restore(run: Run) -> list[str]:
    if not any(r.restore["service"] for r in run.results):
        return []
    rows = [
        _ratio_row(
            r,
            r.restore_ms,
            RESTORE_TARGET,
            _ms(r.restore_hooks_ms("service")),
            f"{_spread(r.restore['service'])} / {_spread(r.restore['baseline'])}",
        )
        for r in run.results
    ]
    return [
        "## SnapStart restore model (a model, not a measurement of SnapStart)",
        "",
        "One process per side and flow initialises as Lambda does before a SnapStart snapshot "
        "(the service: the handler's import and its before-snapshot warm-ups, "
        "`pwreset.runtime.snapstart`; the baseline: `import boto3` and its clients at module level, "
        "which is all a plain boto3 script does at initialisation) and stands for the snapshot; "
        "each run forks it, as Lambda restores one snapshot for every new execution environment, "
        "so every copy starts from the same memory. The fork stands "
        "for an execution environment restored from the snapshot: it runs the after-restore hooks "
        "(the service: connections dropped, credentials resolved again, `random` reseeded; the "
        "baseline has none) and the first request, timed from the fork to the response (medians of "
        f"{run.settings.restore_runs} runs per side, taking turns). What this "
        "leaves out is Lambda's own restore (resuming the microVM from the cached snapshot, and "
        "loading the runtime), which both sides would pay alike and which cannot be measured here "
        "without AWS: these numbers say what the function's own code costs after a restore, not how "
        "long a SnapStart cold start takes.",
        "",
        *_table(
            [
                "flow",
                "service ms",
                "baseline ms",
                "ratio",
                f"≤ {RESTORE_TARGET}×",
                "service: after-restore hooks ms",
                "min–max ms (service / baseline)",
            ],
            rows,
        ),
    ]


def _tracing(run: Run) -> list[str]:
    measured = [r for r in run.results if r.tracing]
    if not measured:
        return []
    rows = []
    for r in measured:
        options = {
            TRACING_CHOSEN: {
                "cold": ratio(r.cold_ms("service"), r.cold_ms("baseline")),
                "warm": ratio(r.warm_ms("service"), r.warm_ms("baseline")),
            }
        }
        for option, sides in r.tracing.items():
            options[option] = {
                phase: ratio(
                    median(sides["service"][phase]) if sides["service"][phase] else None,
                    median(sides["baseline"][phase]) if sides["baseline"][phase] else None,
                )
                for phase in ("cold", "warm")
            }
        for option, label in TRACING_OPTIONS.items():
            found = options.get(option, {})
            rows.append([r.flow.title, label, _x(found.get("cold")), _x(found.get("warm"))])
    return [
        "## Tracing options (each measured cold and warm against the same baseline, in this run)",
        "",
        "The X-Ray SDKs reach end of support on 25 Feb 2027 and the pinned powertools (3.37.0) has "
        "no other provider for its Tracer, so the service traces without an SDK: Lambda's active "
        "tracing records each invocation in API Gateway's trace, and `pwreset.runtime.tracing` adds the "
        "handler's and each AWS call's subsegment from botocore's own events. Every option runs as "
        "deployed (segments go to a UDP sink standing in for Lambda's trace endpoint). An "
        "OpenTelemetry path (the ADOT layer) is not measured here: it is a Lambda layer with its own "
        "collector extension, reported to double cold starts, and not installable offline.",
        "",
        *_table(["flow", "tracing", "cold ratio", "warm ratio"], rows),
    ]


# ---------------------------------------------------------------------------------------- cost

# Prices (USD), as stated with their sources in the cost section; us-east-1 list prices unless said.
PRICES_AS_OF = "2026-05 (the newest public copies this machine could read; no AWS pricing page is reachable)"
LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB_SECOND = 0.0000166667  # x86
SNAPSTART_CACHE_GB_SECOND = 0.0000015046
SNAPSTART_RESTORE_GB = 0.0001397998
SES_PER_MAIL = 0.10 / 1000
APIGW_REST_REQUEST = 3.50 / 1e6
DYNAMODB_RRU = 0.125 / 1e6
DYNAMODB_WRU = 0.625 / 1e6
SNS_PUBLISH = 0.50 / 1e6
SNS_HTTPS_DELIVERY = 0.60 / 1e6
MONTH_SECONDS = 30 * 24 * 3600

# One staff reset, end to end: (flow, invocations, API Gateway requests, SNS deliveries).
# Three mails (the link, then the owner's and the holder's after the change), each of which SES
# reports twice through SNS (Send and Delivery): six SES events, each a webhook invocation. The
# hosted page's GET and the authorizer's run before the staff request are not flows of the bench:
# the authorizer is counted at the duration of verify (two reads against verify's three).
STAFF_RESET = (
    ("staff", 1, 1, 0),
    ("verify", 2, 1, 0),  # the authorizer (as verify) and verify itself
    ("confirm", 1, 1, 0),
    ("notify", 1, 0, 0),
    ("ses_event", 6, 6, 6),
)
# The API functions (template.yaml, SnapStartFunctions' default); not the notification function.
SNAPSTART_FUNCTIONS = 7


def _units(flow: Flow) -> tuple[float, float]:
    """(read, write) capacity units of a flow's minimum calls, items under 1 KB (4 KB for reads),
    strongly consistent reads, global secondary index writes not counted: a lower bound."""
    reads = writes = 0.0
    for call in flow.minimum:
        items = len(call.target.split("(")[0].split("+"))
        op = call.operation
        if op.endswith(("GetItem", "Query")):
            reads += items if "Batch" in op else 1
        elif op.endswith("TransactWriteItems"):
            writes += 2 * items
        elif op.startswith("dynamodb."):
            writes += 1
    return reads, writes


def cost_per_thousand(run: Run, memory_gb: float = 1.0) -> dict[str, Any] | None:
    by_name = {r.flow.name: r for r in run.results if not r.error}
    if any(name not in by_name for name, *_ in STAFF_RESET):
        return None
    scenarios: dict[str, float] = {}
    for scenario in ("warm", "plain cold", "SnapStart restore"):
        lambda_cost = 0.0
        for name, invocations, _, _ in STAFF_RESET:
            r = by_name[name]
            if scenario == "warm":
                ms = r.warm_ms("service")
            elif scenario == "plain cold" or name == "notify":  # notify has no SnapStart
                ms = r.cold_ms("service")
            else:
                ms = r.restore_ms("service")
            billed = invocations * (ms or 0.0) / 1000 * memory_gb
            lambda_cost += invocations * LAMBDA_REQUEST + billed * LAMBDA_GB_SECOND
            if scenario == "SnapStart restore" and name != "notify":
                lambda_cost += invocations * memory_gb * SNAPSTART_RESTORE_GB
        scenarios[scenario] = lambda_cost * 1000
    reads = writes = 0.0
    for name, invocations, _, _ in STAFF_RESET:
        flow_reads, flow_writes = _units(by_name[name].flow)
        reads += invocations * flow_reads
        writes += invocations * flow_writes
    others = {
        "SES (3 mails)": 3 * SES_PER_MAIL * 1000,
        "API Gateway REST (9 requests)": sum(s[2] for s in STAFF_RESET) * APIGW_REST_REQUEST * 1000,
        "SNS (6 publishes, 6 HTTPS deliveries)": 6 * (SNS_PUBLISH + SNS_HTTPS_DELIVERY) * 1000,
        f"DynamoDB ({reads:.0f} RRU, {writes:.0f} WRU)": (reads * DYNAMODB_RRU + writes * DYNAMODB_WRU)
        * 1000,
    }
    cache_month = SNAPSTART_FUNCTIONS * memory_gb * MONTH_SECONDS * SNAPSTART_CACHE_GB_SECOND
    # What one plain cold start's initialisation is billed, against one restore's charge.
    staff = by_name["staff"]
    init_ms = (staff.cold_ms("service") or 0.0) - (staff.warm_ms("service") or 0.0)
    init_cost = max(init_ms, 0.0) / 1000 * memory_gb * LAMBDA_GB_SECOND
    return {
        "lambda": scenarios,
        "others": others,
        "snapstart_cache_month": cache_month,
        "init_ms": init_ms,
        "init_cost": init_cost,
        "restore_cost": memory_gb * SNAPSTART_RESTORE_GB,
    }


def _cost(run: Run) -> list[str]:
    found = cost_per_thousand(run)
    if found is None:
        return []
    others = sum(found["others"].values())
    rows = [
        [scenario, f"${lam:.4f}", f"${others:.4f}", f"**${lam + others:.4f}**"]
        for scenario, lam in found["lambda"].items()
    ]
    cache = found["snapstart_cache_month"]
    return [
        "## Cost per 1,000 staff resets, end to end",
        "",
        "One staff reset: the staff request (the authorizer first), the page's verify, the confirm, "
        "the notification (owner and holder mailed) and six SES events (Send and Delivery of each of "
        "the three mails, each a signed webhook call). Lambda: the service's medians of this run "
        "(billed as measured, at the template's 1024 MB), one invocation per step. Durations "
        "include moto's latency on this machine, not DynamoDB's or SES's: read them as an "
        "estimate. Three scenarios, since reset traffic is sparse: every invocation warm; every "
        "invocation a plain cold start (initialisation billed since 1 Aug 2025); every invocation "
        "of an API function restored by SnapStart (the restore model's time, billed, plus the "
        "restore charge; the notification function has no SnapStart and starts cold).",
        "",
        *_table(["scenario", "Lambda", "everything else", "total per 1,000 resets"], rows),
        "Everything else, per 1,000 resets: "
        + ", ".join(f"{name} ${value:.4f}" for name, value in found["others"].items())
        + ". DynamoDB is a lower bound (items under 1 KB, strongly consistent reads, index writes "
        "not counted).",
        "",
        f"**SnapStart costs more than it saves in Lambda charges here**: a restore is charged "
        f"${found['restore_cost']:.7f} at 1 GB, while the initialisation it replaces is billed "
        f"${found['init_cost']:.7f} (the staff request's cold minus warm median, "
        f"{found['init_ms']:.0f} ms): about {found['restore_cost'] / max(found['init_cost'], 1e-12):.0f}× "
        "more. SnapStart buys latency, not money; a smaller memory size lowers both the restore "
        "and the cache charge.",
        "",
        f"**SnapStart's cache charge is per month, not per reset**: {SNAPSTART_FUNCTIONS} API "
        f"functions × 1 GB × 30 days = **${cache:.2f} a month** for the live versions alone "
        f"(${cache / 1:.2f} per 1,000 resets at 1,000 resets a month, ${cache / 10:.2f} at 10,000, "
        f"${cache / 100:.2f} at 100,000). Every deploy publishes new versions "
        "(AutoPublishAlias) and the old ones stay cached, and charged, until deleted (at least 3 "
        "hours each): delete old versions after a deploy.",
        "",
        f"Prices (USD, us-east-1 list prices, as of {PRICES_AS_OF}; eu-central-1's differ by a few "
        "per cent and were not available): Lambda $0.20 per million requests and $0.0000166667 per "
        "GB-second on x86 (aws.amazon.com/lambda/pricing, as transcribed in the public "
        "api-evangelist/aws-lambda plans file, May 2026); SnapStart for Python $0.0000015046 per "
        "GB-second of cached snapshot and $0.0001397998 per GB restored (third-party copies of the "
        "same page, May 2026); INIT billed for managed runtimes since 1 Aug 2025 (AWS Compute Blog, "
        "April 2025). From the engineer's knowledge of the pricing pages (not re-checked here): SES "
        "$0.10 per 1,000 mails, API Gateway REST $3.50 per million requests, DynamoDB on-demand "
        "$0.125 per million read and $0.625 per million write request units (after the November "
        "2024 reduction), SNS $0.50 per million publishes and $0.60 per million HTTP(S) "
        "deliveries. Free tiers are not subtracted; X-Ray traces ($5 per million recorded after "
        "the first 100,000 a month) and CloudWatch Logs are not counted.",
        "",
    ]


# ------------------------------------------------------------------ SnapStart, function by function

# How often a function starts cold depends on how its invocations are spread. Resets come in
# office hours (accounting and tax firms): 22 days of 10 hours a month. AWS does not publish how
# long an idle execution environment is kept; about 10 minutes is what is commonly observed.
OFFICE_MINUTES_MONTH = 22 * 10 * 60
WORKING_DAYS_MONTH = 22
IDLE_LIFETIME_MINUTES = 10.0
RESETS_A_MONTH = (1_000, 10_000, 100_000)
# Invocations per staff reset (STAFF_RESET above, by function). The authorizer runs once per reset
# too, but no flow of the bench measures it on its own.
RESET_INVOCATIONS = {
    "RequestResetFunction": 1,
    "ConfirmResetFunction": 2,  # the page's verify and the confirm
    "NotifyPasswordChangedFunction": 1,
    "SesEventsFunction": 6,
}
# Who waits for a function's first answer: where nobody does, a restore buys nothing.
WHO_WAITS = {
    "AuthorizerFunction": "the staff member or client (before every signed-in route)",
    "RequestResetFunction": "the staff member",
    "ConfirmResetFunction": "the client on the reset page",
    "ResetPageFunction": "the client (the page)",
    "SessionsFunction": "the person signing in",
    "ProvisioningFunction": "no person: the CRM's server",
    "SesEventsFunction": "no person: SNS",
    "NotifyPasswordChangedFunction": "no person: the stream (the mails follow the answer)",
    "SelfServiceResetFunction": "no person: the queue (the client has its 202)",
    "CrmEventsFunction": "no person: the stream",
}
NOBODY_WAITS = "no person"


def cold_starts_a_month(invocations: float) -> float:
    """Cold starts of one function with ``invocations`` a month spread evenly over office hours
    (Poisson arrivals): an invocation starts cold when none came in the idle lifetime before it,
    and at least the first of each working day does."""
    if invocations <= 0:
        return 0.0
    per_minute = invocations / OFFICE_MINUTES_MONTH
    return min(
        invocations, max(WORKING_DAYS_MONTH, invocations * math.exp(-per_minute * IDLE_LIFETIME_MINUTES))
    )


@dataclass(frozen=True)
class SnapStartWeighing:
    function: str
    flows: tuple[str, ...]
    saved_ms: float  # plain cold minus the restore model, the service's medians
    resets: int | None  # None: the function is not on a reset's path
    invocations: float
    cold_starts: float
    cache: float  # $ a month, the live version's snapshot
    restores: float  # $ a month, one restore charge per cold start
    init_billed_saved: float  # $ a month: the billed duration a restore spares

    @property
    def net(self) -> float:
        return self.cache + self.restores - self.init_billed_saved

    @property
    def waiting_saved_s(self) -> float:
        return self.cold_starts * self.saved_ms / 1000


def snapstart_weighing(run: Run, memory_gb: float = 1.0) -> list[SnapStartWeighing]:
    """Per function the bench measured: SnapStart's charges a month (the live version's cached
    snapshot; a restore charge per cold start it replaces) against what it saves (the
    initialisation, in time a caller waits and in billed duration) at each of RESETS_A_MONTH, or
    once with no volume for a function off a reset's path."""
    by_function: dict[str, list[FlowResult]] = {}
    for r in run.results:
        if not r.error and r.flow.name != "confirm_breached":
            by_function.setdefault(r.flow.function, []).append(r)
    cache = memory_gb * MONTH_SECONDS * SNAPSTART_CACHE_GB_SECOND
    rows: list[SnapStartWeighing] = []
    for function, results in by_function.items():
        savings = [
            cold - restored
            for r in results
            if (cold := r.cold_ms("service")) is not None
            and (restored := r.restore_ms("service")) is not None
        ]
        if not savings:
            continue
        saved_ms = median(savings)
        flows = tuple(r.flow.title for r in results)
        per_reset = RESET_INVOCATIONS.get(function)
        for resets in RESETS_A_MONTH if per_reset else (None,):
            invocations = float((resets or 0) * (per_reset or 0))
            colds = cold_starts_a_month(invocations)
            rows.append(
                SnapStartWeighing(
                    function=function,
                    flows=flows,
                    saved_ms=saved_ms,
                    resets=resets,
                    invocations=invocations,
                    cold_starts=colds,
                    cache=cache,
                    restores=colds * memory_gb * SNAPSTART_RESTORE_GB,
                    init_billed_saved=colds * max(saved_ms, 0.0) / 1000 * memory_gb * LAMBDA_GB_SECOND,
                )
            )
    return rows


def _snapstart_by_function(run: Run) -> list[str]:
    if not run.settings.restore:
        return []
    weighed = snapstart_weighing(run)
    if not weighed:
        return []
    on_path = [w for w in weighed if w.resets is not None]
    off_path = [w for w in weighed if w.resets is None]
    rows = [
        [
            f"{w.function} ({', '.join(w.flows)})",
            f"{w.resets:,}",
            f"{w.invocations:,.0f}",
            f"{w.cold_starts:,.0f}",
            f"{w.saved_ms:.0f}",
            f"${w.cache:.2f} + ${w.restores:.2f}",
            f"${w.init_billed_saved:.4f}",
            f"**${w.net:.2f}**",
            f"{w.waiting_saved_s / 60:,.1f} min",
            f"${w.net / w.cold_starts:.4f}" if w.cold_starts else "–",
        ]
        for w in on_path
    ]
    out = [
        "## SnapStart, function by function: what it costs against the initialisation it saves",
        "",
        "Per function measured here, SnapStart's charges a month (its live version's cached snapshot "
        "at the template's 1024 MB, and one restore charge per cold start it replaces) against what "
        "it saves: the initialisation, as time a caller waits (plain cold minus the restore model, "
        "the service's medians of this run, across the function's flows) and as billed duration "
        "(initialisation is billed since 1 Aug 2025). Prices: SnapStart for Python $0.0000015046 per "
        "GB-second cached and $0.0001397998 per GB restored, Lambda $0.0000166667 per GB-second, "
        f"us-east-1 list prices as of {PRICES_AS_OF} (sources under *Cost per 1,000 staff resets*; "
        "eu-central-1's were not available). "
        "Cold starts are an estimate: a function's invocations per staff reset "
        "(the staff request 1, the confirm function 2, the notification 1, the SES webhook 6) spread "
        f"evenly over office hours ({WORKING_DAYS_MONTH} days of 10 hours), an execution environment "
        f"kept {IDLE_LIFETIME_MINUTES:.0f} minutes idle (AWS does not publish it), and at least the first "
        "invocation of each working day; peaks that scale out add cold starts, so read them as a "
        "lower bound at high volumes. Every deploy's old versions are cached and charged too until "
        "deleted (not counted).",
        "",
        *_table(
            [
                "function (flows)",
                "resets a month",
                "invocations",
                "cold starts (est.)",
                "initialisation saved per cold start, ms",
                "SnapStart: cache + restores, $ a month",
                "billed duration saved, $",
                "net cost, $ a month",
                "waiting saved a month",
                "net $ per cold start spared",
            ],
            rows,
        ),
    ]
    if off_path:
        out += [
            "Off a reset's path (their cold starts follow staff, clients' sign-ins or the CRM, not "
            "resets): each costs its cache charge a month whatever the traffic, plus a restore charge "
            "per cold start.",
            "",
            *_table(
                [
                    "function (flows)",
                    "who waits",
                    "initialisation saved per cold start, ms",
                    "cache, $ a month",
                ],
                [
                    [
                        f"{w.function} ({', '.join(w.flows)})",
                        WHO_WAITS.get(w.function, "?"),
                        f"{w.saved_ms:.0f}",
                        f"${w.cache:.2f}",
                    ]
                    for w in off_path
                ],
            ),
        ]
    nobody = sorted({w.function for w in weighed if WHO_WAITS.get(w.function, "").startswith(NOBODY_WAITS)})
    out += [
        "**Where to turn it off** (`SnapStartFunctions`, docs/operations.md#snapstart): SnapStart never "
        "pays in money here (a restore's charge exceeds the billed initialisation it spares, and the "
        "cache is charged whether or not a restore happens); it buys a shorter first answer. So it "
        "is worth its net cost only where a person waits for that answer: not for "
        + (", ".join(nobody) if nobody else "any function measured here")
        + " (who waits: "
        + "; ".join(f"{f}: {WHO_WAITS[f]}" for f in nobody)
        + "). Where a person waits, the last column is the price of each shorter first answer; at "
        "high volumes a function is rarely cold and the cache charge is spread over few cold starts, "
        "so the price per cold start spared rises again.",
        "",
    ]
    return out


def json_results(run: Run) -> dict[str, Any]:
    """``bench/results.json``: the ratios and calls per flow, for machines."""
    flows: dict[str, Any] = {}
    for r in run.results:
        flows[r.flow.name] = {
            "cold_ratio": _round(ratio(r.cold_ms("service"), r.cold_ms("baseline"))),
            "restore_ratio": _round(ratio(r.restore_ms("service"), r.restore_ms("baseline"))),
            "warm_ratio": _round(ratio(r.warm_ms("service"), r.warm_ms("baseline"))),
            "calls": len(r.calls.get("service", {}).get("cold", [])),
            "min_calls": len(r.flow.minimum),
        }
        if r.error:
            flows[r.flow.name]["error"] = r.error.splitlines()[-1][:300]
    return {
        "written": run.started.isoformat(timespec="seconds"),
        "targets": {
            "cold": COLD_TARGET,
            "cold_goal": COLD_GOAL,
            "restore": RESTORE_TARGET,
            "warm": WARM_TARGET,
        },
        "restore_is_a_model": True,
        "flows": flows,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _warm(run: Run) -> list[str]:
    rows = [
        _ratio_row(
            r,
            r.warm_ms,
            WARM_TARGET,
            f"{_ms(_p90(r.warm['service']))} / {_ms(_p90(r.warm['baseline']))}",
            f"{_drift(r.warm['service'])} / {_drift(r.warm['baseline'])}",
        )
        for r in run.results
    ]
    return [
        "## Warm flow (same process, after warm-up)",
        "",
        *_table(
            [
                "flow",
                "service ms",
                "baseline ms",
                "ratio",
                f"≤ {WARM_TARGET}×",
                "p90 ms (service / baseline)",
                "drift: last / first quarter (service / baseline)",
            ],
            rows,
        ),
    ]


def _plus(more: float | None, less: float | None) -> str:
    return "n/a" if more is None or less is None else f"{more - less:+.1f}"


def _breached_check(run: Run) -> list[str]:
    """What the breached-password check adds to a confirm: ``confirm_breached`` against ``confirm``
    (the same flow with the check off), when the run measured both."""
    measured = {r.flow.name: r for r in run.results if not r.error}
    on, off = measured.get("confirm_breached"), measured.get("confirm")
    if on is None or off is None:
        return []
    delay_ms = BREACHED_CHECK_DELAY_S * 1000
    rows = []
    for label, ms in (
        ("plain cold", FlowResult.cold_ms),
        ("SnapStart restore model", FlowResult.restore_ms),
        ("warm", FlowResult.warm_ms),
    ):
        service_on, service_off = ms(on, "service"), ms(off, "service")
        baseline_on, baseline_off = ms(on, "baseline"), ms(off, "baseline")
        service_more = None if service_on is None or service_off is None else service_on - service_off
        baseline_more = None if baseline_on is None or baseline_off is None else baseline_on - baseline_off
        rows.append(
            [
                label,
                f"{_ms(service_off)} → {_ms(service_on)}",
                _plus(service_more, 0.0),
                f"{_ms(baseline_off)} → {_ms(baseline_on)}",
                _plus(baseline_more, 0.0),
                _plus(service_more, baseline_more),
            ]
        )
    return [
        "## The breached-password check",
        "",
        f"What the check (`pwreset.credentials.breached`) costs a confirm: *{on.flow.title}* against "
        f"*{off.flow.title}*, the same flow with the check off, in this run. The range API is a local "
        f"fake that answers every request {delay_ms:.0f} ms after it arrives (a stand-in for a distant "
        "API; the public one's latency depends on the region), so each difference is those "
        f"{delay_ms:.0f} ms, the check's own work (the SHA-1, the request over the kept connection, "
        "which a cold start's first request opens, reading and comparing the 800-1,000 padded lines) "
        "and the machine's time to wake one more process and thread. The baseline makes the same "
        "lookup with the least code (one urllib3 GET, one comparison per line) and pays the same "
        "wait and wake-ups: the last column, the service's difference less the baseline's, is what "
        "the check costs beyond the least code. Deployed, a new password never waits more than 1 s "
        "for the API: then it is judged without it and `BreachedCheckSkipped` counts it.",
        "",
        *_table(
            [
                "",
                "service ms: off → on",
                "service: difference ms",
                "baseline ms: off → on",
                "baseline: difference ms",
                "service's difference less the baseline's, ms",
            ],
            rows,
        ),
    ]


def _calls(run: Run) -> list[str]:
    out = [
        "## AWS API calls per flow",
        "",
        "Counted in the measured processes with a botocore event hook (`before-parameter-build`, once "
        "per API call, retries not counted) registered on every client any botocore session creates "
        "(pwreset's own clients, pynamodb's connection and boto3's alike). The minimum is what the "
        "flow cannot do without while keeping the service's behaviour; the baseline makes exactly "
        "these calls.",
        "",
    ]
    for r in run.results:
        service = r.calls.get("service", {})
        baseline = r.calls.get("baseline", {})
        wanted = minimum_operations(r.flow)
        got = operations(service.get("cold", []))
        out += [
            f"### {r.flow.title}: {len(service.get('cold', []))} calls, minimum {len(r.flow.minimum)} "
            f"— {pass_fail(calls_ok(r))}",
            "",
            f"Case measured: {r.flow.path}.",
            "",
            *_table(
                ["#", "minimum call", "on", "why it is needed"],
                [[str(i), f"`{c.operation}`", c.target, c.why] for i, c in enumerate(r.flow.minimum, 1)],
            ),
            "Service, first request: " + (", ".join(f"`{c}`" for c in service.get("cold", [])) or "none"),
            "",
        ]
        if r.clients:
            out += [
                "botocore clients made by the first request (each new session loads and parses "
                "the service model and endpoint rules again): "
                + "; ".join(f"{side}: {', '.join(made) or 'none'}" for side, made in r.clients.items()),
                "",
            ]
        if service.get("warm") != service.get("cold"):
            out += ["Service, warm request: " + ", ".join(f"`{c}`" for c in service.get("warm", [])), ""]
        extra, missing = got - wanted, wanted - got
        if extra:
            out += ["Beyond the minimum: " + ", ".join(f"{n}× `{op}`" for op, n in extra.items()), ""]
        if missing:
            out += ["Short of the minimum: " + ", ".join(f"{n}× `{op}`" for op, n in missing.items()), ""]
        if baseline and operations(baseline.get("cold", [])) != wanted:
            out += ["**The baseline's calls differ from the minimum**: " + ", ".join(baseline["cold"]), ""]
        if baseline and calls_on_tables(baseline.get("cold", [])) != calls_on_tables(service.get("cold", [])):
            out += ["**The baseline's calls touch other tables**: " + ", ".join(baseline["cold"]), ""]
    return out


def _where_time_goes(run: Run) -> list[str]:
    out = ["## Where the time goes", ""]
    if run.imports:
        out += [
            f"### Imports (`python -S -X importtime`, median of {run.imports[0].runs} runs, taking turns)",
            "",
            *_table(
                ["what is imported", "total ms"],
                [[p.label, _ms(p.total_ms)] for p in run.imports],
            ),
        ]
        for p in run.imports:
            if NO_BYTECODE in p.label or NO_BYTECODE_AT_ALL in p.label:
                continue
            out += [
                f"**{p.label}**: self time by package (ms): "
                + ", ".join(f"{name} {ms:.1f}" for name, ms in p.by_package[:10]),
                "",
                "Heaviest imports (cumulative ms): "
                + ", ".join(f"`{name}` {ms:.1f}" for name, ms in p.heaviest[:10]),
                "",
            ]
    if run.compile_ms is not None:
        out += [
            f"Compiling every module of `pwreset` from source (what each cold start on Lambda "
            f"would pay if the layer shipped no `.pyc`): {run.compile_ms:.1f} ms "
            "(median of 5, `compile()` of each file).",
            "",
        ]
    if run.first_client:
        layer, runtime = run.first_client[LAYER_BOTOCORE], run.first_client[RUNTIME_BOTOCORE]
        out += [
            f"The first DynamoDB client of a fresh process (botocore session and client, after the "
            f"import; median of 7, taking turns): **{layer:.1f} ms** on the layer's botocore, pruned "
            f"to the data of the services the functions call (`buildsteps.botocore_data`), against "
            f"**{runtime:.1f} ms** on the runtime's whole botocore, which the baseline uses: "
            f"{runtime - layer:.0f} ms of every cold start that the pruning saves, and that a raw "
            "script could save the same way.",
            "",
        ]
    if run.user_agent_parse:
        ua = run.user_agent_parse
        out += [
            f"The first User-Agent parse of a fresh process, which the notification's first request "
            f"pays (ua-parser loads and builds its browser and OS rules then, on {ua.backend}; "
            f"median of {ua.runs}): **{ua.first_ms:.1f} ms**; each parse after it {ua.next_ms:.2f} ms.",
            "",
        ]
    if run.country_name:
        cn = run.country_name
        out += [
            f"The first German country name of a fresh process, which the notification's first German "
            f"mail pays (Babel's import and CLDR's German data, for the location line; median of "
            f"{cn.runs}): **{cn.first_ms:.1f} ms**; each name after it {cn.next_ms:.2f} ms.",
            "",
        ]
    if run.first_requests:
        out += [
            "### The first request after the import (cProfile, own time by package)",
            "",
            "Time in the standard library and in C functions is charged to the package that called "
            "it (so botocore's JSON parsing of its service models counts as botocore). Profiling "
            "slows Python code more than C code and network waits: read the shares.",
            "",
        ]
        rows = [
            [flow, ", ".join(f"{name} {share:.0%}" for name, _ms_, share in groups[:8])]
            for flow, groups in run.first_requests.items()
        ]
        out += _table(["flow", "share of the first request's time"], rows)
    if run.warm_requests:
        out += ["### Warm requests (cProfile over the warm-up requests, own time by package)", ""]
        rows = [
            [flow, ", ".join(f"{name} {share:.0%}" for name, _ms_, share in groups[:8])]
            for flow, groups in run.warm_requests.items()
        ]
        out += _table(["flow", "share of the warm requests' time"], rows)
    return out


def _argon2(run: Run) -> list[str]:
    a = run.argon2
    if not a:
        return []
    return [
        "## argon2id (reported apart: both sides would pay it)",
        "",
        *_table(
            ["parameters", "import argon2-cffi ms (cold)", "hash ms", "verify ms", "rounds"],
            [
                [
                    f"t={a['time_cost']}, m={a['memory_kib']} KiB, p={a['parallelism']}",
                    _ms(a["import_ms"]),
                    _ms(a["hash_ms"]),
                    _ms(a["verify_ms"]),
                    str(a["rounds"]),
                ]
            ],
        ),
        "Confirm pays one hash, sign-in one verification (plus the import on a cold start).",
        "",
    ]


def _sizes(run: Run) -> list[str]:
    if run.sizes is None:
        return ["## Deployment package size", "", "Not measured in this run (`--no-sizes`).", ""]
    rows = []
    for f in run.sizes:
        rows.append(
            [
                f.function,
                _mb(f.code.unzipped),
                ", ".join(f"{name} {_mb(s.unzipped)}" for name, s in f.layers.items()),
                _mb(f.unzipped),
                f"{f.unzipped / UNZIPPED_LIMIT:.0%}",
                _mb(f.zipped),
                f"{f.zipped / ZIPPED_DIRECT_LIMIT:.0%}",
            ]
        )
    out = [
        "## Deployment package size (`make build`: `sam build --build-in-source`, no Docker)",
        "",
        *_table(
            [
                "function",
                "code unzipped",
                "layers unzipped",
                "total unzipped",
                "of 250 MB",
                "zipped (code + layers)",
                "of 50 MB direct upload",
            ],
            rows,
        ),
    ]
    if run.largest_in_layer:
        out += [
            "Largest packages in the layer (unzipped): "
            + ", ".join(f"{name} {_mb(size)}" for name, size in run.largest_in_layer),
            "",
        ]
    return out


# ---------------------------------------------------------------------------------------- chart


def chart(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in run.results if not r.error]
    names = [r.flow.title for r in done]
    series = [
        ("plain cold", [ratio(r.cold_ms("service"), r.cold_ms("baseline")) or 0.0 for r in done], "#4878a8"),
        (
            "restore model",
            [ratio(r.restore_ms("service"), r.restore_ms("baseline")) or 0.0 for r in done],
            "#6aa56a",
        ),
        ("warm", [ratio(r.warm_ms("service"), r.warm_ms("baseline")) or 0.0 for r in done], "#e0904a"),
    ]
    positions = list(range(len(names)))
    width = 0.27
    fig, ax = plt.subplots(figsize=(11, 5), dpi=110)
    for n, (label, values, color) in enumerate(series):
        bars = ax.bar([p + (n - 1) * width for p in positions], values, width, label=label, color=color)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=2)
    for target, color, style, label in (
        (COLD_TARGET, "#4878a8", "--", f"cold target {COLD_TARGET}×"),
        (RESTORE_TARGET, "#6aa56a", "-.", f"restore target {RESTORE_TARGET}×"),
        (WARM_TARGET, "#e0904a", ":", f"warm target {WARM_TARGET}×"),
    ):
        ax.axhline(target, color=color, linestyle=style, linewidth=1.2, label=label)
    ax.axhline(1.0, color="#888888", linewidth=0.8)
    # Two-word titles on two lines: a dozen flows side by side must not run into each other.
    ax.set_xticks(positions, [name.replace(" ", "\n", 1) for name in names])
    ax.set_ylabel("service / raw-boto3 baseline (median)")
    ax.set_title(f"Cold, restore-model and warm ratios per flow ({run.started:%Y-%m-%d})")
    top = max([v for _, values, _ in series for v in values] + [COLD_TARGET])
    ax.set_ylim(0, top * 1.3)  # headroom: the legend sits above the bars
    ax.legend(loc="upper center", fontsize=7, ncols=3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
