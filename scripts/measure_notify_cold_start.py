"""Measures the notification function's cold start and ua-parser's first-parse cost, here.

Cold start = a fresh interpreter importing ``functions/notify_password_changed/app.py`` and
handling its first stream batch (the committed sample event, with a new event id each run) against
a moto server on 127.0.0.1: three mails rendered and sent, idempotency records written. Interpreter
start-up itself is not included (Lambda's runtime pays it before the handler's code).

    .venv/bin/python scripts/measure_notify_cold_start.py [runs]
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHONPATH = os.pathsep.join(str(ROOT / p) for p in ("layers/pwreset", "local", "tests"))

COLD_START = r"""
import importlib.util, json, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", "functions/notify_password_changed/app.py")
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
t1 = time.perf_counter()
from devstack.gateway import LambdaContext
response = app.lambda_handler(json.loads(sys.argv[1]), LambdaContext("NotifyPasswordChangedFunction"))
t2 = time.perf_counter()
assert response == {"batchItemFailures": []}, response
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_invoke_ms": (t2 - t1) * 1000}))
"""

FIRST_PARSE = r"""
import json, time
from pwreset import useragent
ua = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
t0 = time.perf_counter()
useragent.describe(ua)
t1 = time.perf_counter()
useragent.describe(ua.replace("131", "132"))
t2 = time.perf_counter()
print(json.dumps({"first_parse_ms": (t1 - t0) * 1000, "next_parse_ms": (t2 - t1) * 1000,
                  "backend": useragent.backend()}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(runs: int) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 - our own interpreter's moto_server
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        sys.path[:0] = PYTHONPATH.split(os.pathsep)
        os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing")
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 - moto's dummy credentials
        import support.environment as testenv  # noqa: I001 - sets the template's environment first

        import boto3

        from devstack.seed import load_demo_data, seed
        from devstack.template import provision

        provision(testenv.TEMPLATE, dynamodb=boto3.client("dynamodb"), sesv2=boto3.client("sesv2"))
        seed(load_demo_data())
        env = {
            **os.environ,
            **testenv.TEMPLATE.function_environment("NotifyPasswordChangedFunction"),
            "PYTHONPATH": PYTHONPATH,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
        sample = json.loads((ROOT / "events/notify_password_changed.json").read_text(encoding="utf-8"))
        cold: list[dict[str, float]] = []
        for _ in range(runs):
            image = sample["Records"][0]["dynamodb"]["NewImage"]
            image["event_id"]["S"] = uuid.uuid4().hex  # a new event: nothing to skip
            out = subprocess.run(  # noqa: S603 - this interpreter, our own script
                [sys.executable, "-c", COLD_START, json.dumps(sample)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            cold.append(json.loads(out.stdout.strip().splitlines()[-1]))
        parse = []
        for _ in range(runs):
            out = subprocess.run(  # noqa: S603 - this interpreter, our own script
                [sys.executable, "-c", FIRST_PARSE],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            parse.append(json.loads(out.stdout))
    finally:
        server.terminate()
        server.wait(timeout=10)

    def median(rows: list[dict[str, float]], key: str) -> str:
        values = [float(r[key]) for r in rows]
        return f"median {statistics.median(values):6.1f} ms  (min {min(values):.1f}, max {max(values):.1f})"

    print(f"runs: {runs}, parser backend: {parse[0]['backend']}")
    print("cold start, import handler:     ", median(cold, "import_ms"))
    print("cold start, first invocation:   ", median(cold, "first_invoke_ms"))
    total = [{"t": r["import_ms"] + r["first_invoke_ms"]} for r in cold]
    print("cold start, import + invocation:", median(total, "t"))
    print("ua-parser first parse:          ", median(parse, "first_parse_ms"))
    print("ua-parser next parse:           ", median(parse, "next_parse_ms"))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
