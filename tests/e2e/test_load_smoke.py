"""``make load`` is not part of ``make test`` (it takes minutes), so this runs it once, small: a
few users for a few seconds on a fresh stack with injected transaction conflicts and refused
events for the CRM, then the
invariant checks and the report. A change to a route, a mail, a table or the template that breaks
the harness fails here, not on the next ``make load``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support.leaks import SEEN
from support.local_stack import LOG_DIRS
from support.processes import run_harness

pytestmark = pytest.mark.e2e

RAW_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


def test_a_short_load_run_with_faults_reports_routes_faults_and_invariants(tmp_path: Path) -> None:
    out, work = tmp_path / "results.md", tmp_path / "work"
    done = run_harness(
        "load",
        [
            "--runs=faults",
            "--users=6",
            "--duration=5",
            "--firms=1",
            "--clients=4",
            "--stop-timeout=15",
            "--faults=dynamodb.TransactWriteItems:TransactionConflict=0.1,events.PutEvents=0.3",
            "--fault-seed=7",
            "--link-wait=10",
            "--settle-timeout=60",
            f"--out={out}",
            f"--work-dir={work}",
        ],
        path=("local", "."),
    )
    run_dir = work / "with faults"
    LOG_DIRS.append(run_dir / "stack")  # the e2e suite's check: no secret in its logs

    assert done.returncode == 0, done.stdout + done.stderr
    report = out.read_text()
    for route in ("POST /v1/password-resets", "POST /v1/password-resets/confirm", "POST /v1/sessions"):
        assert f"| `{route}` |" in report
    assert "| `dynamodb.TransactWriteItems` |" in report  # the faults table, from /_dev/faults
    assert "| `notifications_once` | held |" in report
    assert "| `records_whole` | held |" in report
    assert "| `crm_events_once` | held |" in report  # every change on the CRM's bus once, faults or not
    # Every violation the run found names the request and what it met.
    for line in (run_dir / "violations.jsonl").read_text().splitlines():
        violation = json.loads(line)
        assert violation["route"] and violation["status"] and violation["kinds"], violation
    # What the run wrote down holds no password and no raw token (links are named by digest).
    population = json.loads((run_dir / "population.json").read_text())
    passwords = {a["password"] for f in population["firms"] for a in f["staff"] + f["clients"]}
    for name in ("users.jsonl", "locust.log", "stack/stack.jsonl", "violations.jsonl"):
        path = run_dir / name
        text = path.read_text() if path.exists() else ""
        assert not RAW_TOKEN.findall(text), name
        assert not [p for p in passwords if p in text], name
    assert not RAW_TOKEN.findall(report)
    SEEN.values.update(passwords)
