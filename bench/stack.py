"""What the measured processes run against and in: a moto server of their own, tables and demo data
from the template, a ``sys.path`` shaped like Lambda's and the environment Lambda would set."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from devstack import motoserver
from devstack.ports import free_port
from devstack.seed import Provision
from devstack.template import REPO_ROOT, SamTemplate

REGION = "eu-central-1"
NAME_PREFIX = "bench-"
EVENTS_DIR = REPO_ROOT / "events"
LAYER_REQUIREMENTS = REPO_ROOT / "layers" / "pwreset" / "requirements.txt"
LAYER_SOURCE = REPO_ROOT / "layers" / "pwreset"

# Deployed rules with limits no benchmark run can reach: every counter is still written (the calls
# stay), but no run is turned away, which would measure a different path.
BENCH_RATE_LIMITS = ",".join(
    f"{rule}=1000000000/{window}"
    for rule, window in (
        ("self_service_email", 900),
        ("self_service_ip", 3600),
        ("staff_send_account", 3600),
        ("sign_in_account", 900),
        ("sign_in_account_ip", 900),
        ("sign_in_ip", 900),
        ("confirm_ip", 900),
        ("verify_ip", 900),
        ("lock_ip", 900),
        ("password_change_login", 3600),
    )
)

# The breached-password check's flow asks a local fake of the range API (devstack.pwned) that
# answers after this long, standing in for a distant API; every other flow runs with the check off
# (devstack.template.LOCAL_PARAMETERS), as nothing local asks the public API.
BREACHED_CHECK_DELAY_S = 0.05

BENCH_OVERRIDES = {
    "RATE_LIMITS": BENCH_RATE_LIMITS,
    # No origin secret: the sample events' CloudFront headers are then not believed, as the
    # baseline never believes them. With it, a new environment's first request through
    # CloudFront reads the secret (one Secrets Manager call, cached five minutes).
    "ORIGIN_VERIFY_SECRET_ID": "",
}

# Accounts the bench adds to the demo data for itself (into the firm named), provisioned and given
# their passwords like every demo account. The lock flow locks its account on every request, and a
# locked account refuses sign-in, sessions and self-service links: every demo client already
# belongs to a flow whose path that would change.
BENCH_ACCOUNTS = {
    "firm-hartmann": (
        {
            "account_id": "acc-hartmann-client-lock",
            "email": "noah.keller@example.org",
            "password": "Client-Bench-Larch-2026",
            "role": "client",
            "name": "Noah Keller",
            "locale": "de",
            "status": "active",
        },
    ),
}


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------- moto


class MotoServer:
    """moto's server as the local stack runs it (``devstack.motoserver``), on a free loopback
    port, for this run only; always stopped on exit. It collects its garbage only when the harness
    says so, between requests (``devstack.motoserver.ManualGarbageCollection``)."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def __enter__(self) -> MotoServer:
        self.process = motoserver.start("127.0.0.1", self.port, self.log_path, manual_gc=True)
        return self

    def collect_garbage(self) -> int:
        """Collect now (before a measured request); how many collections the server has made."""
        return int(motoserver.collect_garbage("127.0.0.1", self.port)["collections"])

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            motoserver.stop(self.process)


class XRayDaemonSink:
    """Stands in for the X-Ray daemon Lambda runs next to a function: receives (and counts) the
    UDP segments the traced service emits, so tracing runs as deployed and its cost is measured."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.segments = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xray-sink", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sock.recvfrom(65536)
                self.segments += 1
            except TimeoutError:
                continue
            except OSError:
                return

    def __enter__(self) -> XRayDaemonSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


# ---------------------------------------------------------------------------------------- sys.path


def _dist_closure(roots: list[Requirement]) -> dict[str, metadata.Distribution]:
    """Installed distributions the requirements pull in (extras and markers honoured)."""
    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(r.name, frozenset(r.extras)) for r in roots]
    while todo:
        name, extras = todo.pop()
        key = name.lower().replace("_", "-")
        if (key, extras) in seen:
            continue
        seen.add((key, extras))
        dist = found.setdefault(key, metadata.distribution(name))
        for raw in dist.requires or []:
            sub = Requirement(raw)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in {"", *extras}):
                todo.append((sub.name, frozenset(sub.extras)))
    return found


def _top_level_entries(dist: metadata.Distribution) -> set[str]:
    entries: set[str] = set()
    for file in dist.files or []:
        top = file.parts[0]
        if top in ("..", "__pycache__") or top.endswith(".data"):
            continue
        entries.add(top)
    return entries


def link_packages(requirements: list[str], target: Path) -> list[str]:
    """A directory holding exactly the packages ``pip install --target`` would put there for
    ``requirements``, as symlinks into this virtualenv (so they share its bytecode caches).

    The measured processes run with ``python -S`` and this directory on ``PYTHONPATH``: they see
    what a Lambda layer holds, not everything the dev venv has: a package the layer does not ship
    would change what imports (``requests`` is in the venv for moto, not in the layer)."""
    target.mkdir(parents=True, exist_ok=True)
    for child in target.iterdir():
        if child.is_symlink():
            child.unlink()  # a __pycache__ of single-file modules (six.py, ...) may stay
    closure = _dist_closure([Requirement(r) for r in requirements])
    for dist in closure.values():
        base = Path(str(dist.locate_file("")))
        for entry in _top_level_entries(dist):
            source = base / entry
            if source.exists() and not (target / entry).exists():
                (target / entry).symlink_to(source)
    return sorted(f"{d.metadata['Name']}=={d.version}" for d in closure.values())


def layer_requirements() -> list[str]:
    lines = LAYER_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


@dataclass(frozen=True)
class PythonPaths:
    """``/opt/python`` (the layer: pwreset from the source tree and its dependencies, botocore
    pruned as the layer's Makefile prunes it),
    ``/var/runtime`` (what the python3.13 runtime ships: boto3 and its dependencies) and the
    templates as the layer ships them (a copy of ``templates/`` with the mail templates
    precompiled, as the layer's Makefile does; the service side gets it as ``TEMPLATES_DIR``)."""

    layer: Path
    runtime: Path
    layer_packages: list[str]
    runtime_packages: list[str]
    templates: Path

    @classmethod
    def build(cls, work: Path) -> PythonPaths:
        from buildsteps.compile_templates import compile_templates

        layer, runtime, templates = work / "layer", work / "runtime", work / "templates"
        layer_packages = link_packages(layer_requirements(), layer)
        _prune_botocore(layer / "botocore")
        # The python3.13 runtime ships boto3 and snapshot_restore_py (SnapStart's runtime hooks).
        runtime_packages = link_packages(["boto3", "snapshot-restore-py"], runtime)
        shutil.rmtree(templates, ignore_errors=True)
        shutil.copytree(REPO_ROOT / "templates", templates)
        compile_templates(templates)
        return cls(layer, runtime, layer_packages, runtime_packages, templates)

    def service(self, function_dir: Path) -> str:
        return os.pathsep.join(str(p) for p in (function_dir, LAYER_SOURCE, self.layer, self.runtime))

    def xray_sdk(self) -> Path:
        """The X-Ray SDK (and wrapt) as the layer shipped them before, for the tracing option the
        service left (``bench/requirements.txt`` installs it; the layer no longer does)."""
        return _linked(("aws-xray-sdk",), self.runtime.parent / "xray-sdk")

    def baseline(self, packages: tuple[str, ...] = ()) -> str:
        """The runtime's boto3, after ``packages`` (what a baseline's own package would ship)."""
        if not packages:
            return str(self.runtime)
        wanted = tuple(sorted(packages))
        extra = _linked(wanted, self.runtime.parent / ("baseline-" + "-".join(wanted)))
        return os.pathsep.join((str(extra), str(self.runtime)))


def _prune_botocore(linked: Path) -> None:
    """The layer's botocore as its Makefile leaves it: data for the services the functions call
    alone (``buildsteps.botocore_data``). The runtime's botocore, under the baseline, stays whole."""
    import botocore
    from buildsteps.botocore_data import copy_pruned

    if linked.is_symlink():
        linked.unlink()
    else:
        shutil.rmtree(linked, ignore_errors=True)  # the pruned copy of an earlier run
    copy_pruned(Path(botocore.__file__).parent, linked)


@cache
def _linked(requirements: tuple[str, ...], target: Path) -> Path:
    link_packages(list(requirements), target)
    return target


# ---------------------------------------------------------------------------------------- environment


def aws_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench-secret-access-key-not-real-0000000",
        "AWS_SESSION_TOKEN": "bench-session-token",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }


def trace_header() -> str:
    """A sampled ``_X_AMZN_TRACE_ID`` as Lambda sets it for each invocation of a traced function."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=1"


def lambda_environment(
    template: SamTemplate,
    logical_id: str,
    *,
    endpoint: str,
    xray_port: int,
    python_path: str,
) -> dict[str, str]:
    """The environment Lambda gives ``logical_id``: the template's variables, the runtime's own
    (``LAMBDA_TASK_ROOT`` is how powertools knows it is in Lambda; ``AWS_XRAY_DAEMON_ADDRESS`` turns
    the functions' tracing on, as ``Tracing: Active`` deploys it), fake credentials and moto as the
    endpoint."""
    function = template.functions()[logical_id]["Properties"]
    globals_ = template.doc.get("Globals", {}).get("Function", {})
    memory = str(function.get("MemorySize", globals_.get("MemorySize", 128)))
    name = f"{NAME_PREFIX}{logical_id}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": python_path,
        "LAMBDA_TASK_ROOT": str(template.function_dir(logical_id)),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{xray_port}",
        "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
        "_AWS_XRAY_DAEMON_PORT": str(xray_port),
        "_X_AMZN_TRACE_ID": trace_header(),
    }
    env.update(template.function_environment(logical_id))
    env.update(BENCH_OVERRIDES)
    env.update(aws_environment(endpoint))
    return env


# ---------------------------------------------------------------------------------------- data


def provision_and_seed(template: SamTemplate, endpoint: str, work: Path) -> Fixture:
    """Tables and mail identity from the template, then the demo data, into the moto server.
    Runs in the harness, whose environment must already name the bench's tables."""
    import boto3

    from devstack.seed import accounts_by_id, load_demo_data, seed
    from devstack.template import provision

    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    provision(
        template,
        dynamodb=dynamodb,
        sesv2=boto3.client("sesv2", endpoint_url=endpoint, region_name=REGION),
        sqs=boto3.client("sqs", endpoint_url=endpoint, region_name=REGION),
        events=boto3.client("events", endpoint_url=endpoint, region_name=REGION),
    )
    data = load_demo_data()
    for firm in data["firms"]:
        firm["accounts"].extend(dict(account) for account in BENCH_ACCOUNTS.get(firm["firm_id"], ()))
    seed(data, _signed_in_process(template, data))
    return Fixture(accounts_by_id(data), template, dynamodb, work)


def _signed_in_process(template: SamTemplate, data: dict[str, Any]) -> Provision:
    """The provisioning API through an in-process gateway, signed as the CRM signs: the bench's
    data is made the way every demo's is."""
    from devstack.gateway import Gateway, HttpRequest
    from devstack.seed import key_pair, signed_headers

    gateway = Gateway(template, iam_key=key_pair(data))
    host = "bench.local"

    def provision(method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        raw = json.dumps(body).encode("utf-8")
        headers = signed_headers(
            key_pair(data),
            method,
            f"https://{host}{path}",
            raw,
            {"Host": host, "Content-Type": "application/json"},
        )
        answer = gateway.handle(HttpRequest(method, path, list(headers.items()), raw))
        return answer.status, answer.json()

    return provision


# Tables that the request flows add to (links, audit events, sessions, mails' delivery records):
# made anew before every
# request. moto copies each table a transaction touches (``copy.deepcopy``, for its rollback),
# stream records included, so a growing table would make every later TransactWriteItems slower, on
# both sides, and push the ratios towards 1. (Deleting the items is not enough: the Events table's
# stream keeps a record of each delete.) A flow that adds to other tables names them itself.
GROWING_TABLES = ("ResetTokensTable", "EventsTable", "SessionsTable", "DeliveryEventsTable")
SNS_SIGNER_KEY_BITS = 2048  # what SNS signs with
SNS_CERTIFICATE = "sns-signing-cert.pem"


@dataclass
class Fixture:
    """What a flow's ``prepare`` may use: sample events, demo accounts, and direct writes that set
    up the state a flow starts from (untimed, in the harness)."""

    demo: dict[str, dict[str, Any]]
    template: SamTemplate
    dynamodb: Any  # a boto3 DynamoDB client on the bench's moto server
    work: Path  # the run's scratch directory
    _events: dict[str, str] = field(default_factory=dict)
    _signer: Any = None  # devstack.sns_signer.SnsSigner, made on first use (RSA key generation)
    _range_server: Any = None  # devstack.pwned.RangeServer, started on first use
    _range_mark: int = 0  # how many requests it had at mark_range_requests

    def reset_state(self, tables: tuple[str, ...] = GROWING_TABLES) -> None:
        """Every request starts from the seeded data (accounts, firms, rate-limit counters) and
        with ``tables`` (logical ids) empty."""
        for logical_id in tables:
            self.dynamodb.delete_table(TableName=self.template.physical_name(logical_id))
            self.dynamodb.create_table(**self.template.create_table_kwargs(logical_id))
            ttl = self.template.ttl_attribute(logical_id)
            if ttl:
                self.dynamodb.update_time_to_live(
                    TableName=self.template.physical_name(logical_id),
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl},
                )

    def range_api_url(self) -> str:
        """A fake range API (``devstack.pwned``, the corpus ``make dev`` serves) that answers after
        :data:`BREACHED_CHECK_DELAY_S`; started on first use, in the harness, for the rest of the run."""
        if self._range_server is None:
            from devstack.pwned import Corpus, FakeRangeApi, RangeServer

            server = RangeServer(FakeRangeApi(Corpus.build(), delay=BREACHED_CHECK_DELAY_S))
            self._range_server = server.__enter__()
        return str(self._range_server.url)

    def mark_range_requests(self) -> None:
        """From now on :meth:`new_range_requests` lists only what the fake range API is asked next."""
        self._range_mark = len(self._range_paths())

    def new_range_requests(self) -> list[str]:
        """The paths the fake range API was asked for since :meth:`mark_range_requests`."""
        return self._range_paths()[self._range_mark :]

    def _range_paths(self) -> list[str]:
        return [] if self._range_server is None else [r.path for r in self._range_server.api.requests()]

    def close(self) -> None:
        """Stops what the fixture started (the fake range API)."""
        if self._range_server is not None:
            self._range_server.__exit__(None, None, None)
            self._range_server = None

    def item(self, table: str, key: dict[str, str]) -> dict[str, Any] | None:
        """One item (low-level attribute values) of a table by logical id, read consistently."""
        found = self.dynamodb.get_item(
            TableName=self.template.physical_name(table),
            Key={name: {"S": value} for name, value in key.items()},
            ConsistentRead=True,
        )
        return found.get("Item")

    def login(self, account_id: str) -> dict[str, Any]:
        """The login item (low-level attribute values) of a demo account's address."""
        return self.item("LoginsTable", {"email": self.account(account_id)["email"], "item": "login"}) or {}

    def event(self, name: str) -> dict[str, Any]:
        if name not in self._events:
            self._events[name] = (EVENTS_DIR / name).read_text(encoding="utf-8")
        return dict(json.loads(self._events[name]))

    def account(self, account_id: str) -> dict[str, Any]:
        return self.demo[account_id]

    def staff_event(self, name: str, *, principal: str, target: str | None = None) -> dict[str, Any]:
        """A sample event as API Gateway passes it on after the authorizer allowed ``principal``."""
        event = self.event(name)
        who = self.account(principal)
        event["requestContext"]["authorizer"].update(
            {
                "principalId": principal,
                "account_id": principal,
                "firm_id": who["firm_id"],
                "role": who["role"],
                "name": who["name"],
                "locale": who.get("locale", "de"),
                "email": who["email"],
            }
        )
        if target is not None:
            old = event["pathParameters"]["account_id"]
            event["pathParameters"] = {"account_id": target}
            event["path"] = event["path"].replace(old, target)
            event["requestContext"]["path"] = event["requestContext"]["path"].replace(old, target)
        return event

    def issue_reset_token(self, account_id: str, *, lifetime_s: int = 3600) -> str:
        """A live link for the account as it is now (its current password version), as
        ``pwreset.credentials.resets`` would store it; returns the raw token."""
        return self._store_reset_token(account_id, lifetime_s=lifetime_s)[0]

    def _store_reset_token(
        self, account_id: str, *, lifetime_s: int = 3600, ses_message_id: str | None = None
    ) -> tuple[str, str]:
        """(raw token, reset id) of a new link, stored as ``pwreset.credentials.links`` stores one:
        the token and its mail's delivery record."""
        from pwreset.core.times import iso
        from pwreset.credentials.tokens import default_token_generator
        from pwreset.delivery.outbox import ClientMail
        from pwreset.storage.models import LOGIN_ITEM, Account, DeliveryTimeline, Firm, Login, ResetToken

        account = Account.get(account_id, consistent_read=True)
        login = Login.get(account.email, LOGIN_ITEM, consistent_read=True)
        firm = Firm.get(account.firm_id)
        issued = default_token_generator.make_token()
        now = datetime.now(UTC)
        expires_at = now + timedelta(seconds=lifetime_s)
        reset_id = uuid.uuid4().hex
        ResetToken(
            issued.digest,
            reset_id=reset_id,
            account_id=account.account_id,
            firm_id=account.firm_id,
            firm_name=firm.name,
            email=account.email,
            requested_at=iso(now),
            requested_by=None,
            requested_by_name=None,
            expires_at=expires_at,
            password_version=login.password_version,
            access_version=account.access_version,
            status="issued",
            ses_message_id=ses_message_id,
            ttl=expires_at + timedelta(days=1),
        ).save()
        mail = ClientMail(
            kind="reset",
            account_id=account.account_id,
            email=account.email,
            reset_id=reset_id,
            password_version=int(login.password_version),
        )
        DeliveryTimeline(reset_id).update(actions=mail.record_actions(now))
        return issued.raw, reset_id

    # ------------------------------------------------------------------ lock
    def issue_lock_token(self, account_id: str) -> str:
        """A live "It wasn't me" link for the account, stored as the notification stores the one
        in the holder's mail (``pwreset.credentials.locks.issue_lock_token``), reporting a
        password change just made from another network; returns the raw token."""
        from pwreset.credentials.locks import issue_lock_token
        from pwreset.storage.events import ChangeDetail, PasswordChangedEvent
        from pwreset.storage.models import Account

        holder = Account.get(account_id, consistent_read=True)
        change = PasswordChangedEvent(
            event_id=uuid.uuid4().hex,
            type="password_changed",
            account_id=holder.account_id,
            firm_id=holder.firm_id,
            at=datetime.now(UTC),
            detail=ChangeDetail(
                change="reset",
                reset_id=uuid.uuid4().hex,
                source_ip="198.51.100.23",
                user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
                country="NL",
                country_name="Netherlands",
                city="Amsterdam",
            ),
        )
        return issue_lock_token(holder, change).split("#lock=", 1)[1]

    def unlock(self, account_id: str) -> None:
        """Lifts the lock of the account's login (as a confirmed staff link would, without a new
        password)."""
        self.dynamodb.update_item(
            TableName=self.template.physical_name("LoginsTable"),
            Key={"email": {"S": self.account(account_id)["email"]}, "item": {"S": "login"}},
            UpdateExpression="REMOVE locked_at, lock_event_id",
        )

    # ------------------------------------------------------------------ notification
    def password_changed_batch(self, account_id: str) -> dict[str, Any]:
        """A DynamoDB-stream batch as Lambda hands it to the notification function: one INSERT of
        a ``password_changed`` event for the account (NEW_IMAGE, the shape
        ``events/notify_password_changed.json`` was recorded in), with a new event id and
        sequence number, so the function's idempotency records never take it for a redelivery."""
        batch = self.event("notify_password_changed.json")
        [record] = batch["Records"]
        account = self.account(account_id)
        now = datetime.now(UTC)
        event_id = uuid.uuid4().hex
        image = record["dynamodb"]["NewImage"]
        image["event_id"] = {"S": event_id}
        image["account_id"] = {"S": account_id}
        image["firm_id"] = {"S": account["firm_id"]}
        image["at"] = {"S": now.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")}
        image["ttl"] = {"N": str(int((now + timedelta(days=400)).timestamp()))}
        image["detail"]["M"]["reset_id"] = {"S": uuid.uuid4().hex}
        record["eventID"] = uuid.uuid4().hex
        record["dynamodb"]["Keys"] = {"event_id": {"S": event_id}}
        record["dynamodb"]["ApproximateCreationDateTime"] = int(now.timestamp())
        record["dynamodb"]["SequenceNumber"] = str(time.time_ns())
        record["eventSourceARN"] = (
            f"arn:aws:dynamodb:{REGION}:123456789012:table/{self.template.physical_name('EventsTable')}"
            f"/stream/{now:%Y-%m-%dT%H:%M:%S.000}"
        )
        return batch

    def mails_sent(self, event_id: str, holder: str, owners: list[str]) -> str | None:
        """None when a mail of the event went to the holder and each owner (account ids): its
        idempotency record, as powertools writes it, is COMPLETED with SES's message id (an owner's
        is keyed by the holder's address and the owner: pwreset.credentials.notifications)."""
        import hashlib

        address = self.account(holder)["email"]
        keys = [("password_changed_mail", [event_id, holder])]
        keys += [("password_changed_owner_mail", [address, owner]) for owner in owners]
        for prefix, parts in keys:
            recipient = parts[1]
            digest = hashlib.md5(json.dumps(parts).encode(), usedforsecurity=False)
            key = {"id": f"{prefix}#{digest.hexdigest()}"}
            record = self.item("NotifyIdempotencyTable", key) or {}
            status = record.get("status", {}).get("S")
            if status != "COMPLETED" or "message_id" not in record.get("data", {}).get("S", ""):
                return f"no mail recorded as sent to {recipient} (idempotency record: {record})"
        return None

    # ------------------------------------------------------------------ SES event
    def sns_signer(self) -> Any:
        """The local stack's SNS stand-in: a key pair and a self-signed certificate of this run
        (the certificate written to :meth:`sns_certificate_path` at once: a file left by an
        earlier run holds another key)."""
        if self._signer is None:
            from devstack.sns_signer import SnsSigner

            self._signer = SnsSigner(key_size=SNS_SIGNER_KEY_BITS)
            self._signer.write_cert(self.work / SNS_CERTIFICATE)
        return self._signer

    def sns_certificate_path(self) -> Path:
        """The signer's certificate as a file, for ``SNS_TRUSTED_CERT_PEM_PATH``."""
        self.sns_signer()
        return self.work / SNS_CERTIFICATE

    def signed_bounce(self, account_id: str) -> dict[str, Any]:
        """A permanent bounce of a reset mail just sent to the account, as SNS POSTs it through
        API Gateway: ``events/ses_events_webhook.json`` with a new reset (its token stored with
        the SES message id the bounce names), a new SNS MessageId and a fresh signature. The
        account's address starts as deliverable."""
        account = self.account(account_id)
        ses_message_id = f"0102019c{uuid.uuid4().hex}-{uuid.uuid4()}-000000"
        _raw, reset_id = self._store_reset_token(account_id, ses_message_id=ses_message_id)
        self.dynamodb.update_item(
            TableName=self.template.physical_name("LoginsTable"),
            Key={"email": {"S": account["email"]}, "item": {"S": "login"}},
            UpdateExpression="SET email_status = :ok",
            ExpressionAttributeValues={":ok": {"S": "ok"}},
        )
        event = self.event("ses_events_webhook.json")
        sample = json.loads(event["body"])
        ses = json.loads(sample["Message"])
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        ses["bounce"]["timestamp"] = stamp
        ses["bounce"]["feedbackId"] = f"0102019c{uuid.uuid4().hex}-000000"
        [recipient] = ses["bounce"]["bouncedRecipients"]
        recipient["emailAddress"] = account["email"]
        ses["mail"].update(timestamp=stamp, messageId=ses_message_id, destination=[account["email"]])
        ses["mail"]["commonHeaders"].update(to=[account["email"]], messageId=ses_message_id)
        ses["mail"]["tags"]["reset_id"] = [reset_id]
        topic = self.template.function_environment("SesEventsFunction")["SES_EVENTS_TOPIC_ARN"]
        message = self.sns_signer().notification(topic, ses)
        event["body"] = json.dumps(message)
        headers = self.sns_signer().http_headers(message)
        event["headers"].update(headers)
        event["multiValueHeaders"].update({name: [value] for name, value in headers.items()})
        return event

    def bounce_recorded(self, account_id: str, event: dict[str, Any]) -> str | None:
        """None when the bounce in ``event`` left its marks: the MessageId marker, one entry on
        the reset's timeline and the address's login marked undeliverable."""
        message = json.loads(event["body"])
        message_id = message["MessageId"]
        [reset_id] = json.loads(message["Message"])["mail"]["tags"]["reset_id"]
        if self.item("SnsMessagesTable", {"message_id": message_id}) is None:
            return f"no marker for SNS message {message_id}"
        timeline = self.item("DeliveryEventsTable", {"reset_id": reset_id}) or {}
        if len(timeline.get("events", {}).get("L", [])) != 1:
            return f"expected one timeline entry for reset {reset_id}, found {timeline}"
        login = self.login(account_id)
        if login.get("email_status", {}).get("S") != "undeliverable":
            return f"the address's login was not marked undeliverable: {login.get('email_status')}"
        return None

    def drop_sessions(self, account_id: str) -> None:
        from pwreset.storage.models import Session

        with Session.batch_write() as batch:
            for item in Session.scan(Session.account_id == account_id):
                batch.delete(Session(item.session_hash))


@contextlib.contextmanager
def harness_environment(template: SamTemplate, endpoint: str) -> Iterator[None]:
    """The harness's own process talks to the same moto server and names the same tables as the
    measured functions (pwreset reads table names at import)."""
    saved = dict(os.environ)
    os.environ.update(template.function_environment())
    os.environ.update(BENCH_OVERRIDES)
    os.environ.update(aws_environment(endpoint))
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
