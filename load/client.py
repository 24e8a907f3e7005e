"""The harness's side of the local stack: start ``python -m load.stack`` on free ports, wait until
it is ready, speak to it over HTTP (``http.client``; provisioning requests signed with botocore's
SigV4 as the CRM signs them), read moto's tables and queues with boto3, stop it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.ports import StackPorts, free_port
from devstack.seed import key_pair, load_demo_data, signed_headers

REPO_ROOT = Path(__file__).resolve().parents[1]
REGION = "eu-central-1"
START_TIMEOUT_S = 90.0


class StackFailed(RuntimeError):
    """The stack did not start, or stopped on its own."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@dataclass
class Stack(StackPorts):
    log_dir: Path
    journal: Path
    process: subprocess.Popen[bytes] | None = None
    key: Any = field(default_factory=lambda: key_pair(load_demo_data()))

    # ------------------------------------------------------------------ HTTP
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        raw: bytes | None = None,
        timeout: float = 60.0,
    ) -> Answer:
        sent = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = {"Accept": "application/json", "User-Agent": "load-harness/1.0"}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=sent, headers=hdrs)
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def signed(self, method: str, path: str, body: Any = None) -> Answer:
        raw = json.dumps(body).encode("utf-8") if body is not None else b""
        extra = {"Content-Type": "application/json"} if body is not None else {}
        headers = signed_headers(self.key, method, f"{self.base_url}{path}", raw, extra)
        return self.request(method, path, raw=raw or None, headers=headers)

    def faults(self) -> dict[str, Any]:
        return dict(self.request("GET", "/_dev/faults").json())

    def set_faults(self, spec: str, seed: int) -> dict[str, Any]:
        answer = self.request("PUT", "/_dev/faults", {"faults": spec, "seed": seed})
        if answer.status != 200:
            raise StackFailed(f"PUT /_dev/faults answered {answer.status}: {answer.text}")
        return dict(answer.json())

    def load_status(self) -> dict[str, Any]:
        return dict(self.request("GET", "/_dev/load/status").json())

    def mail(self) -> list[dict[str, Any]]:
        """The whole dev mailbox (``/_dev/mail.json``), oldest first."""
        return list(reversed(self.request("GET", "/_dev/mail.json").json()["messages"]))

    # ------------------------------------------------------------------ moto
    def aws(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        )

    # ------------------------------------------------------------------ the process
    def output(self) -> str:
        return "".join(
            (self.log_dir / name).read_text(errors="replace")
            for name in ("stdout.log", "stderr.log")
            if (self.log_dir / name).exists()
        )

    def stop(self, timeout: float = 30.0) -> int | None:
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode


def start(
    log_dir: Path,
    *,
    parameters: dict[str, str] | None = None,
    concurrency: int = 20,
    template: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    """``python -m load.stack`` (``make dev`` plus the load run's watching) on free ports, without
    faults (they are armed later, over ``PUT /_dev/faults``), ready when this returns."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(port=free_port(), moto_port=free_port(), log_dir=log_dir, journal=log_dir / "stack.jsonl")
    stack.journal.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "load.stack",
        "--port",
        str(stack.port),
        "--moto-port",
        str(stack.moto_port),
    ]
    command += ["--state-dir", str(log_dir), "--concurrency", str(concurrency)]
    if template is not None:
        command += ["--template", str(template)]
    if parameters:
        command += ["--parameter-overrides", *(f"{k}={v}" for k, v in parameters.items())]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "local"), str(REPO_ROOT)]),
        "PYTHONUNBUFFERED": "1",
        "LOAD_JOURNAL": str(stack.journal),
        **(extra_env or {}),
    }
    for name in ("FAULTS", "FAULT_SEED", "PORT", "MOTO_PORT", "CONCURRENCY", "TEMPLATE"):
        environment.pop(name, None)  # make's variables must not reach the stack's own parsing
    with (log_dir / "stdout.log").open("wb") as out, (log_dir / "stderr.log").open("wb") as err:
        stack.process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=environment
        )

    def ready() -> bool:
        assert stack.process is not None
        if stack.process.poll() is not None:
            raise StackFailed(
                f"the local stack exited with {stack.process.returncode}:\n{stack.output()[-3000:]}"
            )
        try:
            return stack.request("GET", "/_dev/health", timeout=5).status == 200
        except OSError:
            return False

    if not wait_until(ready, timeout=START_TIMEOUT_S, interval=0.2):
        stack.stop()
        raise StackFailed(f"the local stack was not ready within {START_TIMEOUT_S:.0f} s")
    return stack
