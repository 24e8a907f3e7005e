"""Twenty browsers confirm the same link at once, over HTTP against a local stack of their own:
exactly one sets the password, the others are told the link is used, and the account is
consistent. The requests leave together (a barrier) and the stack shows they were handled at the
same time: its ConfirmResetFunction had several execution environments busy at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.local_stack import Stack, mail_ids, sign_in, start_stack, stop_stack, wait_for_mail
from support.races import all_at_once

pytestmark = pytest.mark.e2e

OWNER = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
CLARA = ("acc-berger-client-complaint", "complaint@simulator.amazonses.com")


@pytest.fixture(scope="module")
def racing_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own stack, so the busy-environment peak it reports is this race's alone."""
    stack = start_stack(tmp_path_factory.mktemp("race"))
    yield stack
    assert stop_stack(stack) == 0, stack.output()


def test_twenty_concurrent_confirms_one_winner(racing_stack: Stack) -> None:
    stack = racing_stack
    before = mail_ids(stack)
    owner = sign_in(stack, *OWNER)
    sent = stack.post(f"/v1/accounts/{CLARA[0]}/password-reset", headers={"Authorization": f"Bearer {owner}"})
    assert sent.status == 202, sent.body
    token = wait_for_mail(stack, CLARA[1], before)["links"][0].split("#token=", 1)[1]
    passwords = [f"Wolkenkratzer im Nebel Nummer {i:02d}" for i in range(20)]

    def confirm(index: int) -> tuple[int, str]:
        response = stack.post("/v1/password-resets/confirm", {"token": token, "password": passwords[index]})
        return response.status, response.json().get("error", {}).get("code", "")

    results = all_at_once(20, confirm)

    confirms = stack.get("/_dev/health").json()["functions"]["ConfirmResetFunction"]
    assert confirms["peak_busy"] >= 2, f"the confirms never ran at the same time: {confirms}"
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 1, results
    assert {code for status, code in results if status != 200} == {"token_used"}
    winner = passwords[statuses.index(200)]
    # Only the winning password signs in; every loser's does not.
    assert stack.post("/v1/sessions", {"email": CLARA[1], "password": winner}).status == 201
    for loser in passwords[:3]:
        if loser != winner:
            assert stack.post("/v1/sessions", {"email": CLARA[1], "password": loser}).status == 401
