"""One load run, start to end: a fresh local stack (``load.stack``) on free ports with the rate
limits loosened, the population provisioned through the API, faults armed (or not), locust's users
for the set time, then wait until the stack settles, read the faults it injected, turn them off,
read the state and check the invariants."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from devstack.template import TEMPLATE_PATH, SamTemplate
from load import client, invariants, population, probes, redrive
from load.report import Redrive, RunReport

LOOSEN = 1000  # every rate limit of the template, times this, for the load run


@dataclass(frozen=True)
class RunSpec:
    name: str
    faults: str = ""
    seed: int = 0
    probes: bool = False  # the deterministic probes (load.probes) after the checks


@dataclass(frozen=True)
class Options:
    users: int = 20
    spawn_rate: float = 20.0
    duration_s: int = 60
    work_dir: Path = Path("load/.work")
    shape: population.Shape = field(default_factory=population.Shape)
    concurrency: int = 20
    link_wait_s: float = 30.0
    settle_timeout_s: float = 180.0
    stop_timeout_s: int = 40
    template: Path = TEMPLATE_PATH


def loosened_rate_limits(template: SamTemplate, factor: int = LOOSEN) -> str:
    """The template's ``RateLimits`` with every limit multiplied (windows unchanged, rules that are
    off stay off): twenty users from one address must not meet the per-IP limits a crowd of
    clients from many addresses would not meet either. Built from the template's own default, so
    a rule added or renamed there needs no change here."""
    rules = []
    for rule in template.parameter("RateLimits").split(","):
        name, _, spec = rule.strip().partition("=")
        limit, slash, window = spec.partition("/")
        if not slash or not limit.strip().isdigit() or int(limit) == 0:
            rules.append(rule.strip())
            continue
        rules.append(f"{name}={int(limit) * factor}/{window}")
    return ",".join(rules)


def run_locust(stack: client.Stack, options: Options, *, population_file: Path, work: Path) -> float:
    """Locust, headless, in its own process (gevent patches the whole process it runs in); returns
    how long the users ran."""
    config = {
        "population": str(population_file),
        "journal": str(work / "users.jsonl"),
        "link_wait_s": options.link_wait_s,
        "mail_start": int(stack.load_status()["mail"]),
    }
    (work / "users.jsonl").unlink(missing_ok=True)
    config_file = work / "locust-config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--host",
        stack.base_url,
        "--users",
        str(options.users),
        "--spawn-rate",
        str(options.spawn_rate),
        "--run-time",
        f"{options.duration_s}s",
        "--stop-timeout",
        str(options.stop_timeout_s),
        "--csv",
        str(work / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    environment = {
        **os.environ,
        "LOAD_CONFIG": str(config_file),
        "PYTHONPATH": os.pathsep.join([str(client.REPO_ROOT / "local"), str(client.REPO_ROOT)]),
    }
    started = time.monotonic()
    with (work / "locust.log").open("wb") as log:
        finished = subprocess.run(
            command, cwd=client.REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    took = time.monotonic() - started
    if finished.returncode != 0:
        tail = (work / "locust.log").read_text(errors="replace")[-3000:]
        raise client.StackFailed(f"locust exited with {finished.returncode}:\n{tail}")
    return min(took, float(options.duration_s)) if took > 0 else float(options.duration_s)


def run(spec: RunSpec, options: Options, *, say: Callable[[str], None] = print) -> RunReport:
    work = (options.work_dir / spec.name).resolve()
    work.mkdir(parents=True, exist_ok=True)
    template = SamTemplate(options.template)
    limits = loosened_rate_limits(template)
    say(f"[{spec.name}] starting the local stack (RateLimits={limits})")
    stack = client.start(
        work / "stack",
        parameters={"RateLimits": limits},
        concurrency=options.concurrency,
        template=options.template,
    )
    try:
        say(f"[{spec.name}] provisioning the population through the API")
        people = population.build(stack, options.shape, run=_slug(spec.name))
        population_file = population.write(people, work / "population.json")
        setup_settled = invariants.settle(stack, template, timeout=options.settle_timeout_s)
        if not setup_settled.ok:
            raise client.StackFailed(f"the set-up did not settle: {setup_settled.pending}")
        if spec.faults:
            stack.set_faults(spec.faults, spec.seed)
        started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        load_at_start = os.getloadavg()[0]
        say(
            f"[{spec.name}] {options.users} users for {options.duration_s} s, faults: {spec.faults or 'none'}"
        )
        ran_s = run_locust(stack, options, population_file=population_file, work=work)
        load_average = (load_at_start, os.getloadavg()[0])
        say(f"[{spec.name}] users done; waiting for the stack to settle")
        budget = max(options.settle_timeout_s, invariants.drain_budget(template) + 30)
        settled = invariants.settle(stack, template, timeout=budget)
        fault_report = stack.faults()
        if spec.faults:
            stack.set_faults("", 0)  # the checks' own reads must not be faulted
        journal = invariants.read_journal(work / "users.jsonl")
        snapshot = invariants.collect(stack, template, journal=journal, faults=bool(spec.faults))
        checks = invariants.check(snapshot)
        after: Redrive | None = None
        if any(letter.source in ("stream", "event") for letter in snapshot.dead_letters):
            say(f"[{spec.name}] redriving {len(snapshot.dead_letters)} dead letters (faults off)")
            outcome = redrive.redrive_streams(stack, template)
            resettled = invariants.settle(stack, template, timeout=options.settle_timeout_s)
            again = invariants.collect(stack, template, journal=journal, faults=bool(spec.faults))
            after = Redrive(outcome, resettled, invariants.check(again))
        stack_records = invariants.read_journal(stack.journal)
        probed = None
        if spec.probes:
            say(f"[{spec.name}] deterministic probes: one request per route under each fault")
            probed = probes.run_probes(
                stack, template, journal=journal, settle_timeout=options.settle_timeout_s
            )
    finally:
        code = stack.stop()
        if code not in (0, None):
            say(f"[{spec.name}] the local stack exited with {code} (log: {work / 'stack'})")
    report = RunReport(
        name=spec.name,
        faults_spec=spec.faults,
        seed=spec.seed if spec.faults else None,
        users=options.users,
        duration_s=ran_s,
        requests=snapshot.requests,
        stack_records=stack_records,
        flows=snapshot.flows,
        fault_report=fault_report,
        settled=settled,
        checks=checks,
        started_at=started_at,
        redrive=after,
        probes=probed,
        load_average=load_average,
    )
    with (work / "violations.jsonl").open("w", encoding="utf-8") as out:
        for violation in report.violations:
            out.write(json.dumps(violation.__dict__) + "\n")
    return report


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())[:12] or "run"
