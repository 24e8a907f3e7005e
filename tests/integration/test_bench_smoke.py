"""`make bench` is not part of `make test`, so this runs its harness once, small, on one flow: it
cannot rot unnoticed (a changed handler, event or template that breaks the benchmark fails here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_measures_a_flow_and_leaves_no_server_behind(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(REPO / p) for p in ("layers/pwreset", "local"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--flows=verify",
            "--cold-runs=1",
            "--warm-iterations=2",
            "--warm-up=1",
            "--argon2-rounds=1",
            "--no-profile",
            "--no-sizes",
            "--no-chart",
            f"--out={out}",
            f"--work={tmp_path / 'work'}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(
        r"^verify\s+cold \d+\.\d\d× (PASS|FAIL)\s+warm \d+\.\d\d× (PASS|FAIL)", done.stdout, re.M
    )

    report = out.read_text(encoding="utf-8")
    assert re.search(
        r"^\| verify \| \d+\.\d\d× (PASS|FAIL) \| \d+\.\d\d× (PASS|FAIL) \| 3 / 3 ", report, re.M
    )
    # Both sides really made the verify calls, counted by the botocore hook.
    assert (
        "Service, first request: `dynamodb.UpdateItem RateLimits`, `dynamodb.GetItem ResetTokens`" in report
    )

    started = re.search(r"moto server on \S+ \(pid (\d+)\)", done.stderr)
    assert started, done.stderr
    pid = int(started.group(1))
    assert not Path(f"/proc/{pid}").exists() or "moto" not in Path(f"/proc/{pid}/cmdline").read_text()
