"""NUL and lone surrogates in any string field of any route are a 400 that names the field, and
nothing is recorded (security review #14, item 6). A lone surrogate cannot be stored or mailed as
UTF-8, and a NUL ends strings early in other systems: neither is ever a legitimate value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.api import Api
from support.demo_accounts import ANNA, OWNER
from support.recorded import assert_nothing_recorded_since, recorded

TOKEN = "A" * 43
PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"

# (method, path, valid body, how it is authenticated)
ROUTES: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/v1/password-resets", {"email": "anna.schmidt@example.com", "locale": "de"}, "none"),
    ("POST", "/v1/password-resets/verify", {"token": TOKEN}, "none"),
    ("POST", "/v1/password-resets/confirm", {"token": TOKEN, "password": PASSWORD}, "none"),
    ("POST", "/v1/sessions", {"email": "anna.schmidt@example.com", "password": PASSWORD}, "none"),
    (
        "POST",
        "/v1/sessions/current/password",
        {"current_password": PASSWORD, "new_password": PASSWORD},
        "anna",
    ),
    (
        "PUT",
        "/v1/admin/firms/firm-berger",
        {"name": "Berger", "locale": "de", "time_zone": "Europe/Berlin"},
        "sigv4",
    ),
    (
        "PUT",
        f"/v1/admin/accounts/{ANNA}",
        {"firm_id": "firm-berger", "role": "client", "email": "anna.schmidt@example.com", "name": "Anna"},
        "sigv4",
    ),
]
CASES = [
    (method, path, body, auth, field, evil)
    for method, path, body, auth in ROUTES
    for field, value in body.items()
    if isinstance(value, str)
    for evil in ("\x00", "\ud800")
]


def raw_json(body: dict[str, Any]) -> bytes:
    # json.dumps escapes a lone surrogate as \\ud800, which is how a client would send it.
    return json.dumps(body).encode("ascii")


@pytest.mark.parametrize(
    ("method", "path", "body", "auth", "field", "evil"),
    CASES,
    ids=[f"{m} {p} {f} {'NUL' if e == chr(0) else 'surrogate'}" for m, p, _, _, f, e in CASES],
)
def test_nul_or_a_lone_surrogate_in_any_string_field_is_a_400_naming_it(
    api: Api,
    demo: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any],
    auth: str,
    field: str,
    evil: str,
) -> None:
    tampered = {**body, field: f"ab{evil}cd" if field != "email" else f"anna{evil}@example.com"}
    headers = {"Content-Type": "application/json"}
    if auth == "anna":
        headers["Authorization"] = f"Bearer {api.sign_in_as(demo[ANNA])}"
    before = recorded()  # after Anna's sign-in, which is a record of its own
    if auth == "sigv4":
        result = api.signed(method, path, tampered)
    else:
        result = api.request(method, path, raw_body=raw_json(tampered), headers=headers)

    assert (result.status, result.error_code) == (400, "invalid_request"), result.body
    if field != "email":  # a bad address may not parse as one at all, so it has no field of its own
        assert field in result.body["error"].get("fields", []), result.body
    assert_nothing_recorded_since(before)  # no table, mail or queue touched


@pytest.mark.parametrize("path", ["/v1/accounts/acc%00x/password-reset", "/v1/accounts/acc%00x/invitation"])
def test_nul_in_a_path_parameter_is_a_400(api: Api, demo: dict[str, Any], path: str) -> None:
    from urllib.parse import unquote

    petra = api.sign_in_as(demo[OWNER])
    before = recorded()
    result = api.post(unquote(path), {}, token=petra)
    assert (result.status, result.error_code) == (400, "invalid_request")
    assert_nothing_recorded_since(before)
