"""``make dev``: the whole service on this machine, with no AWS account and no Docker.

Start-up, in order: bind the API port (so a busy port fails before anything starts), start moto's
server as a child process on loopback and wait until it answers, give this process every
function's environment from the template (plus local URLs, fake credentials and
``AWS_ENDPOINT_URL`` pointing at moto), create the template's tables, streams, queues and SES
identity, seed the demo data, create each function's first execution environment (its cold
start; more are made as requests overlap, see ``devstack.pool``), start one poller per stream and
per queue subscription, arm the fault injection (``devstack.faults``; none by default) and serve.
SIGINT and SIGTERM stop all of it, moto included; moto also dies
with this process if it is killed outright (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack import motoserver
from devstack.crm_events import CrmListener
from devstack.faults import CONTROL_PATH as FAULTS_PATH
from devstack.faults import FaultSpecError
from devstack.gateway import Gateway, HttpRequest, HttpResponse
from devstack.mailbox import Mailbox
from devstack.pool import DEFAULT_CONCURRENCY, PooledRunner
from devstack.ports import HOST, StackPorts
from devstack.queues import QueuePoller, queue_pollers_for
from devstack.seed import DEMO_DATA_PATH, SeedError, key_pair, load_demo_data, seed, signed_headers
from devstack.server import SEED_HEADER, DevPages, DevServer, ensure_port_free
from devstack.streams import StreamPoller, pollers_for

if TYPE_CHECKING:
    from devstack.ses_simulator import SesSimulator
from devstack.template import REPO_ROOT, TEMPLATE_PATH, SamTemplate, provision

log = logging.getLogger("devstack")

REGION = "eu-central-1"
STATE_DIR = REPO_ROOT / "local" / ".state"
SES_WEBHOOK_PATH = "/v1/webhooks/ses"


class StackError(RuntimeError):
    """A start-up failure with a message for a person (no traceback)."""


@dataclass
class StackConfig(StackPorts):
    port: int = 3000
    moto_port: int = 5000
    template: Path = TEMPLATE_PATH
    seed: bool = True
    demo_data: Path | None = None  # default: local/demo_data.json
    state_dir: Path = STATE_DIR  # moto's log
    parameter_overrides: dict[str, str] = field(default_factory=dict)  # template parameters
    # Execution environments per function unless the template reserves a number (devstack.pool).
    concurrency: int = DEFAULT_CONCURRENCY
    faults: str = ""  # AWS errors moto answers with, per operation (devstack.faults); "" for none
    fault_seed: int = 0

    @property
    def moto_log(self) -> Path:
        return self.state_dir / f"moto-{self.moto_port}.log"


@dataclass
class LocalStack:
    config: StackConfig
    mailbox: Mailbox = field(default_factory=Mailbox)
    template: SamTemplate | None = None
    server: DevServer | None = None
    moto: subprocess.Popen[bytes] | None = None
    runner: PooledRunner | None = None
    pollers: list[StreamPoller] = field(default_factory=list)
    queue_pollers: list[QueuePoller] = field(default_factory=list)
    ses_simulator: SesSimulator | None = None
    crm_listener: CrmListener | None = None
    demo: dict[str, Any] | None = None
    started_at: float = field(default_factory=time.monotonic)
    ready_after_s: float | None = None

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        cfg = self.config
        ensure_port_free(HOST, cfg.moto_port)
        self.template = SamTemplate(
            cfg.template,
            parameter_overrides={
                **cfg.parameter_overrides,
                "ResetPageUrl": self.reset_page_url,
                "PortalUrl": self.portal_url,
            },
        )
        environment = self.environment(self.template)
        pages = DevPages(mailbox=self.mailbox, reset_page_url=self.reset_page_url, health=self.health)
        runner = self.runner = PooledRunner(self.template, concurrency=cfg.concurrency)
        self.demo = load_demo_data(cfg.demo_data or DEMO_DATA_PATH)
        gateway = Gateway(self.template, runner, iam_key=key_pair(self.demo))
        # Bound first and served last: a client that connects early waits in the backlog.
        self.server = DevServer(HOST, cfg.port, gateway, pages)
        self.moto = self._start_moto()
        os.environ.update(environment)
        for path in reversed(self.template.layer_dirs()):
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
        self.mailbox.install()
        self._simulate_ses_events(environment)
        clients = self._clients()
        provision(self.template, **clients)
        self._listen_as_the_crm(clients, environment)
        for function_id in self.template.functions():
            try:
                runner.warm_up(function_id)  # the first cold start happens now, not on the first request
            except Exception:  # as in Lambda, a function that cannot initialise fails its invocations
                log.exception("function %s failed to initialise; its routes will answer 502", function_id)
        try:
            self.pollers = pollers_for(
                self.template,
                runner,
                dynamodb=clients["dynamodb"],
                streams=self._client("dynamodbstreams"),
                sqs=clients["sqs"],
                sns=clients["sns"],
                region=REGION,
            )
            self.queue_pollers = queue_pollers_for(self.template, runner, sqs=clients["sqs"], region=REGION)
        except ValueError as exc:  # an event source mapping Lambda would refuse
            raise StackError(str(exc)) from exc
        for poller in self.pollers:
            poller.start()
        for queue_poller in self.queue_pollers:
            queue_poller.start()
        self.server.add_route("POST", "/_dev/drain", self._drain)
        self.server.add_route("GET", "/_dev/faults", lambda _request: self._faults_page())
        self.server.add_route("PUT", "/_dev/faults", self._put_faults)
        self.server.start()
        if cfg.seed:
            # Through the provisioning API, over HTTP and signed, as the CRM would: every start proves it.
            try:
                seed(self.demo, self._provision_over_http)
            except SeedError as exc:
                raise StackError(f"seeding the demo data failed: {exc}") from exc
        # Armed last: provisioning and seeding are the stack's calls, not the service's.
        self.set_faults(cfg.faults, cfg.fault_seed)
        self.ready_after_s = time.monotonic() - self.started_at
        self.server.mark_ready()  # API routes answered 503 until now

    def _simulate_ses_events(self, environment: dict[str, str]) -> None:
        """When the template has the SES webhook, every sent mail gets the events SES would publish
        (``@simulator.amazonses.com`` addresses their scenario), signed as SNS signs them with a
        key made here. The webhook trusts that key only through SNS_TRUSTED_CERT_PEM_PATH, a local
        setting the deployed template never sets."""
        assert self.template is not None and self.server is not None
        topic = environment.get("SES_EVENTS_TOPIC_ARN")
        webhook = next((r for r in self.template.api_routes() if r.path == SES_WEBHOOK_PATH), None)
        if not topic or webhook is None:
            return
        from devstack.ses_simulator import SesSimulator
        from devstack.sns_signer import SnsSigner

        signer = SnsSigner()
        cert = signer.write_cert(self.config.state_dir / f"sns-signing-cert-{self.config.port}.pem")
        os.environ["SNS_TRUSTED_CERT_PEM_PATH"] = str(cert)
        gateway = self.server.gateway

        def post(headers: dict[str, str], body: bytes) -> None:
            response = gateway.handle(HttpRequest("POST", SES_WEBHOOK_PATH, list(headers.items()), body))
            if response.status != 200:
                log.warning("the SES webhook answered %s to a simulated event", response.status)

        simulator = self.ses_simulator = SesSimulator(
            topic_arn=topic,
            signer=signer,
            deliver=post,
            configuration_set=environment.get("SES_CONFIGURATION_SET"),
        )
        self.mailbox.subscribe(simulator.on_message)

    def _listen_as_the_crm(self, clients: dict[str, Any], environment: dict[str, str]) -> None:
        """When the template has the CRM's event bus: a listener on it, as a CRM would listen
        (``devstack.crm_events``), shown at ``GET /_dev/events.json``."""
        assert self.server is not None
        bus = environment.get("CRM_EVENT_BUS_NAME")
        if not bus:
            return
        listener = self.crm_listener = CrmListener(clients["events"], clients["sqs"], bus)
        listener.start()
        self.server.add_route(
            "GET", "/_dev/events.json", lambda _request: _json_response(200, {"events": listener.events()})
        )

    @property
    def reset_page_url(self) -> str:
        return f"{self.config.base_url}/reset"

    @property
    def portal_url(self) -> str:
        return f"{self.config.base_url}/_dev/portal"

    def environment(self, template: SamTemplate) -> dict[str, str]:
        """Every function's environment from the template (they share this process, so they must
        agree), local URLs (never derived from a request's Host), and credentials for moto."""
        env: dict[str, str] = {}
        for function_id in template.functions():
            for key, value in template.function_environment(function_id).items():
                if key in env and env[key] != value:
                    log.warning("functions disagree on %s; %s's value wins locally", key, function_id)
                env[key] = value
        env.update(
            RESET_PAGE_URL=self.reset_page_url,
            PORTAL_URL=self.portal_url,
            AWS_ENDPOINT_URL=self.config.moto_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's fake credentials
            AWS_SESSION_TOKEN="testing",  # noqa: S106
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            AWS_EC2_METADATA_DISABLED="true",
            # No X-Ray daemon and no CloudWatch here: keep the terminal for logs that matter.
            POWERTOOLS_TRACE_DISABLED="true",
            POWERTOOLS_METRICS_DISABLED="true",
        )
        os.environ.pop("AWS_PROFILE", None)
        return env

    def _start_moto(self) -> subprocess.Popen[bytes]:
        try:
            return motoserver.start(HOST, self.config.moto_port, self.config.moto_log)
        except motoserver.MotoStartError as error:
            raise StackError(str(error)) from None

    # ------------------------------------------------------------------ faults
    def set_faults(self, spec: str, seed: int) -> dict[str, Any]:
        """Tell moto's server which faults to inject from now on (counts start again)."""
        return self._moto_faults("POST", json.dumps({"faults": spec, "seed": seed}).encode("utf-8"))

    def faults(self) -> dict[str, Any]:
        """The rules, the seed, the calls moto saw and the faults it injected."""
        return self._moto_faults("GET", None)

    def _moto_faults(self, method: str, body: bytes | None) -> dict[str, Any]:
        connection = http.client.HTTPConnection(HOST, self.config.moto_port, timeout=10)
        try:
            connection.request(method, FAULTS_PATH, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer: dict[str, Any] = json.loads(response.read())
        finally:
            connection.close()
        if response.status != 200:
            raise FaultSpecError(str(answer.get("error")))
        return answer

    def drained(self, timeout: float) -> tuple[bool, float]:
        """Wait until everything already written has been handled: each stream poller has
        completed two rounds since the call (the second began after it, so it saw every record
        written before), each queue is empty with no batch in progress, and the simulated SES
        events of every mail sent so far have been posted, and then the streams again (a posted
        bounce writes an audit event the stream carries on). (drained, seconds waited)"""
        started = time.monotonic()
        rounds = {id(p): p.rounds for p in self.pollers}
        simulated = False
        while True:
            streams = all(p.rounds >= rounds[id(p)] + 2 for p in self.pollers)
            if streams and all(q.drained() for q in self.queue_pollers):
                if simulated or self.ses_simulator is None:
                    return True, time.monotonic() - started
                self.ses_simulator.wait(max(0.0, timeout - (time.monotonic() - started)))
                simulated = True
                rounds = {id(p): p.rounds for p in self.pollers}
            if time.monotonic() - started > timeout:
                return False, time.monotonic() - started
            time.sleep(0.02)

    def _drain(self, request: HttpRequest) -> HttpResponse:
        """``POST /_dev/drain`` (``{"timeout": s}``, 20 by default): answers once drained (200) or
        when the timeout passed (503); tests wait on it instead of sleeping and counting."""
        try:
            timeout = float(json.loads(request.body or b"{}").get("timeout", 20))
        except (ValueError, TypeError, AttributeError):
            return _json_response(400, {"error": "timeout must be a number of seconds"})
        drained, waited = self.drained(min(timeout, 120.0))
        return _json_response(200 if drained else 503, {"drained": drained, "waited_s": round(waited, 3)})

    def _faults_page(self) -> HttpResponse:
        return _json_response(200, self.faults())

    def _put_faults(self, request: HttpRequest) -> HttpResponse:
        """``PUT /_dev/faults`` with ``{"faults": "<spec>", "seed": <n>}``: new rules, counts reset."""
        try:
            wanted = json.loads(request.body or b"{}")
            return _json_response(
                200, self.set_faults(str(wanted.get("faults") or ""), int(wanted.get("seed") or 0))
            )
        except (ValueError, TypeError, AttributeError) as exc:
            return _json_response(400, {"error": str(exc)})

    def _client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.config.moto_url)

    def _clients(self) -> dict[str, Any]:
        return {
            "dynamodb": self._client("dynamodb"),
            "sesv2": self._client("sesv2"),
            "sqs": self._client("sqs"),
            "sns": self._client("sns"),
            "secretsmanager": self._client("secretsmanager"),
            "events": self._client("events"),
        }

    def _provision_over_http(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        assert self.demo is not None
        raw = json.dumps(body).encode("utf-8")
        url = f"{self.config.base_url}{path}"
        headers = signed_headers(key_pair(self.demo), method, url, raw, {"Content-Type": "application/json"})
        assert self.server is not None
        headers[SEED_HEADER] = self.server.seed_key  # served before the stack is ready (not signed)
        connection = http.client.HTTPConnection(HOST, self.config.port, timeout=30)
        try:
            connection.request(method, path, raw, headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def health(self) -> dict[str, Any]:
        return {
            # Ready once the demo data is in (the server answers from before, to seed through it).
            "status": "ok" if self.ready_after_s is not None else "starting",
            "pid": os.getpid(),
            "moto_pid": self.moto.pid if self.moto else None,
            "api": self.config.base_url,
            "template": str(self.config.template),
            "stream_pollers": [p.name for p in self.pollers],
            "queue_pollers": {
                p.name: {"invocations": p.invocations, "deleted": p.deleted, "failed": p.failed}
                for p in self.queue_pollers
            },
            "concurrency": self.config.concurrency,
            "functions": self.runner.stats() if self.runner else {},
            "mail": len(self.mailbox),
            "ready_after_s": self.ready_after_s,
        }

    def moto_alive(self) -> bool:
        return self.moto is not None and self.moto.poll() is None

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        for queue_poller in self.queue_pollers:
            queue_poller.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.moto is not None:
            motoserver.stop(self.moto)
            self.moto = None
        self.mailbox.uninstall()

    # ------------------------------------------------------------------ the banner
    def banner(self) -> str:
        cfg = self.config
        lines = [
            "",
            f"Local stack ready in {self.ready_after_s or 0:.1f} s (template: {cfg.template})",
            "",
            f"  API          {cfg.base_url}/v1/...",
            f"  Reset page   {self.reset_page_url}#token=...",
            f"  Mailbox      {cfg.base_url}/_dev/mail   (JSON: {cfg.base_url}/_dev/mail.json)",
            *([f"  CRM events   {cfg.base_url}/_dev/events.json"] if self.crm_listener else []),
            f"  Portal       {self.portal_url}",
            f"  moto         {cfg.moto_url}   (log: {cfg.moto_log})",
        ]
        if self.pollers:
            lines.append(f"  Streams      {', '.join(p.name for p in self.pollers)}")
        if self.queue_pollers:
            lines.append(f"  Queues       {', '.join(p.name for p in self.queue_pollers)}")
        if cfg.faults:
            lines.append(
                f"  Faults       {cfg.faults} (seed {cfg.fault_seed}; counts: {cfg.base_url}/_dev/faults)"
            )
        if self.demo:
            key = self.demo["provisioning"]["access_key_id"]
            lines.append(f"  Provisioning SigV4 key {key} (local/demo_data.json -> provisioning; dev only)")
        if self.demo and cfg.seed:
            lines += ["", "Demo accounts:", "", *_accounts_table(self.demo)]
        lines += ["", "Ctrl-C stops everything.", ""]
        return "\n".join(lines)


def _json_response(status: int, body: Any) -> HttpResponse:
    return HttpResponse(
        status,
        [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
        json.dumps(body).encode("utf-8"),
    )


def _accounts_table(data: dict[str, Any]) -> list[str]:
    rows = [("Firm", "Role", "Name", "E-mail", "Password", "Status")]
    for firm in data["firms"]:
        for acc in firm["accounts"]:
            rows.append(
                (
                    firm["name"],
                    acc["role"],
                    acc["name"],
                    acc["email"],
                    acc["password"],
                    acc.get("status", "active"),
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for index, row in enumerate(rows):
        out.append(
            "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            out.append("  " + "  ".join("-" * width for width in widths))
    return out
