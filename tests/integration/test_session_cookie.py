"""The session cookie is ``__Host-portal_session``, and a request with two or more cookies of that
name is not signed in (security review #24, item 7).

The ``__Host-`` prefix makes a browser accept the cookie only with ``Secure``, ``Path=/`` and no
``Domain``, set by the API's own host: a sibling subdomain (another firm's portal on the same
parent domain, a forgotten marketing site) can no longer plant a session cookie of its own beside
the holder's. Whoever still manages to add a second one must not get either of them believed:
which one a server reads first is an accident of ordering, so the request is refused.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest

from devstack.gateway import HttpRequest
from support.api import Api, Result, gateway
from support.demo_accounts import ANNA, OWNER
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import sent_messages, token_from

COOKIE = "__Host-portal_session"
NEW_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"


def set_cookie(result: Result) -> dict[str, str | bool]:
    """The one Set-Cookie of an answer: its name, value and attributes (lower-case keys)."""
    [header] = result.raw.header_values("Set-Cookie")
    name_value, *attributes = [part.strip() for part in header.split(";")]
    name, _, value = name_value.partition("=")
    parsed: dict[str, str | bool] = {"name": name, "value": value}
    for attribute in attributes:
        key, sep, val = attribute.partition("=")
        parsed[key.lower()] = val if sep else True
    return parsed


def assert_host_prefixed(cookie: dict[str, str | bool]) -> None:
    """What a browser demands of a ``__Host-`` cookie before it keeps it, and what we add."""
    assert cookie["name"] == COOKIE
    assert cookie.get("secure") is True and cookie.get("path") == "/" and "domain" not in cookie
    assert cookie.get("httponly") is True and cookie.get("samesite") == "Lax"


def test_every_answer_that_sets_or_ends_a_session_uses_the_host_prefixed_cookie(
    api: Api, demo: dict[str, Any]
) -> None:
    signed_in = api.post("/v1/sessions", {"email": demo[ANNA]["email"], "password": demo[ANNA]["password"]})
    cookie = set_cookie(signed_in)
    assert_host_prefixed(cookie)
    assert cookie["value"] == signed_in.body["session"]["token"]

    changed = api.post(
        "/v1/sessions/current/password",
        {"current_password": demo[ANNA]["password"], "new_password": NEW_PASSWORD},
        token=signed_in.body["session"]["token"],
    )
    assert changed.status == 200, changed.body
    assert_host_prefixed(set_cookie(changed))

    owner = api.sign_in_as(demo[OWNER])
    assert api.post(f"/v1/accounts/{ANNA}/password-reset", token=owner).status == 202
    link = token_from(sent_messages()[-1])
    confirmed = api.post(
        "/v1/password-resets/confirm", {"token": link, "password": "Kastanienallee im Herbstregen"}
    )
    assert confirmed.status == 200, confirmed.body
    session = set_cookie(confirmed)
    assert_host_prefixed(session)

    signed_out = api.request(
        "DELETE",
        "/v1/sessions/current",
        headers={"Cookie": f"{COOKIE}={session['value']}", "X-Requested-With": "fetch"},
    )
    assert signed_out.status == 204
    cleared = set_cookie(signed_out)
    # A browser ignores even a clearing __Host- cookie without these attributes.
    assert_host_prefixed(cleared)
    assert (cleared["value"], cleared.get("max-age")) == ("", "0")
    # The standard library reads the answer's cookie under the prefixed name, as browsers do.
    parsed = SimpleCookie()
    parsed.load(str(signed_in.raw.header_values("Set-Cookie")[0]))
    assert list(parsed) == [COOKIE]


@pytest.mark.parametrize(
    "order",
    ["genuine first", "forged first", "two genuine sessions", "genuine and empty"],
)
def test_two_session_cookies_in_one_request_sign_nobody_in(
    api: Api, demo: dict[str, Any], order: str
) -> None:
    """Cookie tossing: whoever can add a cookie for the API's host (a script on a sibling domain
    before the prefix, a man in the middle on plain http) puts their own session beside the
    holder's, so the holder acts in the attacker's account, or the other way round."""
    owner, anna = api.sign_in_as(demo[OWNER]), api.sign_in_as(demo[ANNA])
    pairs = {
        "genuine first": (owner, "forged-0123456789"),
        "forged first": ("forged-0123456789", owner),
        "two genuine sessions": (owner, anna),
        "genuine and empty": (owner, ""),
    }[order]
    cookie = {"Cookie": f"theme=dark; {COOKIE}={pairs[0]}; lang=de; {COOKIE}={pairs[1]}"}
    before = recorded()

    current = api.get("/v1/sessions/current", headers=cookie)
    staff_send = api.post(f"/v1/accounts/{ANNA}/password-reset", {}, headers=cookie)

    assert (current.status, current.error_code) == (401, "unauthorized")
    assert (staff_send.status, staff_send.error_code) == (401, "unauthorized")
    assert sent_messages() == []
    assert_nothing_recorded_since(before)
    # Each of them alone is still a session (the refusal is about the pair, not the tokens).
    assert api.get("/v1/sessions/current", headers={"Cookie": f"{COOKIE}={owner}"}).status == 200


def test_session_cookies_in_two_cookie_headers_count_as_two(api: Api, demo: dict[str, Any]) -> None:
    """HTTP/2 may send each cookie in a header line of its own; API Gateway keeps every line in
    ``multiValueHeaders`` (``headers`` holds only the last, which alone would look fine)."""
    owner = api.sign_in_as(demo[OWNER])

    def current(*cookie_lines: str) -> int:
        headers = [("Accept", "application/json"), *(("Cookie", line) for line in cookie_lines)]
        request = HttpRequest(method="GET", path="/v1/sessions/current", query="", headers=headers, body=b"")
        return gateway().handle(request).status

    assert current(f"{COOKIE}=forged-0123456789", f"{COOKIE}={owner}") == 401
    assert current("theme=dark", f"{COOKIE}={owner}") == 200


def test_the_old_cookie_name_signs_nobody_in(api: Api, demo: dict[str, Any]) -> None:
    owner = api.sign_in_as(demo[OWNER])

    refused = api.get("/v1/sessions/current", headers={"Cookie": f"portal_session={owner}"})

    assert (refused.status, refused.error_code) == (401, "unauthorized")


def test_a_bearer_token_is_believed_whatever_cookies_come_with_it(api: Api, demo: dict[str, Any]) -> None:
    """A bearer token is never sent by a browser on its own accord, so planted cookies cannot
    change whose it is."""
    owner = api.sign_in_as(demo[OWNER])
    cookie = {"Cookie": f"{COOKIE}=forged-0123456789; {COOKIE}=forged-9876543210"}

    current = api.get("/v1/sessions/current", token=owner, headers=cookie)

    assert current.status == 200
    assert current.body["account"]["account_id"] == OWNER
