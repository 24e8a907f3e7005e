"""Tracing (``pwreset.runtime.tracing``): no function depends on the X-Ray SDK, every AWS call of a
request is one subsegment of its trace, and a trace never carries a credential. Sign-in and confirm
answer with a session token (in the body and in Set-Cookie) and a reset mail carries a link token:
none of them, and no password, may reach a trace.

The functions write their subsegments as UDP datagrams to ``AWS_XRAY_DAEMON_ADDRESS`` (Lambda sets
it for an actively traced function); here a socket of the test receives them.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.api import Api
from support.demo_accounts import ANNA
from support.environment import TEMPLATE
from support.processes import HANDLER_PATH, run_python
from support.sent_mail import sent_messages, token_from

NEW_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
ROOT = "1-6752f0a1-0123456789abcdef01234567"
LAMBDA_SEGMENT = "53995c3f42cd8ad8"


class Datagrams:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = int(self.sock.getsockname()[1])

    def received(self) -> list[str]:
        found = []
        while True:
            try:
                found.append(self.sock.recv(65536).decode())
            except TimeoutError:
                return found

    def documents(self, raw: list[str]) -> list[dict[str, Any]]:
        header, _, body = zip(*(datagram.partition("\n") for datagram in raw), strict=True)
        assert set(header) == {'{"format": "json", "version": 1}'}
        return [json.loads(b) for b in body]


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Datagrams]:
    sink = Datagrams()
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"127.0.0.1:{sink.port}")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={LAMBDA_SEGMENT};Sampled=1")
    yield sink
    sink.sock.close()


def test_each_aws_call_is_a_subsegment_and_no_credential_reaches_a_trace(
    api: Api, demo: dict[str, Any], daemon: Datagrams
) -> None:
    anna = demo[ANNA]
    daemon.received()  # what seeding the demo data sent
    signed_in = api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]})
    assert signed_in.status == 201
    assert api.post("/v1/password-resets", {"email": anna["email"]}).status == 202
    link_token = token_from(sent_messages()[-1])
    confirmed = api.post("/v1/password-resets/confirm", {"token": link_token, "password": NEW_PASSWORD})
    assert confirmed.status == 200

    raw = daemon.received()
    secrets = [signed_in.body["session"]["token"], confirmed.body["session"]["token"], link_token]
    for secret in [*secrets, NEW_PASSWORD, anna["password"], anna["email"]]:
        assert not any(secret in datagram for datagram in raw)

    documents = daemon.documents(raw)
    handlers = [d for d in documents if d["name"] == "## lambda_handler"]
    # Sign-in, the self-service request, its queue's function, confirm (none needs the authorizer).
    assert len(handlers) == 4
    assert {d["parent_id"] for d in handlers} == {LAMBDA_SEGMENT}  # under Lambda's own segment
    assert all(d["annotations"]["Service"] == "password-reset" for d in handlers)
    calls = [d for d in documents if d.get("namespace") == "aws"]
    assert {d["parent_id"] for d in calls} <= {d["id"] for d in handlers}
    assert all(d["trace_id"] == ROOT and d["http"]["response"]["status"] == 200 for d in calls)
    operations = [(d["name"], d["aws"]["operation"]) for d in calls]
    assert ("SESv2", "SendEmail") in operations  # the link
    # The new session (on its account still being there), the link issued, the change.
    assert operations.count(("DynamoDB", "TransactWriteItems")) == 3
    # A single-table call names its table (a transaction names none): the link read on confirm.
    tokens_table = TEMPLATE.physical_name("ResetTokensTable")
    assert ("GetItem", tokens_table) in {(d["aws"]["operation"], d["aws"].get("table_name")) for d in calls}


def test_nothing_is_traced_for_an_unsampled_request(
    api: Api, demo: dict[str, Any], daemon: Datagrams
) -> None:
    daemon.received()
    os.environ["_X_AMZN_TRACE_ID"] = f"Root={ROOT};Parent={LAMBDA_SEGMENT};Sampled=0"
    anna = demo[ANNA]
    assert api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]}).status == 201
    assert daemon.received() == []


def test_a_handler_cannot_ask_for_its_response_on_a_trace() -> None:
    from pwreset.core.observability import tracer

    with pytest.raises(ValueError, match="session token"):
        tracer.capture_lambda_handler(capture_response=True)


def _app(function: str) -> Path:
    return TEMPLATE.function_dir(function) / "app.py"


def test_no_function_imports_the_x_ray_sdk() -> None:
    """Every handler imported in a fresh process, as Lambda does: the SDK is not among its modules
    (and the layer no longer ships it: tests/integration/test_layer_dependencies.py)."""
    code = (
        "import sys, importlib.util\n"
        + "".join(
            f"s = importlib.util.spec_from_file_location('fn{i}', {str(_app(f))!r})\n"
            "m = importlib.util.module_from_spec(s); s.loader.exec_module(m)\n"
            for i, f in enumerate(TEMPLATE.functions())
        )
        + "print(sorted(n for n in sys.modules if n.startswith(('aws_xray_sdk', 'wrapt'))))"
    )
    done = run_python(["-c", "import support.environment\n" + code], path=HANDLER_PATH)
    assert done.stdout.strip() == "[]"
