"""Twenty browsers confirm the same link at once, over HTTP against the local stack: exactly one
sets the password, the others are told the link is used, and the account is consistent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from support.local_stack import Stack, mail_ids, sign_in, wait_for_mail

pytestmark = pytest.mark.e2e

OWNER = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
CLARA = ("acc-berger-client-complaint", "complaint@simulator.amazonses.com")


def test_twenty_concurrent_confirms_one_winner(stack: Stack) -> None:
    before = mail_ids(stack)
    owner = sign_in(stack, *OWNER)
    sent = stack.post(f"/v1/accounts/{CLARA[0]}/password-reset", headers={"Authorization": f"Bearer {owner}"})
    assert sent.status == 202, sent.body
    token = wait_for_mail(stack, CLARA[1], before)["links"][0].split("#token=", 1)[1]
    passwords = [f"Wolkenkratzer im Nebel Nummer {i:02d}" for i in range(20)]

    def confirm(password: str) -> tuple[int, str]:
        response = stack.post("/v1/password-resets/confirm", {"token": token, "password": password})
        return response.status, response.json().get("error", {}).get("code", "")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(confirm, passwords))

    statuses = [status for status, _ in results]
    assert statuses.count(200) == 1, results
    assert {code for status, code in results if status != 200} == {"token_used"}
    winner = passwords[statuses.index(200)]
    # Only the winning password signs in; every loser's does not.
    assert stack.post("/v1/sessions", {"email": CLARA[1], "password": winner}).status == 201
    for loser in passwords[:3]:
        if loser != winner:
            assert stack.post("/v1/sessions", {"email": CLARA[1], "password": loser}).status == 401
