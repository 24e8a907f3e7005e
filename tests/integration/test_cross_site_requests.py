"""A page on another site can make a browser send the __Host-portal_session cookie with a form post
(SameSite=Lax admits top-level POSTs from the same site, and older browsers more). Every unsafe
request authenticated by the cookie must therefore say it comes from script: a JSON content type
(which a form cannot send) or an X-Requested-With header (which a form cannot set); a bearer token
is never sent by a browser on its own (security review #14, item 1)."""

from __future__ import annotations

from typing import Any

import pytest

from support.api import Api
from support.demo_accounts import ANNA, OWNER
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import sent_messages

STAFF_SEND = f"/v1/accounts/{ANNA}/password-reset"


def cookie(api: Api, demo: dict[str, Any], account: str) -> dict[str, str]:
    return {"Cookie": f"__Host-portal_session={api.sign_in_as(demo[account])}"}


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, b""),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b""),
        ({"Content-Type": "text/plain"}, b"{}"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
    ],
    ids=["no body", "form", "text/plain", "multipart"],
)
def test_a_form_like_post_with_the_session_cookie_is_refused_and_sends_nothing(
    api: Api, demo: dict[str, Any], headers: dict[str, str], body: bytes
) -> None:
    owners_cookie = cookie(api, demo, OWNER)
    before = recorded()

    result = api.request("POST", STAFF_SEND, raw_body=body, headers={**owners_cookie, **headers})

    assert (result.status, result.error_code) == (400, "invalid_request")
    assert sent_messages() == []
    assert_nothing_recorded_since(before)


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "application/json"}, {"X-Requested-With": "XMLHttpRequest"}],
    ids=["json", "x-requested-with"],
)
def test_a_script_request_with_the_cookie_is_served(
    api: Api, demo: dict[str, Any], headers: dict[str, str]
) -> None:
    body = b"{}" if "Content-Type" in headers else b""
    result = api.request("POST", STAFF_SEND, raw_body=body, headers={**cookie(api, demo, OWNER), **headers})
    assert result.status == 202, result.body
    assert len(sent_messages()) == 1


def test_a_bearer_token_needs_no_such_proof(api: Api, demo: dict[str, Any]) -> None:
    token = api.sign_in_as(demo[OWNER])
    assert api.request("POST", STAFF_SEND, token=token).status == 202


def test_sign_out_by_cookie_needs_the_proof_too(api: Api, demo: dict[str, Any]) -> None:
    session = cookie(api, demo, ANNA)
    before = recorded()
    refused = api.request("DELETE", "/v1/sessions/current", headers=session)
    assert (refused.status, refused.error_code) == (400, "invalid_request")
    assert_nothing_recorded_since(before)  # the session is still there, as it was
    assert api.get("/v1/sessions/current", headers=session).status == 200  # still signed in

    done = api.request("DELETE", "/v1/sessions/current", headers={**session, "X-Requested-With": "fetch"})
    assert done.status == 204
    assert api.get("/v1/sessions/current", headers=session).status == 401
