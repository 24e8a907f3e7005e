"""`make bench` is not part of `make test`, so this runs its harness once, small, on five HTTP flows
(verify, sign-in with its counters and refunds, the lock with the bench's own account, and the
confirm with and without the breached-password check) and on the two event flows (stream batch,
signed SNS message): it cannot rot unnoticed (a changed handler,
event or template that breaks the benchmark, or calls that drift from the stated minimum, fail
here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.processes import run_harness

FLOWS = ("verify", "sign_in", "notify", "ses_event", "lock", "confirm", "confirm_breached")


def test_bench_measures_the_flows_and_leaves_no_server_behind(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    done = run_harness(
        "bench",
        [
            f"--flows={','.join(FLOWS)}",
            "--cold-runs=1",
            "--restore-runs=2",  # the second restore forks the same snapshot again
            "--warm-iterations=2",
            "--warm-up=1",
            "--argon2-rounds=1",
            "--no-profile",
            "--no-sizes",
            "--no-chart",
            # The tracing options need the X-Ray SDK, which only the full bench installs.
            "--tracing-flows=",
            f"--out={out}",
            f"--work={tmp_path / 'work'}",
        ],
        path=("layers/pwreset", "local"),
        timeout=180,
    )
    # Exit 0: every request of every flow, on both sides, did what the flow means (the event
    # flows' state checks included: both mails recorded as sent; the bounce recorded and applied).
    assert done.returncode == 0, done.stderr[-3000:]
    for flow in FLOWS:
        assert re.search(
            rf"^{flow}\s+cold \d+\.\d\d× (PASS|FAIL)\s+restore \d+\.\d\d× (PASS|FAIL)"
            rf"\s+warm \d+\.\d\d× (PASS|FAIL)",
            done.stdout,
            re.M,
        ), done.stdout

    report = out.read_text(encoding="utf-8")
    # moto's server collected its garbage before each measured request, never during one: at
    # least before each flow's four restores.
    collected = re.search(r"it collected (\d+) times, each before a measured request", report)
    assert collected and int(collected[1]) >= 4 * len(FLOWS), report[:3000]
    assert re.search(
        r"^\| verify \| \d+\.\d\d× (PASS|FAIL) \| \d+\.\d\d× (PASS|FAIL) \| \d+\.\d\d× (PASS|FAIL) \| 4 / 4 ",
        report,
        re.M,
    )
    # Both sides really made the verify calls, counted by the botocore hook: the limit, the link,
    # its account, login and firm in one batch (#22, #23), and the first verify's mark on the
    # link's mail (#25).
    assert (
        "Service, first request: `dynamodb.UpdateItem RateLimits`, `dynamodb.GetItem ResetTokens`, "
        "`dynamodb.BatchGetItem Accounts+Firms+Logins`, `dynamodb.UpdateItem DeliveryEvents`" in report
    )
    # The event flows make exactly their minimal calls: two mails (one owner, the client, whose
    # mail stores its lock link and its delivery record) after reading the client, its login and
    # firms, the owners and their logins; one bounce: the address's login and its accounts (one
    # Query), then one transaction with the mark and an audit event per account.
    assert re.search(r"^\| notification \| .* \| 12 / 12 PASS \|$", report, re.M), report
    assert re.search(r"^\| SES event \| .* \| 2 / 2 PASS \|$", report, re.M), report
    # Sign-in counts the attempt on its three counters, reads the login and its memberships (one
    # Query), takes the three counts back (the password is right), reads the account and the firms
    # (one batch) and opens the session: the minimum bench/flows.py states (8 before logins, 9 now).
    assert re.search(r"^\| sign-in \| .* \| 9 / 9 PASS \|$", report, re.M), report
    sign_in_calls = report.split("### sign-in", 1)[1].split("Service, first request:", 1)[1]
    assert sign_in_calls.splitlines()[0].count("`dynamodb.UpdateItem RateLimits`") == 6
    assert sign_in_calls.splitlines()[0].count("`dynamodb.Query Logins`") == 1
    # The lock: the token used, the account locked and its event written (the flow's state check),
    # in exactly the minimal calls.
    assert re.search(r"^\| account lock \| .* \| 4 / 4 PASS \|$", report, re.M), report
    notify_calls = report.split("### notification", 1)[1].split("Service, first request:", 1)[1]
    assert notify_calls.splitlines()[0].count("`sesv2.SendEmail`") == 2
    # Each baseline makes exactly the minimal calls it stands for, on the service's tables.
    assert "The baseline's calls differ from the minimum" not in report
    assert "The baseline's calls touch other tables" not in report

    # The machine-readable results, and the restore model said to be one.
    results = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert results["restore_is_a_model"] is True
    assert set(results["flows"]) == set(FLOWS)
    for flow in results["flows"].values():
        assert flow["calls"] == flow["min_calls"]
        assert all(flow[k] > 0 for k in ("cold_ratio", "restore_ratio", "warm_ratio"))
    assert "it is not a measurement of it" in report
    # The breached-password check's cost: the confirm with the check on (each request of both sides
    # asked the fake range API, or the flow's state check would have failed) against it off.
    check = report.split("## The breached-password check", 1)[1].split("\n## ", 1)[0]
    off_on, more = r"\d+\.\d → \d+\.\d", r"[+-]\d+\.\d"
    for measure in ("plain cold", "SnapStart restore model", "warm"):
        row = rf"^\| {measure} \| {off_on} \| {more} \| {off_on} \| {more} \| {more} \|$"
        assert re.search(row, check, re.M), check

    # SnapStart weighed per function: each function on a reset's path at three volumes, its cost a
    # month against the waiting it saves, and where no person waits it is named for turning off.
    weighing = report.split("## SnapStart, function by function", 1)[1].split("\n## ", 1)[0]
    for resets in ("1,000", "10,000", "100,000"):
        row = (
            rf"^\| ConfirmResetFunction \(verify, account lock, confirm\) \| {resets} \| [\d,]+ \| "
            r"[\d,]+ \| -?\d+ \| \$3\.90 \+ \$"
        )
        assert re.search(row, weighing, re.M), weighing
    assert re.search(
        r"^\| SessionsFunction \(sign-in\) \| the person signing in \| -?\d+ \| \$3\.90 \|$", weighing, re.M
    )
    turn_off = weighing.split("**Where to turn it off**", 1)[1]
    assert "not for NotifyPasswordChangedFunction, SesEventsFunction" in turn_off, turn_off

    started = re.search(r"moto server on \S+ \(pid (\d+)\)", done.stderr)
    assert started, done.stderr
    pid = int(started.group(1))
    assert not Path(f"/proc/{pid}").exists() or "moto" not in Path(f"/proc/{pid}/cmdline").read_text()
