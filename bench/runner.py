"""Runs the measured processes: cold runs (a fresh process per request, service and baseline
interleaved), warm loops (two long-lived processes, one request each in turn), a call-counting run
and a profiled first request per flow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from statistics import median
from typing import IO, Any

from bench.flows import Flow
from bench.stack import Fixture, PythonPaths, lambda_environment, log
from devstack.template import SamTemplate

CHILD = Path(__file__).resolve().parent / "child.py"
SIDES = ("service", "baseline")


class FlowFailed(RuntimeError):
    """A measured process crashed or answered something else than the flow means."""


# How a function may trace (pwreset.runtime.tracing's choice, and the options it was chosen from):
# the chosen one is what every other measurement runs with.
TRACING_CHOSEN = "subsegments"
TRACING_OPTIONS = {
    TRACING_CHOSEN: "Lambda's active tracing + pwreset's subsegment per AWS call (chosen, deployed)",
    "off": "Lambda's active tracing only: no code in the function traces (AWS calls invisible)",
    "xray-sdk": "powertools' Tracer on the X-Ray SDK, patching botocore (before; SDK unsupported from "
    "25 Feb 2027)",
}


@dataclass(frozen=True)
class Settings:
    cold_runs: int = 7
    # A restore's first request is a few tens of milliseconds against a shared moto server, whose
    # latency spreads it by a fifth, and the machine's speed drifts: it takes many runs for a median
    # steady enough to be read against a 10 % target. A run costs a fork of the side's snapshot,
    # not an import, so they are cheap.
    restore_runs: int = 61
    warm_iterations: int = 200
    warm_up: int = 20
    profile: bool = True
    restore: bool = True
    tracing_flows: tuple[str, ...] = ("sign_in", "notify")


@dataclass
class Reply:
    ms: float  # the invocation alone, inside the process
    response: dict[str, Any]
    calls: list[str]
    clients: list[str]  # botocore clients made (with their session) during this request
    since_start_ms: float | None = None  # first line of the process to response (cold)
    import_ms: float | None = None  # first line to handler imported
    wall_ms: float | None = None  # seen from the harness: process start to reply


@dataclass
class FlowResult:
    flow: Flow
    cold: dict[str, list[Reply]] = field(default_factory=lambda: {s: [] for s in SIDES})
    restore: dict[str, list[Reply]] = field(default_factory=lambda: {s: [] for s in SIDES})
    warm: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SIDES})
    # tracing option -> side -> "cold"/"warm" -> ms (the options other than the chosen one)
    tracing: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    calls: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # side -> cold/warm -> calls
    clients: dict[str, list[str]] = field(default_factory=dict)  # side -> clients made by request 1
    profile: Path | None = None
    warm_profile: Path | None = None
    error: str | None = None

    def cold_ms(self, side: str) -> float | None:
        return _median([r.since_start_ms for r in self.cold[side]])

    def cold_wall_ms(self, side: str) -> float | None:
        return _median([r.wall_ms for r in self.cold[side]])

    def cold_import_ms(self, side: str) -> float | None:
        return _median([r.import_ms for r in self.cold[side]])

    def warm_ms(self, side: str) -> float | None:
        return _median(list(self.warm[side]))

    def restore_ms(self, side: str) -> float | None:
        return _median([r.since_start_ms for r in self.restore[side]])

    def restore_hooks_ms(self, side: str) -> float | None:
        return _median([r.import_ms for r in self.restore[side]])


def _median(values: list[float | None]) -> float | None:
    """The median of the values measured (a run that measured none is left out), or None."""
    measured = [value for value in values if value is not None]
    return median(measured) if measured else None


class Worker:
    """One measured process. ``serve``: it stays up and takes one event per ``invoke``."""

    def __init__(
        self,
        job: dict[str, Any],
        env: dict[str, str],
        cwd: Path,
        log_file: IO[bytes],
        *,
        serve: bool = False,
    ) -> None:
        read_fd, write_fd = os.pipe()
        job = {**job, "reply_fd": write_fd, "serve": serve}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-S", str(CHILD)],
            env={**env, "BENCH_JOB": json.dumps(job)},
            cwd=cwd,
            stdin=subprocess.PIPE if serve else subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        self.replies = os.fdopen(read_fd, "r")

    def reply(self) -> Reply:
        line = self.replies.readline()
        wall = (time.perf_counter() - self.started) * 1000
        if not line:
            self.process.wait(timeout=30)
            raise FlowFailed(f"process exited ({self.process.returncode}) without answering")
        data = json.loads(line)
        if "error" in data:
            raise FlowFailed(data["error"])
        return Reply(
            ms=data["ms"],
            response=data["response"] if isinstance(data["response"], dict) else {"raw": data["response"]},
            calls=data["calls"],
            clients=data.get("clients", []),
            since_start_ms=data.get("since_start_ms"),
            import_ms=data.get("import_ms"),
            wall_ms=wall,
        )

    def invoke(self, event: dict[str, Any]) -> Reply:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(event) + "\n").encode())
        self.process.stdin.flush()
        return self.reply()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.replies.close()


@dataclass
class Runner:
    template: SamTemplate
    paths: PythonPaths
    fixture: Fixture
    _: KW_ONLY
    endpoint: str
    xray_port: int
    stub_hash: str
    work: Path
    settings: Settings
    # Has moto's server collect its garbage (``MotoServer.collect_garbage``); the collections so far.
    collect_moto_garbage: Callable[[], int]
    moto_collections: int = 0

    def __post_init__(self) -> None:
        (self.work / "logs").mkdir(parents=True, exist_ok=True)
        (self.work / "profiles").mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ processes
    def env(self, flow: Flow, side: str, tracing: str = TRACING_CHOSEN) -> dict[str, str]:
        function_dir = self.template.function_dir(flow.function)
        if side == "service":
            python_path = self.paths.service(function_dir)
            if tracing == "xray-sdk":
                python_path = os.pathsep.join((python_path, str(self.paths.xray_sdk())))
        else:
            python_path = self.paths.baseline(flow.baseline_packages)
        env = lambda_environment(
            self.template,
            flow.function,
            endpoint=self.endpoint,
            xray_port=self.xray_port,
            python_path=python_path,
        )
        env["BENCH_STUB_HASH"] = self.stub_hash
        if side == "service":
            env["TEMPLATES_DIR"] = str(self.paths.templates)
        if flow.environment:
            env.update(flow.environment(self.fixture))
        if side == "service" and tracing != TRACING_CHOSEN:
            env["POWERTOOLS_TRACE_DISABLED"] = "true"  # pwreset's own tracing off
        return env

    def job(self, flow: Flow, side: str, event: dict[str, Any], **options: Any) -> dict[str, Any]:
        if side == "service":
            job = {
                "side": side,
                "handler": self.template.handler(flow.function),
                "stub_hash": self.stub_hash if flow.stub_hash else None,
            }
        else:
            job = {"side": side, "baseline": flow.baseline}
        return {**job, "event": event, **options}

    def prepare(self, flow: Flow) -> dict[str, Any]:
        """The event of a flow's next request, its state set up; moto's garbage collected last, so
        no collection pauses the request (see ``devstack.motoserver.ManualGarbageCollection``)."""
        self.fixture.reset_state(flow.fresh_tables)
        event = flow.prepare(self.fixture)
        self.moto_collections = self.collect_moto_garbage()
        return event

    def start(
        self, flow: Flow, side: str, *, serve: bool = False, tracing: str = TRACING_CHOSEN, **options: Any
    ) -> tuple[Worker, Reply]:
        event = self.prepare(flow)
        if side == "service" and tracing != TRACING_CHOSEN:
            options["tracing"] = tracing
        with (self.work / "logs" / f"{flow.name}-{side}.log").open("ab") as log_file:
            worker = Worker(
                self.job(flow, side, event, **options),
                self.env(flow, side, tracing),
                self.template.function_dir(flow.function),
                log_file,
                serve=serve,
            )
        try:
            first = worker.reply()
            self.check(flow, side, event, first)
        except BaseException:
            worker.close()
            raise
        return worker, first

    def invoke(self, flow: Flow, side: str, worker: Worker) -> Reply:
        event = self.prepare(flow)
        reply = worker.invoke(event)
        self.check(flow, side, event, reply)
        return reply

    def check(self, flow: Flow, side: str, event: dict[str, Any], reply: Reply) -> None:
        problem = flow.check(reply.response)
        if not problem and flow.verify:
            problem = flow.verify(self.fixture, event)
        if problem:
            raise FlowFailed(f"{flow.name} ({side}): {problem}")

    # ------------------------------------------------------------------ measures
    def count_calls(self, flow: Flow, result: FlowResult) -> None:
        """Calls of the first (cold) and of a second (warm) request. Also fills the bytecode
        caches, so no timed run compiles."""
        for side in SIDES:
            worker, first = self.start(flow, side, serve=True, count_calls=True)
            try:
                second = self.invoke(flow, side, worker)
            finally:
                worker.close()
            result.calls[side] = {"cold": first.calls, "warm": second.calls}
            result.clients[side] = first.clients

    def cold(self, flow: Flow, result: FlowResult) -> None:
        for _ in range(self.settings.cold_runs):
            for side in SIDES:  # A B A B ...: drift hits both sides alike
                worker, first = self.start(flow, side)
                worker.close()
                result.cold[side].append(first)

    def restore(self, flow: Flow, result: FlowResult) -> None:
        """The SnapStart model: one process per side initialises as before a snapshot; each run
        forks it, and the fork runs the after-restore hooks and the first request
        (``bench/child.py``). Every copy starts from the same snapshot, as Lambda's do."""
        snapshots: dict[str, Worker] = {}
        try:
            for side in SIDES:
                snapshots[side], first = self.start(flow, side, restore=True, serve=True)
                result.restore[side].append(first)
            for _ in range(self.settings.restore_runs - 1):
                for side in SIDES:  # A B A B ...: drift hits both sides alike
                    result.restore[side].append(self.invoke(flow, side, snapshots[side]))
        finally:
            for worker in snapshots.values():
                worker.close()

    def warm(self, flow: Flow, result: FlowResult, tracing: str = TRACING_CHOSEN) -> list[list[float]]:
        workers: dict[str, Worker] = {}
        timed: list[list[float]] = [[], []]
        try:
            for side in SIDES:
                workers[side], _ = self.start(flow, side, serve=True, tracing=tracing)
            for i in range(self.settings.warm_up + self.settings.warm_iterations):
                for n, side in enumerate(SIDES):
                    reply = self.invoke(flow, side, workers[side])
                    if i >= self.settings.warm_up:
                        timed[n].append(reply.ms)
                        if tracing == TRACING_CHOSEN:
                            result.warm[side].append(reply.ms)
        finally:
            for worker in workers.values():
                worker.close()
        return timed

    def tracing_options(self, flow: Flow, result: FlowResult) -> None:
        """Cold and warm with each tracing option the service did not choose, against the same
        baseline in the same way (the chosen option is the main measurement)."""
        for option in TRACING_OPTIONS:
            if option == TRACING_CHOSEN:
                continue
            cold: dict[str, list[float]] = {s: [] for s in SIDES}
            for _ in range(self.settings.cold_runs):
                for side in SIDES:
                    worker, first = self.start(flow, side, tracing=option)
                    worker.close()
                    if first.since_start_ms is not None:
                        cold[side].append(first.since_start_ms)
            warm = self.warm(flow, result, tracing=option)
            result.tracing[option] = {
                side: {"cold": cold[side], "warm": warm[n]} for n, side in enumerate(SIDES)
            }

    def profile(self, flow: Flow, result: FlowResult) -> None:
        """cProfile of the first request and, apart, of the warm requests after it (untimed)."""
        path = self.work / "profiles" / f"{flow.name}-first-request.prof"
        warm = self.work / "profiles" / f"{flow.name}-warm-requests.prof"
        worker, _ = self.start(flow, "service", serve=True, profile_to=str(path), profile_warm_to=str(warm))
        try:
            for _ in range(max(1, self.settings.warm_up)):
                self.invoke(flow, "service", worker)
        finally:
            worker.close()
        result.profile, result.warm_profile = path, warm

    def run(self, flow: Flow) -> FlowResult:
        result = FlowResult(flow)
        steps: list[Any] = [self.count_calls, self.cold]
        if self.settings.restore:
            steps.append(self.restore)
        steps.append(self.warm)
        if flow.name in self.settings.tracing_flows:
            steps.append(self.tracing_options)
        if self.settings.profile:
            steps.append(self.profile)
        for step in steps:
            started = time.monotonic()
            try:
                step(flow, result)
            except FlowFailed as exc:
                result.error = f"{step.__name__}: {exc}"
                log(f"{flow.name}: FAILED in {step.__name__}: {exc}")
                return result
            log(f"{flow.name}: {step.__name__} done in {time.monotonic() - started:.1f} s")
        return result
