"""moto's server for the local stack and the bench.

``python -m devstack.motoserver -H HOST -p PORT`` is moto's own server, with DynamoDB calls
serialized (see :mod:`devstack.motolock`) so concurrent requests cannot break a transaction, and
with :mod:`devstack.faults` in front of it, injecting nothing until told to
(``POST /_devstack/faults``). :func:`start` runs it as a child process and returns once it
answers; :func:`stop` ends it. The bench starts it with ``manual_gc`` (:class:`ManualGarbageCollection`).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devstack.faults import FaultInjector, StartResponse, WsgiApp, respond
from devstack.motolock import serialize_dynamodb

READY_TIMEOUT_S = 20.0
MANUAL_GC_ENV = "DEVSTACK_MOTO_MANUAL_GC"
GC_PATH = "/_devstack/gc"


class MotoStartError(RuntimeError):
    """moto's server did not come up; the message says why and where its log is."""


class ManualGarbageCollection:
    """WSGI middleware for the bench's moto server: Python's automatic garbage collection is off,
    and ``POST /_devstack/gc`` collects, then freezes what survived (``gc.freeze``), so the next
    collection walks only what is new. The harness collects before each measured request, so a
    collection's pause (a few milliseconds, over 100 for a full one of moto's heap on this machine)
    never lands inside one: it would land on whichever request crossed an allocation threshold,
    oftener on the side whose requests make moto allocate more (a bigger mail, more attributes),
    a cost of the stand-in that DynamoDB and SES do not have. ``GET`` reports without collecting."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.collections = 0
        gc.disable()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        if environ.get("PATH_INFO") != GC_PATH:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST":
            gc.collect()
            gc.freeze()
            self.collections += 1
        # Not gc.get_freeze_count(): it walks every frozen object, slower with every collection.
        report = {"automatic": gc.isenabled(), "collections": self.collections}
        return respond(start_response, 200, {"Content-Type": "application/json"}, report)


def main() -> None:
    serialize_dynamodb()
    import moto.server

    serve = moto.server.run_simple
    manual_gc = os.environ.get(MANUAL_GC_ENV) == "1"

    def run_simple(host: str, port: int, application: Any, **options: Any) -> None:
        app: WsgiApp = FaultInjector(application)
        serve(host, port, ManualGarbageCollection(app) if manual_gc else app, **options)

    # moto's main builds its application and hands it to werkzeug's run_simple: wrap it there.
    moto.server.run_simple = run_simple  # type: ignore[assignment]
    moto.server.main()


def start(
    host: str, port: int, log_path: Path, *, timeout: float = READY_TIMEOUT_S, manual_gc: bool = False
) -> subprocess.Popen[bytes]:
    """moto's server on ``host:port``, its output in ``log_path``, answering when this returns;
    with ``manual_gc``, collecting garbage only when told to (:func:`collect_garbage`).

    It runs in its own session (a terminal's Ctrl-C reaches only the parent, which stops it in
    order) and Linux ends it when the parent dies, even by SIGKILL."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "devstack.motoserver", "-H", host, "-p", str(port)]
    local_dir = str(Path(__file__).resolve().parents[1])
    python_path = os.pathsep.join(p for p in (local_dir, os.environ.get("PYTHONPATH")) if p)
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": python_path, MANUAL_GC_ENV: "1" if manual_gc else "0"},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise MotoStartError(f"moto's server exited at start-up (see {log_path}): {tail[0]}")
        if _answers(host, port):
            return process
        time.sleep(0.05)
    stop(process)
    raise MotoStartError(f"moto's server did not answer within {timeout:.0f} s (see {log_path})")


def collect_garbage(host: str, port: int) -> dict[str, Any]:
    """Have a server started with ``manual_gc`` collect its garbage now; its report."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("POST", GC_PATH)
        response = connection.getresponse()
        report: dict[str, Any] = json.loads(response.read())
        if response.status != 200:
            raise MotoStartError(f"moto's server did not collect: {response.status} {report}")
        return report
    finally:
        connection.close()


def stop(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM it when its parent dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def _answers(host: str, port: int) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=1)
    try:
        connection.request("GET", "/moto-api/")
        return connection.getresponse().status < 500
    except OSError:
        return False
    finally:
        connection.close()


if __name__ == "__main__":
    main()
