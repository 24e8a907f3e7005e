"""The local stack serves and triggers whatever the template describes: a copy of ``template.yaml``
with a throwaway API function and a throwaway stream consumer added, and nothing else changed, is
served by a stack started on that copy."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.local_stack import Stack, start_stack, stop_stack
from support.template_copies import api_event, probe_function, probe_stream_function, template_copy

pytestmark = pytest.mark.e2e

OWNER = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class ProbeStack:
    stack: Stack
    stream_log: Path

    def stream_records(self) -> list[dict[str, Any]]:
        if not self.stream_log.exists():
            return []
        lines = self.stream_log.read_text().splitlines()
        return [record for line in lines for record in json.loads(line)["Records"]]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeStack]:
    work = tmp_path_factory.mktemp("probe")
    stream_log = work / "stream.jsonl"
    stream_function = probe_stream_function(
        BatchSize=10,
        FilterCriteria={
            "Filters": [
                {"Pattern": json.dumps({"dynamodb": {"NewImage": {"type": {"S": [{"prefix": "reset_"}]}}}})}
            ]
        },
    )
    stream_function["Properties"]["Environment"] = {"Variables": {"PROBE_STREAM_LOG": str(stream_log)}}
    template = template_copy(
        work / "template",
        {
            "ProbeApiFunction": probe_function(
                "probe_api",
                {
                    "Echo": api_event("/v1/probe/{name}"),
                    "Guarded": api_event("/v1/probe/{name}", "POST", authorizer=True),
                },
            ),
            "ProbeStreamFunction": stream_function,
        },
        api_properties={"BinaryMediaTypes": ["image~1png"]},
    )
    stack = start_stack(work / "logs", template=template)
    yield ProbeStack(stack, stream_log)
    assert stop_stack(stack) == 0, stack.output()


def echo(response_body: bytes) -> dict[str, Any]:
    return dict(json.loads(response_body)["event"])


def test_a_route_added_to_the_template_copy_is_served_with_a_real_proxy_event(
    probe: ProbeStack, stack: Stack
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", probe.stack.port, timeout=10)
    connection.putrequest("GET", "/v1/probe/hello?x=1&x=2&empty=", skip_accept_encoding=True)
    connection.putheader("User-Agent", "e2e-agent/2.0")
    connection.putheader("X-Multi", "a")
    connection.putheader("X-Multi", "b")
    connection.putheader("X-Forwarded-For", "203.0.113.9")
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    headers = response.getheaders()
    connection.close()

    assert response.status == 200, body
    event = echo(body)
    assert event["resource"] == "/v1/probe/{name}"
    assert (event["path"], event["httpMethod"]) == ("/v1/probe/hello", "GET")
    assert event["pathParameters"] == {"name": "hello"}
    assert event["queryStringParameters"] == {"x": "2", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "empty": [""]}
    assert event["headers"]["User-Agent"] == "e2e-agent/2.0"
    assert event["multiValueHeaders"]["X-Multi"] == ["a", "b"]
    # API Gateway appends the peer it saw to a client's X-Forwarded-For; sourceIp is that peer.
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    context = event["requestContext"]
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "e2e-agent/2.0"
    assert context["stage"] == "dev"
    assert context["path"] == "/dev/v1/probe/hello"
    assert context["resourcePath"] == "/v1/probe/{name}"
    assert context["requestId"] == dict((k.lower(), v) for k, v in headers)["x-amzn-requestid"]
    assert "authorizer" not in context
    assert json.loads(body)["function_name"] == "ProbeApiFunction"

    # Several Set-Cookie headers from multiValueHeaders, a single header from headers.
    assert [v for k, v in headers if k.lower() == "set-cookie"] == [
        "first=1; Path=/",
        "second=2; Path=/; HttpOnly",
    ]
    assert [v for k, v in headers if k.lower() == "x-probe"] == ["single"]

    # The stack on the real template does not know the route.
    assert stack.get("/v1/probe/hello").status == 403


def test_the_templates_authorizer_guards_an_added_route_and_passes_its_context(probe: ProbeStack) -> None:
    anonymous = probe.stack.post("/v1/probe/guarded", {})
    assert anonymous.status == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"

    token = probe.stack.post("/v1/sessions", {"email": OWNER[0], "password": OWNER[1]}).json()["session"][
        "token"
    ]
    allowed = probe.stack.post("/v1/probe/guarded", {"ping": 1}, headers={"Authorization": f"Bearer {token}"})

    assert allowed.status == 200, allowed.body
    event = echo(allowed.body)
    assert json.loads(event["body"]) == {"ping": 1}
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "acc-berger-owner"
    assert (authorizer["account_id"], authorizer["firm_id"], authorizer["role"]) == (
        "acc-berger-owner",
        "firm-berger",
        "owner",
    )


def test_an_html_page_from_a_function_reaches_the_browser_as_is(probe: ProbeStack) -> None:
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = probe.stack.get("/v1/probe/page?kind=html", headers={"Accept": browser_accept})

    assert page.status == 200
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert page.header("Referrer-Policy") == "no-referrer"
    assert page.text.startswith("<!DOCTYPE html>") and "Grüße" in page.text


def test_a_base64_body_is_decoded_only_for_the_apis_binary_media_types(probe: ProbeStack) -> None:
    binary = probe.stack.get("/v1/probe/img?kind=png", headers={"Accept": "image/png"})
    assert binary.status == 200
    assert binary.header("Content-Type") == "image/png"
    assert binary.body == PNG_SIGNATURE

    # As API Gateway does: a client whose first Accept type is not binary gets the base64 text.
    as_text = probe.stack.get("/v1/probe/img?kind=png", headers={"Accept": "application/json"})
    assert as_text.body == base64.b64encode(PNG_SIGNATURE)


def test_a_stream_consumer_added_to_the_template_copy_gets_its_filtered_records(probe: ProbeStack) -> None:
    stack = probe.stack
    token = stack.post("/v1/sessions", {"email": OWNER[0], "password": OWNER[1]}).json()["session"]["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert stack.post("/v1/accounts/acc-berger-client-anna/password-reset", headers=auth).status == 202
    mail = stack.mail()[0]
    reset_token = mail["links"][0].split("#token=", 1)[1]
    confirmed = stack.post(
        "/v1/password-resets/confirm", {"token": reset_token, "password": "Ahornblatt im Herbstwind 42"}
    )
    assert confirmed.status == 200, confirmed.body
    assert stack.post("/v1/accounts/acc-berger-client-james/password-reset", headers=auth).status == 202

    stack.drain()  # the stream has been read past every record written above
    records = probe.stream_records()
    types = [r["dynamodb"]["NewImage"]["type"]["S"] for r in records]
    accounts = [r["dynamodb"]["NewImage"]["account_id"]["S"] for r in records]
    assert types == ["reset_requested", "reset_requested"]  # password_changed did not pass the filter
    assert accounts == ["acc-berger-client-anna", "acc-berger-client-james"]
    first = records[0]
    assert first["eventName"] == "INSERT"
    assert first["eventSource"] == "aws:dynamodb"
    assert first["awsRegion"] == "eu-central-1"
    assert ":table/local-EventsTable/stream/" in first["eventSourceARN"]
    assert first["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
