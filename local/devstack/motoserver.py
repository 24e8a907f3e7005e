"""moto's server for the local stack and the bench.

``python -m devstack.motoserver -H HOST -p PORT`` is moto's own server, with DynamoDB calls
serialized (see :mod:`devstack.motolock`) so concurrent requests cannot break a transaction, and
with :mod:`devstack.faults` in front of it, injecting nothing until told to
(``POST /_devstack/faults``). :func:`start` runs it as a child process and returns once it
answers; :func:`stop` ends it.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devstack.faults import FaultInjector
from devstack.motolock import serialize_dynamodb

READY_TIMEOUT_S = 20.0


class MotoStartError(RuntimeError):
    """moto's server did not come up; the message says why and where its log is."""


def main() -> None:
    serialize_dynamodb()
    import moto.server

    serve = moto.server.run_simple

    def run_simple(host: str, port: int, application: Any, **options: Any) -> None:
        serve(host, port, FaultInjector(application), **options)

    # moto's main builds its application and hands it to werkzeug's run_simple: wrap it there.
    moto.server.run_simple = run_simple  # type: ignore[assignment]
    moto.server.main()


def start(
    host: str, port: int, log_path: Path, *, timeout: float = READY_TIMEOUT_S
) -> subprocess.Popen[bytes]:
    """moto's server on ``host:port``, its output in ``log_path``, answering when this returns.

    It runs in its own session (a terminal's Ctrl-C reaches only the parent, which stops it in
    order) and Linux ends it when the parent dies, even by SIGKILL."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "devstack.motoserver", "-H", host, "-p", str(port)]
    local_dir = str(Path(__file__).resolve().parents[1])
    python_path = os.pathsep.join(p for p in (local_dir, os.environ.get("PYTHONPATH")) if p)
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": python_path},
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
