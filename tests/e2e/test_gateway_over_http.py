"""What the local API Gateway answers by itself, and the dev-only pages, over HTTP."""

from __future__ import annotations

import http.client
import socket

import pytest

from devstack.template import SamTemplate
from support.local_stack import Stack

pytestmark = pytest.mark.e2e

# API Gateway answers an unknown resource or method as it answers an unsigned request to an AWS_IAM
# route: MISSING_AUTHENTICATION_TOKEN, a 403, shaped by the template.
NO_ROUTE = {
    "error": {
        "code": "forbidden",
        "message": "No such resource, or the request is not signed. / "
        "Diese Adresse gibt es nicht, oder die Anfrage ist nicht signiert.",
    }
}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/nothing-here"), ("GET", "/v1/password-resets"), ("PUT", "/v1/sessions"), ("GET", "/")],
)
def test_an_unknown_resource_or_method_gets_the_templates_403(stack: Stack, method: str, path: str) -> None:
    response = stack.request(method, path)

    assert response.status == 403
    assert response.json() == NO_ROUTE
    assert response.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"


def test_a_signed_in_route_without_a_session_gets_the_contract_401(stack: Stack) -> None:
    response = stack.get("/v1/sessions/current", headers={"Cookie": "portal_session=forged"})

    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_body_over_ten_megabytes_gets_413_without_being_read(stack: Stack) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        connection.putrequest("POST", "/v1/password-resets")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 413
    assert b'"code": "invalid_request"' in body


def test_malformed_json_gets_the_contract_400(stack: Stack) -> None:
    response = stack.request(
        "POST", "/v1/password-resets", body=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_every_response_carries_an_api_gateway_request_id(stack: Stack) -> None:
    first = stack.post("/v1/password-resets", {"email": "x@example.org"})
    second = stack.post("/v1/password-resets", {"email": "x@example.org"})
    assert first.header("x-amzn-RequestId")
    assert first.header("x-amzn-RequestId") != second.header("x-amzn-RequestId")


def test_the_portal_page_loads_its_script_from_a_file_and_nothing_from_elsewhere(stack: Stack) -> None:
    page = stack.get("/_dev/portal", headers={"Accept": "text/html"})

    assert page.status == 200
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    csp = page.header("Content-Security-Policy") or ""
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert '<script src="/_dev/portal.js" defer></script>' in page.text
    assert page.text.count("<script") == 1
    assert "http://" not in page.text and "https://" not in page.text

    script = stack.get("/_dev/portal.js")
    assert script.status == 200
    assert script.header("Content-Type") == "text/javascript; charset=utf-8"
    assert '"/v1/sessions/current"' in script.text
    assert 'credentials: "same-origin"' in script.text


def test_a_mail_is_shown_in_a_sandboxed_frame_with_its_own_policy(stack: Stack) -> None:
    stack.post("/v1/password-resets", {"email": "anna.schmidt@example.com"})
    stack.drain()  # the self-service link is mailed from the queue, moments after the 202
    [message, *_] = stack.mail()

    page = stack.get("/_dev/mail", headers={"Accept": "text/html"})
    assert f'src="/_dev/mail/{message["id"]}.html"' in page.text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page.text
    assert "<script>" not in page.text

    document = stack.get(f"/_dev/mail/{message['id']}.html")
    assert document.status == 200
    assert document.text == message["html"]
    csp = document.header("Content-Security-Policy") or ""
    assert "sandbox" in csp and "script-src" not in csp and "default-src 'none'" in csp

    assert stack.get("/_dev/mail/unknown-id.html").status == 404


def test_dev_routes_exist_only_in_the_local_stack() -> None:
    assert not [r for r in SamTemplate().api_routes() if r.path.startswith("/_dev")]


def raw_exchange(stack: Stack, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_chunked_body_is_read_like_any_other(stack: Stack) -> None:
    body = b'{"email": "nobody@example.org"}'
    request = (
        b"POST /v1/password-resets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{10:x}\r\n".encode()
        + body[:10]
        + b"\r\n"
        + f"{len(body) - 10:x}\r\n".encode()
        + body[10:]
        + b"\r\n0\r\n\r\n"
    )
    answer = raw_exchange(stack, request)
    assert answer.startswith(b"HTTP/1.1 202 ")
    assert answer.endswith(b'{"status":"accepted"}')


def test_a_garbled_content_length_gets_a_400_not_a_dropped_connection(stack: Stack) -> None:
    answer = raw_exchange(
        stack, b"POST /v1/password-resets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
