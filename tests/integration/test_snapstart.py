"""SnapStart (``pwreset.runtime.snapstart``): what every function prepares before the snapshot runs
offline and changes nothing; copies restored from one snapshot share no connection, no random
state and no credentials.

A restore is modelled by ``fork()``: the parent initialises a function fully (import, warm-ups, one
real AWS call that leaves a pooled connection behind), then forks twice; each child undoes what a
fork does that a restore does not (CPython reseeds ``random`` in a forked child), runs the
after-restore hooks and serves. That is a model of Lambda's restore, not Lambda's restore itself.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import boto3
import pytest

from pwreset.runtime import snapstart
from support.environment import API_FUNCTIONS, TEMPLATE
from support.processes import HANDLER_PATH, REPO, run_python

SNAPSHOT_FUNCTIONS = [*API_FUNCTIONS, "NotifyPasswordChangedFunction", "SelfServiceResetFunction"]


def _counted_tables() -> dict[str, int]:
    client = boto3.client("dynamodb")
    return {
        name: int(client.scan(TableName=TEMPLATE.physical_name(name), Select="COUNT")["Count"])
        for name in TEMPLATE.tables()
    }


def test_every_functions_warm_ups_run_offline_and_change_nothing(
    demo: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from devstack.gateway import FunctionRunner

    runner = FunctionRunner(TEMPLATE)
    for function in SNAPSHOT_FUNCTIONS:
        runner.module(function)
    before, _ = snapstart.hooks()
    for function in SNAPSHOT_FUNCTIONS:  # every API function's resolver is prepared
        app = getattr(runner.module(function), "app", None)
        assert app is None or any(repr(app) in name for name in before), function
    tables = _counted_tables()
    gc.unfreeze()
    try:
        with caplog.at_level("ERROR", logger="pwreset.runtime.snapstart"):
            took = snapstart.run_before_snapshot()
        # What the snapshot holds is out of the collector's way in every restored copy.
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert not caplog.records, [r.getMessage() for r in caplog.records]  # no warm-up failed
    assert set(took) == set(before)
    assert _counted_tables() == tables  # nothing reached the tables: every call was answered offline


def test_the_route_warm_up_answers_every_route_without_a_server_error(aws: None) -> None:
    from devstack.gateway import FunctionRunner
    from pwreset.api import warm_up

    runner = FunctionRunner(TEMPLATE)
    for function in ("RequestResetFunction", "ProvisioningFunction", "SessionsFunction", "ResetPageFunction"):
        answered = warm_up.routes(runner.module(function).app)
        assert answered, function
        assert all(status < 500 for _, _, status in answered), (function, answered)
    # The page renders for real (no AWS call), so the warm-up compiled it.
    assert ("GET", "/reset", 200) in warm_up.routes(runner.module("ResetPageFunction").app)


def test_hooks_run_in_registration_order_and_a_failing_one_is_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(snapstart, "_before", [])
    ran: list[str] = []

    def first() -> None:
        ran.append("first")

    def broken() -> None:
        raise RuntimeError("no network before the snapshot")

    snapstart.before_snapshot(first)
    snapstart.before_snapshot(broken)
    snapstart.before_snapshot(ran.append, "third")
    snapstart.before_snapshot(first)  # the same hook twice runs once
    with caplog.at_level("ERROR", logger="pwreset.runtime.snapstart"):
        took = snapstart.run_before_snapshot()
    gc.unfreeze()
    assert ran == ["first", "third"]
    assert len(took) == 3
    assert "broken" in caplog.text


# ------------------------------------------------------------------------------- restored copies


class _RecordingDynamoDB(BaseHTTPRequestHandler):
    """Answers every DynamoDB call with an empty success and records who called: the peer port
    names the TCP connection, the signature's key id names the credentials."""

    protocol_version = "HTTP/1.1"  # keep-alive, as DynamoDB: a pooled connection stays open
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        authorization = self.headers.get("Authorization", "")
        key_id = authorization.split("Credential=", 1)[-1].split("/", 1)[0]
        self.seen.append({"port": self.client_address[1], "key_id": key_id})
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recording_dynamodb() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _RecordingDynamoDB.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingDynamoDB)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _RecordingDynamoDB.seen
    finally:
        server.shutdown()
        server.server_close()


# The parent: a fresh process that initialises SessionsFunction as Lambda does before a snapshot,
# makes one call (its connection stays in the pool), then forks two "restored" copies.
_SNAPSHOT_AND_RESTORE = """
import json, os, random, sys
import support.environment
import app  # the handler module: imports, and registers its warm-ups
from pwreset.core import aws
from pwreset.runtime import snapstart
from pwreset.credentials.tokens import default_token_generator

snapstart.run_before_snapshot()
aws.dynamodb_client().get_item(TableName="snapshot", Key={"pk": {"S": "before"}})
state = random.getstate()
# One copy after the other: without the hooks both would write on the snapshot's one connection at
# once, and two readers of one socket race for its answers (the loser waited out a read timeout).
for copy in ("a", "b"):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        random.setstate(state)  # a restore copies memory; it runs no at-fork reseeding
        os.environ["AWS_ACCESS_KEY_ID"] = "AKIARESTORED" + copy.upper()  # Lambda's credentials now
        if os.environ.get("RUN_AFTER_RESTORE") == "1":
            snapstart.run_after_restore()
        token = default_token_generator.make_token().raw
        draw = random.random()
        aws.dynamodb_client().get_item(TableName="snapshot", Key={"pk": {"S": copy}})
        os.write(write, json.dumps({"copy": copy, "token": token, "random": draw}).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    print(os.read(read, 4096).decode())
"""


def _restore_two_copies(endpoint: str, *, after_restore: bool) -> list[dict[str, Any]]:
    function_dir = TEMPLATE.function_dir("SessionsFunction")
    done = run_python(
        ["-c", _SNAPSHOT_AND_RESTORE],
        path=(function_dir, *HANDLER_PATH),
        drop=("AWS_",),
        env={
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "AKIASNAPSHOT",
            "AWS_SECRET_ACCESS_KEY": "not-a-secret",
            "AWS_REGION": "eu-central-1",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "RUN_AFTER_RESTORE": "1" if after_restore else "0",
        },
        cwd=function_dir,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_two_copies_restored_from_one_snapshot_mint_their_own_tokens_and_open_their_own_connections(
    recording_dynamodb: tuple[str, list[dict[str, Any]]],
) -> None:
    endpoint, seen = recording_dynamodb
    copies = _restore_two_copies(endpoint, after_restore=True)
    assert len(copies) == 2
    assert copies[0]["token"] != copies[1]["token"]
    assert copies[0]["random"] != copies[1]["random"]
    snapshot_call, *restored_calls = seen
    assert snapshot_call["key_id"] == "AKIASNAPSHOT"
    assert len(restored_calls) == 2
    ports = {call["port"] for call in restored_calls}
    assert len(ports) == 2 and snapshot_call["port"] not in ports  # a connection of its own each
    # Each copy signs with the credentials it was given after the restore, not the snapshot's.
    assert sorted(call["key_id"] for call in restored_calls) == ["AKIARESTOREDA", "AKIARESTOREDB"]


def test_without_the_after_restore_hooks_the_copies_would_share_the_snapshots_connection_and_state(
    recording_dynamodb: tuple[str, list[dict[str, Any]]],
) -> None:
    """The control: what the hooks above prevent happens without them (so that test can fail)."""
    endpoint, seen = recording_dynamodb
    copies = _restore_two_copies(endpoint, after_restore=False)
    assert copies[0]["random"] == copies[1]["random"]
    snapshot_call, *restored_calls = seen
    # Each copy writes on the snapshot's socket.
    assert [call["port"] for call in restored_calls] == [snapshot_call["port"]] * 2
    assert {call["key_id"] for call in restored_calls} == {"AKIASNAPSHOT"}


# A password function initialised as before a snapshot (on the template's empty tables, under
# moto) serves requests that pass validation and judges a new password; meanwhile it counts what a
# restored copy would still prepare. Modules moto imports for itself are not the function's.
_FIRST_REQUESTS = """
import gettext, json, sys, typing
import support.environment
import app
from moto import mock_aws
from pwreset.credentials import changes
from pwreset.runtime import snapstart
from pwreset.storage.models import Account
from support.environment import TEMPLATE
from support.provisioned import provision_under_moto

mock = mock_aws()
mock.start()
provision_under_moto(TEMPLATE)
snapstart.run_before_snapshot()
seen = {"type_hints": 0, "catalogs": 0}
get_type_hints, read_catalog = typing.get_type_hints, gettext.GNUTranslations._parse

def counting_hints(*args, **kwargs):
    seen["type_hints"] += 1
    return get_type_hints(*args, **kwargs)

def counting_catalogs(self, file):
    seen["catalogs"] += 1
    return read_catalog(self, file)

typing.get_type_hints, gettext.GNUTranslations._parse = counting_hints, counting_catalogs
from botocore import hooks
seen["handler_lookups"] = 0
prefix_search = hooks._PrefixTrie.prefix_search

def counting_lookups(self, key):
    seen["handler_lookups"] += 1
    return prefix_search(self, key)

hooks._PrefixTrie.prefix_search = counting_lookups
modules = set(sys.modules)

class Context:
    function_name, function_version, memory_limit_in_mb = "first", "$LATEST", 1024
    invoked_function_arn = "arn:aws:lambda:eu-central-1:000000000000:function:first"
    aws_request_id = "first"

    @staticmethod
    def get_remaining_time_in_millis():
        return 10_000

statuses = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as file:
        statuses.append(app.lambda_handler(json.load(file), Context())["statusCode"])
client = Account(account_id="first", firm_id="firm", email="first@example.com", name="First", locale="en")
try:  # the requests above speak German; the refusal speaks the client's English
    changes.acceptable_password("too short", client, firm_name="Kanzlei")
except Exception as refused:
    statuses.append(refused.status)
shipped = {"pwreset", "aws_lambda_powertools", "pydantic", "pynamodb", "argon2", "babel", "jinja2"}
imported = sorted(name for name in set(sys.modules) - modules if name.split(".")[0] in shipped)
print(json.dumps({**seen, "statuses": statuses, "imported": imported}))
"""


@pytest.mark.parametrize(
    ("function", "events"),
    [
        ("ConfirmResetFunction", ("confirm_reset_verify", "confirm_reset_confirm", "confirm_reset_lock")),
        ("SessionsFunction", ("sessions_sign_in", "sessions_change_password")),
    ],
)
def test_after_the_warm_ups_a_first_request_and_a_first_new_password_prepare_nothing(
    function: str, events: tuple[str, ...]
) -> None:
    """What a restored copy would otherwise pay on its first request, in every language: no module
    imported (the breached-password client included), no catalog read, no annotation evaluated
    (powertools inspects a handler's signature on the first request that passes validation), no
    event handler looked up in botocore (its lookups survive the warm-ups' offline answers)."""
    function_dir = TEMPLATE.function_dir(function)
    done = run_python(
        ["-c", _FIRST_REQUESTS, *(str(REPO / "events" / f"{name}.json") for name in events)],
        path=(function_dir, *HANDLER_PATH),
        # Not through CloudFront: the origin secret is read on a first request by design (it may
        # have been rotated since the snapshot), with a client of its own.
        env={"ORIGIN_VERIFY_SECRET_ID": ""},
        cwd=function_dir,
    )
    first = json.loads(done.stdout.splitlines()[-1])
    # Past validation, refused (no such link, session or login; the short password: 422).
    assert all(400 <= status < 500 for status in first["statuses"]), first
    assert first["statuses"][-1] == 422, first
    assert first["imported"] == [], first
    assert first["type_hints"] == 0, first
    assert first["catalogs"] == 0, first
    # botocore looks up an event's handlers once and keeps them until a handler is (un)registered.
    assert first["handler_lookups"] == 0, first
