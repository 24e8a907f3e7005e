"""The local stack answers only when it is ready (issue #28): it seeds its demo data through its own
API, so its server serves before the data is in; until then every API route is a 503 with
Retry-After in the contract's shape, and only the stack's own seeding requests get through."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.gateway import Gateway, HttpRequest, HttpResponse
from devstack.mailbox import Mailbox
from devstack.ports import free_port
from devstack.server import SEED_HEADER, DevPages, DevServer
from support.environment import TEMPLATE


class RecordingGateway(Gateway):
    """The template's gateway, with every request it would route recorded instead of run."""

    def __init__(self) -> None:
        super().__init__(TEMPLATE)
        self.seen: list[HttpRequest] = []

    def handle(self, request: HttpRequest) -> HttpResponse:
        self.seen.append(request)
        return HttpResponse(200, [("Content-Type", "application/json")], b'{"served": true}')


@pytest.fixture
def server() -> Iterator[DevServer]:
    health: dict[str, Any] = {"status": "starting"}
    pages = DevPages(mailbox=Mailbox(), reset_page_url="http://127.0.0.1/reset", health=lambda: health)
    running = DevServer("127.0.0.1", free_port(), RecordingGateway(), pages)
    running.start()
    yield running
    running.stop()


def call(server: DevServer, method: str, path: str, headers: dict[str, str] | None = None) -> HttpResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        body = b'{"email": "anna.schmidt@example.com", "password": "x"}' if method == "POST" else None
        connection.request(
            method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})}
        )
        response = connection.getresponse()
        return HttpResponse(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


def test_until_ready_every_api_route_is_503_with_retry_after_in_the_contract_shape(server: DevServer) -> None:
    gateway = server.gateway
    assert isinstance(gateway, RecordingGateway)
    for method, path in [("POST", "/v1/sessions"), ("GET", "/reset"), ("GET", "/v1/nowhere")]:
        answer = call(server, method, path)
        assert answer.status == 503, (method, path)
        assert answer.header("Retry-After") == "1"
        error = json.loads(answer.body)["error"]
        assert error["code"] == "internal_error" and "try again" in error["message"]
    assert gateway.seen == []
    # The readiness probe itself answers (and says why).
    assert call(server, "GET", "/_dev/health").status == 503


def test_only_the_stacks_own_seeding_requests_get_through_and_lose_their_key(server: DevServer) -> None:
    gateway = server.gateway
    assert isinstance(gateway, RecordingGateway)
    assert call(server, "PUT", "/v1/admin/firms/f", {SEED_HEADER: "guessed"}).status == 503
    assert call(server, "PUT", "/v1/admin/firms/f", {SEED_HEADER: server.seed_key}).status == 200

    [seeded] = gateway.seen
    assert SEED_HEADER.lower() not in {name.lower() for name, _ in seeded.headers}


def test_once_ready_every_route_is_served(server: DevServer) -> None:
    server.mark_ready()
    assert call(server, "POST", "/v1/sessions").status == 200
    assert call(server, "GET", "/reset").status == 200
