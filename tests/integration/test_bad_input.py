"""Garbage on every public route: always the contract's error shape, never a 5xx or a trace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.api import Api
from support.recorded import Recorded, assert_nothing_recorded_since, recorded

JSON_ROUTES = {
    "/v1/password-resets": {"email": "anna.schmidt@example.com"},
    "/v1/password-resets/verify": {"token": "A" * 43},
    "/v1/password-resets/confirm": {"token": "A" * 43, "password": "correct horse battery staple"},
    "/v1/sessions": {"email": "anna.schmidt@example.com", "password": "correct horse battery staple"},
}

GARBAGE: list[tuple[str, bytes, str]] = [
    ("malformed json", b'{"email": ', "application/json"),
    ("json array", b"[1, 2]", "application/json"),
    ("json string", b'"hello"', "application/json"),
    ("null", b"null", "application/json"),
    ("empty object", b"{}", "application/json"),
    ("wrong types", b'{"email": 42, "token": ["x"], "password": {"a": 1}}', "application/json"),
    ("over 16 KiB", json.dumps({"email": "a@example.com", "pad": "x" * 17000}).encode(), "application/json"),
    ("invalid utf-8", b'{"email": "\xff\xfe@example.com"}', "application/json"),
    (
        "lone surrogate escape",
        b'{"email": "\\ud800@example.com", "token": "\\ud800", "password": "\\ud800"}',
        "application/json",
    ),
    ("form encoded", b"email=anna.schmidt%40example.com", "application/x-www-form-urlencoded"),
    # An empty body declared as something other than JSON was a 500 (security review #14, item 1).
    ("empty text plain", b"", "text/plain"),
    ("empty form", b"", "application/x-www-form-urlencoded"),
    ("empty no content type", b"", ""),
    ("text plain", json.dumps({"email": "anna.schmidt@example.com"}).encode(), "text/plain"),
    ("no content type", json.dumps({"email": "anna.schmidt@example.com"}).encode(), ""),
    ("nan", b'{"email": NaN}', "application/json"),
    ("deep nesting", b'{"email": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),
]


def assert_contract_error(result: Any, status: int, code: str, before: Recorded) -> None:
    """The contract's status and code in its one error shape, no trace, and nothing recorded."""
    assert (result.status, result.error_code) == (status, code), result.body
    assert isinstance(result.body, dict), result.body
    assert set(result.body) == {"error"}
    assert result.body["error"]["message"]
    assert "Traceback" not in json.dumps(result.body)
    assert_nothing_recorded_since(before)


@pytest.mark.parametrize("route", list(JSON_ROUTES))
@pytest.mark.parametrize(("case", "body", "content_type"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_garbage_is_a_400(
    api: Api, demo: dict[str, Any], route: str, case: str, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    before = recorded()
    result = api.request("POST", route, raw_body=body, headers=headers)
    assert_contract_error(result, 400, "invalid_request", before)


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/password-resets", {"email": "a" * 250 + "@example.com"}),
        ("/v1/password-resets", {"email": "anna\x00@example.com"}),
        ("/v1/password-resets", {"email": "anna@exa\nmple.com"}),
        ("/v1/password-resets", {"email": "anna.schmidt@example.com", "locale": 7}),
        ("/v1/password-resets/verify", {"token": "A" * 600}),
        ("/v1/password-resets/confirm", {"token": "A" * 43, "password": "p" * 2000}),
        ("/v1/password-resets/confirm", {"token": "A" * 43}),
        ("/v1/sessions", {"email": "x" * 400, "password": "y"}),
        ("/v1/sessions", {"email": "anna.schmidt@example.com"}),
    ],
)
def test_overlong_or_missing_fields_are_a_400(api: Api, demo: dict[str, Any], route: str, body: Any) -> None:
    before = recorded()
    result = api.post(route, body)
    assert_contract_error(result, 400, "invalid_request", before)


@pytest.mark.parametrize("token", ["\u202e" * 43, "../../etc/passwd" + "A" * 27, "' OR 1=1 --"])
def test_hostile_tokens_are_simply_invalid(api: Api, demo: dict[str, Any], token: str) -> None:
    for route in ("verify", "confirm"):
        before = recorded()
        result = api.post(
            f"/v1/password-resets/{route}", {"token": token, "password": "correct horse battery staple"}
        )
        assert_contract_error(result, 404, "token_invalid", before)


def test_password_of_129_code_points_is_a_policy_violation_not_a_crash(
    api: Api, demo: dict[str, Any]
) -> None:
    api.post("/v1/password-resets", {"email": demo["acc-berger-client-anna"]["email"]})
    from support.sent_mail import sent_messages, token_from

    raw = token_from(sent_messages()[-1])
    umlauts = (
        "Über den Dächern von Köln läuft die Zeit gemächlich, während Bäcker früh Brötchen schieben "
        "und Möwen über die Brücke ziehen, ganz ohne Eile."
    )[:129]
    assert len(umlauts) == 129 and len(umlauts.encode("utf-8")) > 129
    result = api.post("/v1/password-resets/confirm", {"token": raw, "password": umlauts})
    assert result.status == 422
    assert [v["rule"] for v in result.body["error"]["violations"]] == ["too_long"]
    # Control characters are allowed characters, not an error, but the policy still applies.
    result = api.post(
        "/v1/password-resets/confirm", {"token": raw, "password": "tab\there and a bell\x07 too long"}
    )
    assert result.status == 200, result.body


def test_staff_route_with_garbage_path_and_body(api: Api, demo: dict[str, Any]) -> None:
    token = api.sign_in_as(demo["acc-berger-owner"])
    before = recorded()
    for account_id in ("%00", "a" * 300, "..%2F..%2Fetc", "acc-berger-client-anna%20OR%201"):
        result = api.post(f"/v1/accounts/{account_id}/password-reset", token=token)
        assert_contract_error(result, 404, "account_not_found", before)
    # A real NUL (not its URL escape) is no id at all (see test_unicode_fields.py).
    nul = api.post("/v1/accounts/acc\x00x/password-reset", token=token)
    assert (nul.status, nul.error_code) == (400, "invalid_request")
    result = api.request(
        "POST",
        "/v1/accounts/acc-berger-client-anna/password-reset",
        token=token,
        raw_body=b"\xff" * 20000,
        headers={"Content-Type": "application/json"},
    )
    assert_contract_error(result, 400, "invalid_request", before)


def test_wrong_method_is_the_gateways_403_in_the_contract_shape(api: Api, demo: dict[str, Any]) -> None:
    """API Gateway answers a method a resource does not have as it answers an unsigned request to an
    AWS_IAM route (MISSING_AUTHENTICATION_TOKEN); the template gives both the contract's shape."""
    before = recorded()
    for method in ("GET", "PUT", "PATCH"):
        result = api.request(method, "/v1/password-resets")
        assert_contract_error(result, 403, "forbidden", before)


def test_cors_admits_the_portal_origin_only(api: Api, demo: dict[str, Any]) -> None:
    portal = api.post(
        "/v1/password-resets", {"email": "x@example.com"}, headers={"Origin": "https://portal.example.com"}
    )
    assert portal.header("Access-Control-Allow-Origin") == "https://portal.example.com"
    assert portal.header("Access-Control-Allow-Credentials") == "true"
    evil = api.post(
        "/v1/password-resets", {"email": "x@example.com"}, headers={"Origin": "https://evil.example"}
    )
    assert evil.header("Access-Control-Allow-Origin") is None
