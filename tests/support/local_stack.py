"""For the end-to-end tests: runs the local stack (``python -m devstack``, what ``make dev`` runs)
as a subprocess on free ports, speaks to it over HTTP only (``http.client``), and reads its dev
mailbox."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devstack.gateway import HttpResponse
from devstack.ports import free_port
from devstack.seed import key_pair, load_demo_data, signed_headers
from devstack.sigv4 import KeyPair
from support.leaks import SEEN

REPO_ROOT = Path(__file__).resolve().parents[2]
# Every local stack's log directory (its output, moto's log): the e2e suite reads them all at the end.
LOG_DIRS: list[Path] = []
START_TIMEOUT_S = 60.0
# The key pair make dev accepts on its AWS_IAM (provisioning) routes.
PROVISIONING_KEY = key_pair(load_demo_data())


class Response(HttpResponse):
    """An answer as ``http.client`` read it, in the local stack's own response type."""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    port: int
    moto_port: int
    log_dir: Path
    started_in_s: float = 0.0
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = {"Accept": "application/json", "User-Agent": "e2e-tests/1.0"}
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        SEEN.remember(json_body)
        scheme, _, credential = hdrs.get("Authorization", "").partition(" ")
        if scheme == "Bearer":
            SEEN.add(credential)
        try:
            connection.request(method, path, body=body, headers=hdrs)
            response = connection.getresponse()
            answer = Response(response.status, response.getheaders(), response.read())
        finally:
            connection.close()
        if (answer.header("Content-Type") or "").startswith("application/json") and answer.body:
            with contextlib.suppress(ValueError):
                SEEN.remember(answer.json())
        return answer

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, json_body=json_body, **kw)

    def signed(
        self, method: str, path: str, body: Any = None, *, key: KeyPair = PROVISIONING_KEY
    ) -> Response:
        """A provisioning request as the CRM sends it: signed by botocore's SigV4 signer for
        ``execute-api`` (over the URL and body as sent), then plain HTTP."""
        raw = json.dumps(body).encode("utf-8") if body is not None else b""
        extra = {"Content-Type": "application/json"} if body is not None else {}
        headers = signed_headers(key, method, f"{self.base_url}{path}", raw, extra)
        return self.request(method, path, body=raw or None, headers=headers)

    def drain(self, timeout: float = 20.0) -> None:
        """Until the stack has handled everything already written: stream records, queued
        messages, simulated SES events (``POST /_dev/drain``); fails the test otherwise."""
        answer = self.post("/_dev/drain", {"timeout": timeout})
        assert answer.status == 200, f"not drained within {timeout} s: {answer.text}"

    def aws(self, service: str) -> Any:
        """A boto3 client on the stack's moto (its tables, queues and streams)."""
        # deferred: most e2e tests speak HTTP only
        import boto3

        return boto3.client(
            service,
            endpoint_url=f"http://127.0.0.1:{self.moto_port}",
            region_name="eu-central-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def table(self, logical_id: str) -> str:
        """The physical name the stack gave a table of the template."""
        names = self.aws("dynamodb").list_tables()["TableNames"]
        return next(name for name in names if name.endswith(f"-{logical_id}"))

    def mail(self) -> list[dict[str, Any]]:
        """Every mail in the dev mailbox (``GET /_dev/mail.json``)."""
        return list(self.get("/_dev/mail.json").json()["messages"])

    def output(self) -> str:
        return "".join(
            (self.log_dir / name).read_text(errors="replace") for name in ("stdout.log", "stderr.log")
        )


def sign_in(stack: Stack, email: str, password: str) -> str:
    response = stack.post("/v1/sessions", {"email": email, "password": password})
    assert response.status == 201, response.body
    return str(response.json()["session"]["token"])


def mail_ids(stack: Stack) -> set[str]:
    return {m["id"] for m in stack.mail()}


def wait_for_mail(
    stack: Stack, to: str, after: set[str], timeout: float = 10.0, *, subject: str = ""
) -> dict[str, Any]:
    """The first mail to ``to`` whose id is not in ``after`` (and whose subject contains
    ``subject``); fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in stack.mail():
            if to in message["to"] and message["id"] not in after and subject in message["subject"]:
                return dict(message)
        time.sleep(0.1)
    pytest.fail(f"no mail to {to} {f'about {subject!r} ' if subject else ''}within {timeout} s")


def link_in(mail: dict[str, Any], kind: str = "token") -> str:
    """The first ``#token=`` (reset or invitation) or ``#lock=`` link of a dev-mailbox mail."""
    found = [link for link in mail["links"] if f"#{kind}=" in link]
    assert found, f"no #{kind}= link in the mail to {mail['to']}: {mail['subject']}"
    return str(found[0])


@dataclass(frozen=True)
class FirmOfTwo:
    """A firm of its own for one test: an owner who can sign in and send links, and a client who
    has set a password (both through invitations, as in production)."""

    firm_id: str
    owner_email: str
    owner_password: str
    client_id: str
    client_email: str
    client_password: str


def firm_of_two(stack: Stack, name: str, *, client_locale: str = "en") -> FirmOfTwo:
    """Provision ``firm-<name>`` with an owner and a client over the signed CRM API; each sets a
    first password with the link of their welcome mail (and has its "access is set up" mail when
    this returns). Other tests' mails never reach them, nor theirs other tests."""
    firm_id = f"firm-{name}"
    assert stack.signed("PUT", f"/v1/admin/firms/{firm_id}", {"name": f"Kanzlei {name}"}).status in (200, 201)
    people = {
        "owner": (f"owner.{name}@example.com", "Lindwurm über dem Neckartal 31", "owner", "de"),
        "client": (f"client.{name}@example.com", "Heidelberger Schlossgarten 1614", "client", client_locale),
    }
    for key, (email, password, role, locale) in people.items():
        before = mail_ids(stack)
        body = {
            "firm_id": firm_id,
            "role": role,
            "email": email,
            "name": f"{key.title()} {name.title()}",
            "locale": locale,
            "send_invitation": True,
        }
        created = stack.signed("PUT", f"/v1/admin/accounts/acc-{name}-{key}", body)
        assert created.status == 201, created.body
        token = link_in(wait_for_mail(stack, email, before)).split("#token=", 1)[1]
        before = mail_ids(stack)
        done = stack.post("/v1/password-resets/confirm", {"token": token, "password": password})
        assert done.status == 200, done.body
        # The "access is set up" mail: once it is in, the stream has caught up with this account.
        wait_for_mail(stack, email, before, timeout=20)
    owner_email, owner_password, *_ = people["owner"]
    client_email, client_password, *_ = people["client"]
    return FirmOfTwo(
        firm_id, owner_email, owner_password, f"acc-{name}-client", client_email, client_password
    )


def start_stack(
    log_dir: Path,
    *,
    template: Path | None = None,
    port: int | None = None,
    moto_port: int | None = None,
    wait: bool = True,
    env: dict[str, str] | None = None,
    parameters: dict[str, str] | None = None,
) -> Stack:
    log_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    moto_port = moto_port or free_port()
    command = [sys.executable, "-m", "devstack", "--port", str(port), "--moto-port", str(moto_port)]
    command += ["--state-dir", str(log_dir)]
    if template is not None:
        command += ["--template", str(template)]
    if parameters:
        command += ["--parameter-overrides", *(f"{k}={v}" for k, v in parameters.items())]
    # Unbuffered, so every log line is on disk when the secrets check reads it.
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "local"),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    LOG_DIRS.append(log_dir)
    started = time.monotonic()
    with (log_dir / "stdout.log").open("wb") as out, (log_dir / "stderr.log").open("wb") as err:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=environment
        )
    stack = Stack(process=process, port=port, moto_port=moto_port, log_dir=log_dir)
    if wait:
        wait_until_ready(stack)
        stack.started_in_s = time.monotonic() - started
    return stack


def wait_until_ready(stack: Stack, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            pytest.fail(f"the local stack exited with {stack.process.returncode}:\n{stack.output()}")
        try:
            if stack.get("/_dev/health").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    stop_stack(stack)
    pytest.fail(f"the local stack was not ready within {timeout:.0f} s:\n{stack.output()}")


def stop_stack(stack: Stack, sig: int = signal.SIGINT, timeout: float = 20.0) -> int:
    if stack.process.poll() is None:
        stack.process.send_signal(sig)
        try:
            stack.process.wait(timeout)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()
            pytest.fail(f"the local stack did not stop within {timeout:.0f} s:\n{stack.output()}")
    return stack.process.returncode


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), children first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
