"""``bench/results.md`` and ``bench/results.png`` from one run."""

from __future__ import annotations

import platform
import subprocess
from collections import Counter
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
from bench.runner import FlowResult, Reply, Settings
from bench.sizes import UNZIPPED_LIMIT, ZIPPED_DIRECT_LIMIT, FunctionSize
from devstack.template import REPO_ROOT

COLD_TARGET = 1.2
WARM_TARGET = 1.3


@dataclass
class Run:
    started: datetime
    settings: Settings
    results: list[FlowResult]
    xray_segments: int = 0
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


# ---------------------------------------------------------------------------------------- verdicts


def ratio(service: float | None, baseline: float | None) -> float | None:
    return service / baseline if service is not None and baseline else None


def operations(calls: list[str]) -> Counter[str]:
    return Counter(call.split(" ", 1)[0] for call in calls)


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
        warm = ratio(r.warm_ms("service"), r.warm_ms("baseline"))
        calls = r.calls.get("service", {}).get("cold", [])
        lines.append(
            f"{r.flow.name:<14} cold {_x(cold)} {verdict(cold, COLD_TARGET)}   "
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
        f"server. Targets (issue #7): cold ≤ {COLD_TARGET}×, warm ≤ {WARM_TARGET}×, AWS calls = the "
        "minimum stated below. The machine is shared and noisy: read ratios, not milliseconds, "
        "and expect a few percent of run-to-run spread.",
        "",
        "## Summary",
        "",
    ]
    rows = []
    for r in run.results:
        cold = ratio(r.cold_ms("service"), r.cold_ms("baseline"))
        warm = ratio(r.warm_ms("service"), r.warm_ms("baseline"))
        calls = r.calls.get("service", {}).get("cold", [])
        rows.append(
            [
                r.flow.title,
                "ERROR" if r.error else f"{_x(cold)} {verdict(cold, COLD_TARGET)}",
                "ERROR" if r.error else f"{_x(warm)} {verdict(warm, WARM_TARGET)}",
                f"{len(calls)} / {len(r.flow.minimum)} {pass_fail(calls_ok(r))}",
            ]
        )
    out += _table(["flow", "cold (≤ 1.2×)", "warm (≤ 1.3×)", "AWS calls / minimum"], rows)
    out += _floor(run)
    errors = [r for r in run.results if r.error]
    for r in errors:
        out += [f"**{r.flow.title} failed:**", "", "```", (r.error or "").strip()[-3000:], "```", ""]

    out += _environment(run)
    out += _cold(run)
    out += _warm(run)
    out += _calls(run)
    out += _where_time_goes(run)
    out += _argon2(run)
    out += _sizes(run)
    out += [
        "## How to read and rerun",
        "",
        f"`make bench` (cold runs: {s.cold_runs} per side and flow; warm: {s.warm_iterations} requests "
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
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- moto {_version('moto')} (its server as `make dev` runs it, `devstack.motoserver`, with "
        "DynamoDB calls serialized; on 127.0.0.1, started and stopped by the run)",
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
        "boto3. Nothing else of the dev "
        "venv is visible: X-Ray's `patch_all` imports every library it supports that it can find, so "
        "extra packages would distort the cold start.",
        "- **Baseline**: a fresh `python -S` process with only the runtime's boto3 (and its whole "
        "botocore) on `sys.path`, "
        "running `bench/baseline.py`: the same flow as a plain boto3 script making exactly the "
        "minimal calls below (clients made once per process).",
        "- **Environment (both sides)**: the function's variables from `template.yaml` "
        "(`SamTemplate.function_environment`), `LAMBDA_TASK_ROOT`, `AWS_LAMBDA_FUNCTION_NAME`, "
        "`AWS_EXECUTION_ENV`, memory size, fake credentials with a session token, `AWS_REGION`, "
        "`AWS_ENDPOINT_URL` = the moto server, and a new sampled `_X_AMZN_TRACE_ID` per request. The "
        "template deploys `Tracing: Active` and no `POWERTOOLS_TRACE_DISABLED`, so powertools' Tracer "
        "is **on** (it checks `LAMBDA_TASK_ROOT`), patches botocore and emits segments to "
        f"`AWS_XRAY_DAEMON_ADDRESS`, a UDP sink of this run ({run.xray_segments} segments received). "
        "Metrics and logs go to stdout (a log file), as in Lambda.",
        "- **Changed for the benchmark**: `RATE_LIMITS` with "
        "the deployed rules and windows but limits of 10⁹ (every counter is still written, no run "
        "is turned away); argon2id stubbed out in the service (`pwreset.credentials.hashing.hash_password`, "
        "`verify_password`, `needs_rehash` replaced in the child before the handler is imported) "
        "and absent from the baseline: it is measured apart below, with the import of argon2-cffi"
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


def _cold(run: Run) -> list[str]:
    rows = []
    for r in run.results:
        svc, base = r.cold_ms("service"), r.cold_ms("baseline")
        value = ratio(svc, base)
        svc_import, base_import = r.cold_import_ms("service"), r.cold_import_ms("baseline")
        wall_s, wall_b = r.cold_wall_ms("service"), r.cold_wall_ms("baseline")
        first_s = svc - svc_import if svc is not None and svc_import is not None else None
        first_b = base - base_import if base is not None and base_import is not None else None
        rows.append(
            [
                r.flow.title,
                _ms(svc),
                _ms(base),
                f"**{_x(value)}**",
                verdict(value, COLD_TARGET),
                f"{_ms(svc_import)} / {_ms(first_s)}",
                f"{_ms(base_import)} / {_ms(first_b)}",
                f"{_ms(wall_s)} / {_ms(wall_b)} = {_x(ratio(wall_s, wall_b))}",
                f"{_spread(r.cold['service'])} / {_spread(r.cold['baseline'])}",
            ]
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
                "≤ 1.2×",
                "service: import / first request ms",
                "baseline: import / first request ms",
                "wall ms (service / baseline)",
                "min–max ms (service / baseline)",
            ],
            rows,
        ),
    ]


def _warm(run: Run) -> list[str]:
    rows = []
    for r in run.results:
        svc, base = r.warm_ms("service"), r.warm_ms("baseline")
        value = ratio(svc, base)
        rows.append(
            [
                r.flow.title,
                _ms(svc),
                _ms(base),
                f"**{_x(value)}**",
                verdict(value, WARM_TARGET),
                f"{_ms(_p90(r.warm['service']))} / {_ms(_p90(r.warm['baseline']))}",
                f"{_drift(r.warm['service'])} / {_drift(r.warm['baseline'])}",
            ]
        )
    return [
        "## Warm flow (same process, after warm-up)",
        "",
        *_table(
            [
                "flow",
                "service ms",
                "baseline ms",
                "ratio",
                "≤ 1.3×",
                "p90 ms (service / baseline)",
                "drift: last / first quarter (service / baseline)",
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
    cold = [ratio(r.cold_ms("service"), r.cold_ms("baseline")) or 0.0 for r in done]
    warm = [ratio(r.warm_ms("service"), r.warm_ms("baseline")) or 0.0 for r in done]
    positions = list(range(len(names)))
    width = 0.38
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=110)
    bars_cold = ax.bar([p - width / 2 for p in positions], cold, width, label="cold", color="#4878a8")
    bars_warm = ax.bar([p + width / 2 for p in positions], warm, width, label="warm", color="#e0904a")
    ax.axhline(COLD_TARGET, color="#4878a8", linestyle="--", linewidth=1, label=f"cold target {COLD_TARGET}×")
    ax.axhline(
        WARM_TARGET, color="#e0904a", linestyle=":", linewidth=1.4, label=f"warm target {WARM_TARGET}×"
    )
    ax.axhline(1.0, color="#888888", linewidth=0.8)
    ax.bar_label(bars_cold, labels=[f"{v:.2f}" for v in cold], fontsize=8, padding=2)
    ax.bar_label(bars_warm, labels=[f"{v:.2f}" for v in warm], fontsize=8, padding=2)
    # Two-word titles on two lines: seven flows side by side must not run into each other.
    ax.set_xticks(positions, [name.replace(" ", "\n", 1) for name in names])
    ax.set_ylabel("service / raw-boto3 baseline (median)")
    ax.set_title(f"Cold and warm ratios per flow ({run.started:%Y-%m-%d})")
    ax.set_ylim(0, max([*cold, *warm, WARM_TARGET]) * 1.3)  # headroom: the legend sits above the bars
    ax.legend(loc="upper center", fontsize=8, ncols=4)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
