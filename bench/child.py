from time import perf_counter

T0 = perf_counter()  # the cold clock starts at the first line of this process's own code

# ruff: noqa: E402 - the clock above must start before anything is imported.
# One measured process: a Lambda execution environment serving a flow, or the raw-boto3 script.
#
# Started by the harness as ``python -S bench/child.py`` with ``PYTHONPATH`` shaped like Lambda's and
# the job in ``BENCH_JOB`` (JSON). It serves ``job["event"]`` at once and reports on the file
# descriptor ``job["reply_fd"]`` (one JSON line per invocation): the invocation's time, for the first
# one also the time since the first line of this file and when the handler's import finished. With
# ``job["serve"]`` it then serves one event per line of stdin until EOF (the warm loop). With
# ``job["count_calls"]`` every AWS API call is recorded through botocore's event hooks; with
# ``job["profile_to"]`` the first request is profiled (cProfile) into that file and the later ones,
# together, into ``job["profile_warm_to"]``. With ``job["restore"]`` the process initialises as
# before a SnapStart snapshot and forks; the fork (the "restored copy") serves the event and its
# time is taken from the fork on; with ``job["serve"]`` too, it forks a new copy for each event on
# stdin. ``job["tracing"] == "xray-sdk"`` traces the handler as the
# service did before (powertools' Tracer on the X-Ray SDK).
#
# This file imports only standard modules that boto3 imports anyway (json, uuid, typing, ...), so
# it costs both sides the same.

import importlib
import json
import os
import random
import sys
import traceback
import uuid
from typing import Any


class LambdaContext:
    """The attributes of Lambda's context object that powertools reads."""

    def __init__(self) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"))
        self.invoked_function_arn = f"arn:aws:lambda:eu-central-1:123456789012:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def _new_trace_header() -> str:
    """Lambda sets a new ``_X_AMZN_TRACE_ID`` for every invocation (as its runtime client does)."""
    ids = uuid.uuid4().hex
    return f"Root=1-{ids[:8]}-{ids[8:32]};Parent={uuid.uuid4().hex[:16]};Sampled=1"


def _count_calls(calls: list[str], clients: list[str]) -> None:
    """Record every AWS API call of every botocore client created from now on (boto3's, pynamodb's
    and pwreset's alike): a ``before-parameter-build`` hook on each client's event system fires
    once per API call, before retries, with the call's parameters. Also records each client made
    and by which botocore session (each session loads and parses the service models again)."""
    import botocore.session

    create_client = botocore.session.Session.create_client
    sessions: dict[int, int] = {}

    def counting_create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        service = client.meta.service_model.service_name
        clients.append(f"{service}@session{sessions.setdefault(id(self), len(sessions) + 1)}")

        def before(params: dict[str, Any], model: Any, **_: Any) -> None:
            calls.append(f"{service}.{model.name} {_targets(params)}".strip())

        client.meta.events.register("before-parameter-build", before)
        return client

    botocore.session.Session.create_client = counting_create_client


def _targets(params: dict[str, Any]) -> str:
    prefix = "bench-"
    names: list[str] = []
    if "TableName" in params:
        names.append(params["TableName"] + (f".{params['IndexName']}" if params.get("IndexName") else ""))
    for item in params.get("TransactItems", []):
        names.extend(op["TableName"] for op in item.values())
    names.extend(params.get("RequestItems", {}))
    return "+".join(n.removeprefix(prefix).replace("Table", "") for n in names)


def _stub_password_hashing(stub_hash: str) -> None:
    """argon2id is measured on its own; here both sides skip it. pwreset looks these up at call
    time (``from pwreset.credentials.hashing import ...`` inside the functions), so the stubs are used."""
    import pwreset.credentials.hashing as passwords

    passwords.hash_password = lambda password: stub_hash
    passwords.verify_password = lambda password_hash, password: password_hash is not None
    passwords.needs_rehash = lambda password_hash: False


def _load(job: dict[str, Any]) -> Any:
    """The callable that serves one event: the function's handler, or the baseline's flow."""
    if job["side"] == "service":
        if job.get("stub_hash"):
            _stub_password_hashing(job["stub_hash"])
        xray_sdk = None
        if job.get("tracing") == "xray-sdk":
            # What the service traced with before: powertools' Tracer on the X-Ray SDK, patching
            # botocore (pwreset's own tracing is off through POWERTOOLS_TRACE_DISABLED, which an
            # explicit disabled=False overrides for powertools).
            from aws_lambda_powertools import Tracer

            xray_sdk = Tracer(service="password-reset", patch_modules=("botocore",), disabled=False)
        module_name, _, attr = job["handler"].rpartition(".")
        handler = getattr(importlib.import_module(module_name), attr)
        if xray_sdk is not None:
            handler = xray_sdk.capture_lambda_handler(handler, capture_response=False)
        return lambda event: handler(event, LambdaContext())
    baseline = importlib.import_module("baseline")
    return getattr(baseline, job["baseline"])


def _snapshot(job: dict[str, Any]) -> Any:
    """Initialise as Lambda does before a SnapStart snapshot (untimed): the service runs its
    before-snapshot hooks; the baseline makes its clients at module level, as a plain boto3 script
    does. Returns what a restored copy runs before its first request: the after-restore hooks."""
    if job["side"] == "service":
        from pwreset.runtime import snapstart

        snapstart.run_before_snapshot()
        return snapstart.run_after_restore
    importlib.import_module("baseline").init()
    return lambda: None


def _restored(job: dict[str, Any], serve: Any, reply: Any, calls: list[str], clients: list[str]) -> int:
    """The SnapStart model: this process is the snapshot; a fork is a restored copy, which runs
    the after-restore hooks and its first request (timed from the fork on). With ``job["serve"]``
    the snapshot then forks again for each event on stdin: as Lambda restores one version's
    snapshot for every new execution environment, each copy starts from the same memory, whatever
    the copies before it did. A model of a restore, not a restore: Lambda's resumes a microVM from
    a cached snapshot, and its cost is outside."""
    after_restore = _snapshot(job)
    random_state = random.getstate()
    event = job["event"]
    while True:
        reply.write(_restore_and_serve(job, event, serve, after_restore, random_state, calls, clients))
        if not job.get("serve"):
            return 0
        line = sys.stdin.readline()
        if not line:
            return 0
        event = json.loads(line)


def _restore_and_serve(
    job: dict[str, Any],
    event: dict[str, Any],
    serve: Any,
    after_restore: Any,
    random_state: Any,
    calls: list[str],
    clients: list[str],
) -> str:
    """Fork a restored copy that serves ``event``; its reply line."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        forked = perf_counter()
        random.setstate(random_state)  # a restore copies memory; it runs no at-fork reseeding
        os.environ["_X_AMZN_TRACE_ID"] = _new_trace_header()
        try:
            after_restore()
            restored = perf_counter()
            profiler = None
            if job.get("profile_to"):
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            started = perf_counter()
            response = serve(event)
            done = perf_counter()
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(job["profile_to"])
            result = {
                "ms": (done - started) * 1000,
                "response": response,
                "calls": calls,
                "clients": clients,
                "since_start_ms": (done - forked) * 1000,
                "import_ms": (restored - forked) * 1000,
            }
        except Exception:
            result = {"error": traceback.format_exc()}
        os.write(write, (json.dumps(result, default=str) + "\n").encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        line = answer.read()
    os.waitpid(pid, 0)
    return line


def main() -> int:
    job = json.loads(os.environ["BENCH_JOB"])
    reply = os.fdopen(job["reply_fd"], "w", buffering=1)
    calls: list[str] = []
    clients: list[str] = []
    if job.get("count_calls"):
        _count_calls(calls, clients)
    profiler = warm_profiler = None
    if job.get("profile_to"):
        import cProfile

        profiler, warm_profiler = cProfile.Profile(), cProfile.Profile()
    try:
        serve = _load(job)
        imported = perf_counter()
        if job.get("restore"):
            return _restored(job, serve, reply, calls, clients)
        event = job["event"]
        first = True
        while True:
            del calls[:]
            os.environ["_X_AMZN_TRACE_ID"] = _new_trace_header()
            active = profiler if first else warm_profiler
            if active:
                active.enable()
            started = perf_counter()
            response = serve(event)
            done = perf_counter()
            if active:
                active.disable()
            if profiler and first:
                profiler.dump_stats(job["profile_to"])
            result: dict[str, Any] = {
                "ms": (done - started) * 1000,
                "response": response,
                "calls": calls,
                "clients": clients,
            }
            if first:
                result.update(since_start_ms=(done - T0) * 1000, import_ms=(imported - T0) * 1000)
            reply.write(json.dumps(result, default=str) + "\n")
            first = False
            del clients[:]
            if not job.get("serve"):
                return 0
            line = sys.stdin.readline()
            if not line:
                if warm_profiler:
                    warm_profiler.dump_stats(job["profile_warm_to"])
                return 0
            event = json.loads(line)
    except Exception:
        reply.write(json.dumps({"error": traceback.format_exc()}) + "\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
