"""``python -m bench`` (what ``make bench`` runs). A report, not a gate: it exits 0 unless something
crashed or a flow did not do what it should, whatever the ratios."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from bench import report
from bench.flows import Flow, by_name
from bench.profiles import (
    BOTO3_IMPORT,
    FRAMEWORK_FLOOR,
    FRAMEWORK_IMPORTS,
    LAYER_BOTOCORE,
    NO_BYTECODE,
    NO_BYTECODE_AT_ALL,
    RUNTIME_BOTOCORE,
    ImportVariant,
    compile_ms,
    country_name_lookup,
    first_client_ms,
    import_profiles,
    package_profile,
    user_agent_parse,
    without_bytecode,
)
from bench.runner import Runner, Settings
from bench.sizes import function_sizes, largest_packages
from bench.stack import (
    LAYER_SOURCE,
    NAME_PREFIX,
    MotoServer,
    PythonPaths,
    XRayDaemonSink,
    harness_environment,
    log,
    provision_and_seed,
)
from devstack.template import REPO_ROOT, SamTemplate

BENCH_DIR = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--flows", help="comma-separated flow names (default: all)")
    parser.add_argument("--cold-runs", type=int, default=7, help="fresh processes per side and flow")
    parser.add_argument(
        "--restore-runs",
        type=int,
        default=Settings.restore_runs,
        help="restored copies forked per side and flow (restore model)",
    )
    parser.add_argument("--warm-iterations", type=int, default=200, help="timed warm requests per side")
    parser.add_argument("--warm-up", type=int, default=20, help="untimed warm requests per side first")
    parser.add_argument("--argon2-rounds", type=int, default=9)
    parser.add_argument("--no-profile", action="store_true", help="skip import profiles and cProfile")
    parser.add_argument("--no-sizes", action="store_true", help="skip package sizes (needs `make build`)")
    parser.add_argument("--build-dir", type=Path, default=REPO_ROOT / ".aws-sam" / "build")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG (needs matplotlib)")
    parser.add_argument("--no-restore", action="store_true", help="skip the SnapStart restore model")
    parser.add_argument(
        "--tracing-flows",
        default="sign_in,notify",
        help="flows on which every tracing option is measured (empty: none)",
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.md", help="markdown report")
    parser.add_argument("--chart", type=Path, default=BENCH_DIR / "results.png")
    parser.add_argument("--work", type=Path, default=BENCH_DIR / ".work", help="scratch directory")
    return parser.parse_args(argv)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `with` blocks: moto is stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    flows = by_name([n.strip() for n in args.flows.split(",")] if args.flows else None)
    settings = Settings(
        cold_runs=args.cold_runs,
        restore_runs=args.restore_runs,
        warm_iterations=args.warm_iterations,
        warm_up=args.warm_up,
        profile=not args.no_profile,
        restore=not args.no_restore,
        tracing_flows=tuple(n.strip() for n in args.tracing_flows.split(",") if n.strip()),
    )
    template = SamTemplate(name_prefix=NAME_PREFIX)
    paths = PythonPaths.build(work)
    run = report.Run(
        started=datetime.now(UTC),
        settings=settings,
        results=[],
        layer_packages=paths.layer_packages,
        runtime_packages=paths.runtime_packages,
    )
    began = time.monotonic()
    run.load.append(os.getloadavg()[0])
    with (
        MotoServer(work / "moto.log") as moto,
        XRayDaemonSink() as xray,
        harness_environment(template, moto.endpoint),
    ):
        log(f"moto server on {moto.endpoint} (pid {moto.pid})")
        fixture = provision_and_seed(template, moto.endpoint, work)
        from pwreset.credentials.hashing import hash_password

        runner = Runner(
            template,
            paths,
            fixture,
            endpoint=moto.endpoint,
            xray_port=xray.port,
            # A real argon2id hash at the configured parameters, so stubbed and real accounts look alike.
            stub_hash=hash_password("bench: stands in for every new password"),
            work=work,
            settings=settings,
            collect_moto_garbage=moto.collect_garbage,
        )
        try:
            for flow in flows:
                run.results.append(runner.run(flow))
                run.load.append(os.getloadavg()[0])
            run.argon2 = _argon2(runner, flows[0], args.argon2_rounds)
            if settings.profile:
                _profiles(run, runner, paths, work)
        finally:
            fixture.close()
        time.sleep(0.3)  # the last UDP segments
        run.xray_segments = xray.segments
        run.moto_collections = runner.moto_collections
    run.load.append(os.getloadavg()[0])
    log(f"moto server stopped; measuring took {time.monotonic() - began:.0f} s")

    if not args.no_sizes:
        if not (args.build_dir / "template.yaml").exists():
            log(f"no build in {args.build_dir}: run `make build` first, or pass --no-sizes")
            return 2
        run.sizes = function_sizes(template, args.build_dir)
        run.largest_in_layer = largest_packages(args.build_dir / "DomainLayer")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report.markdown(run), encoding="utf-8")
    log(f"wrote {args.out}")
    json_out = args.out.with_suffix(".json")
    json_out.write_text(json.dumps(report.json_results(run), indent=2) + "\n", encoding="utf-8")
    log(f"wrote {json_out}")
    if not args.no_chart:
        report.chart(run, args.chart)
        log(f"wrote {args.chart}")
    for line in report.summary_lines(run):
        print(line)
    return 1 if any(r.error for r in run.results) else 0


def _argon2(runner: Runner, flow: Flow, rounds: int) -> dict[str, object]:
    env = {**runner.env(flow, "service"), "BENCH_ARGON2_ROUNDS": str(rounds)}
    done = subprocess.run(
        [sys.executable, "-S", str(BENCH_DIR / "argon2_probe.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _profiles(run: report.Run, runner: Runner, paths: PythonPaths, work: Path) -> None:
    variants: list[ImportVariant] = []
    seen: set[str] = set()
    for result in run.results:
        flow = result.flow
        if flow.function in seen:
            continue
        seen.add(flow.function)
        env = runner.env(flow, "service")
        function_dir = runner.template.function_dir(flow.function)
        module = runner.template.handler(flow.function).rpartition(".")[0]
        label = f"{flow.function} (`import {module}`)"
        variants.append(ImportVariant(label, f"import {module}", env, function_dir))
        bare_env, bare_dir = without_bytecode(env, function_dir, work / "nopyc" / flow.function)
        variants.append(ImportVariant(f"{label}, {NO_BYTECODE}", f"import {module}", bare_env, bare_dir))
        # Every module compiled from source: what a cold start costs where no .pyc is usable.
        empty = work / "nopyc" / "empty-prefix"
        empty.mkdir(parents=True, exist_ok=True)
        nothing_env = {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(empty)}
        variants.append(
            ImportVariant(f"{label}, {NO_BYTECODE_AT_ALL}", f"import {module}", nothing_env, function_dir)
        )
    baseline_env = runner.env(run.results[0].flow, "baseline")
    variants.append(ImportVariant(BOTO3_IMPORT, "import boto3", baseline_env, work))
    # What the stack the service is built on costs before any pwreset code runs: the floor of
    # every handler's import, however lean pwreset itself gets.
    floor_env = runner.env(run.results[0].flow, "service")
    variants.append(ImportVariant(FRAMEWORK_FLOOR, FRAMEWORK_IMPORTS, floor_env, work))
    log(f"import profiles: {len(variants)} variants")
    run.imports = import_profiles(variants)
    run.compile_ms = compile_ms(LAYER_SOURCE / "pwreset")
    run.first_client = first_client_ms({LAYER_BOTOCORE: floor_env, RUNTIME_BOTOCORE: baseline_env}, work)
    run.user_agent_parse = user_agent_parse(floor_env, work)
    run.country_name = country_name_lookup(floor_env, work)
    roots = {
        LAYER_SOURCE / "pwreset": "pwreset",
        paths.layer: "",
        paths.runtime: "",
        **{runner.template.function_dir(r.flow.function): "handler (app.py)" for r in run.results},
    }
    for result in run.results:
        if result.profile and result.profile.exists():
            run.first_requests[result.flow.title] = package_profile(result.profile, roots)
        if result.warm_profile and result.warm_profile.exists():
            run.warm_requests[result.flow.title] = package_profile(result.warm_profile, roots)


if __name__ == "__main__":
    sys.exit(main())
