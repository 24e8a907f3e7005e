"""One login across firms over HTTP against ``make dev`` (issue #22): Sophie Wagner of the demo data,
a client of both demo firms with one address and one password, signs in with and without a firm and
switches between them; staff rights follow the account a session acts as; twenty concurrent PUTs of
one address across five firms make one login and one account per firm."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.seed import accounts_by_id, load_demo_data
from support.local_stack import Stack, sign_in
from support.races import all_at_once

pytestmark = pytest.mark.e2e

DEMO = accounts_by_id(load_demo_data())
SOPHIE = DEMO["acc-berger-client-sophie"]
SWITCH = "/v1/sessions/current/account"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(stack: Stack, body: dict[str, Any]) -> Any:
    return stack.post("/v1/sessions", body)


def test_a_client_of_both_demo_firms_signs_in_with_and_without_a_firm_and_switches(stack: Stack) -> None:
    credentials = {"email": SOPHIE["email"], "password": SOPHIE["password"]}
    at_hartmann = signed_in(stack, {**credentials, "firm_id": "firm-hartmann"})
    assert at_hartmann.status == 201, at_hartmann.body
    document = at_hartmann.json()
    assert document["account"]["account_id"] == "acc-hartmann-client-sophie"
    assert [(a["account_id"], a["firm_name"]) for a in document["accounts"]] == [
        ("acc-berger-client-sophie", "Steuerkanzlei Berger & Partner"),
        ("acc-hartmann-client-sophie", "Hartmann Tax Advisors"),
    ]
    # Without a firm: the one used last.
    assert signed_in(stack, credentials).json()["account"]["account_id"] == "acc-hartmann-client-sophie"

    token = document["session"]["token"]
    switched = stack.request(
        "PUT", SWITCH, json_body={"account_id": "acc-berger-client-sophie"}, headers=bearer(token)
    )
    assert switched.status == 200, switched.body
    assert switched.json()["account"]["firm_id"] == "firm-berger"
    assert (
        stack.get("/v1/sessions/current", headers=bearer(token)).json()["account"]["firm_id"] == "firm-berger"
    )
    assert signed_in(stack, credentials).json()["account"]["account_id"] == "acc-berger-client-sophie"

    # Another person's account is no account of hers: 404, and the session still acts as before.
    refused = stack.request(
        "PUT", SWITCH, json_body={"account_id": "acc-hartmann-client-maria"}, headers=bearer(token)
    )
    assert (refused.status, refused.json()["error"]["code"]) == (404, "account_not_found")
    assert (
        stack.get("/v1/sessions/current", headers=bearer(token)).json()["account"]["firm_id"] == "firm-berger"
    )


def test_a_firm_where_the_login_has_no_account_is_the_same_401_as_a_wrong_password(stack: Stack) -> None:
    anna = DEMO["acc-berger-client-anna"]
    answers = [
        signed_in(stack, {"email": anna["email"], "password": anna["password"], "firm_id": "firm-hartmann"}),
        signed_in(stack, {"email": anna["email"], "password": anna["password"], "firm_id": "firm-nowhere"}),
        signed_in(
            stack, {"email": anna["email"], "password": "certainly not hers", "firm_id": "firm-berger"}
        ),
    ]
    assert {a.status for a in answers} == {401}
    assert len({a.body for a in answers}) == 1


def test_staff_rights_follow_the_account_a_session_acts_as(stack: Stack) -> None:
    tom = DEMO["acc-hartmann-member"]  # a team member of Hartmann's, and now a client of Berger's
    body = {"firm_id": "firm-berger", "role": "client", "email": tom["email"], "name": "Tom Fischer"}
    created = stack.signed("PUT", "/v1/admin/accounts/acc-berger-client-tom", body)
    assert created.status == 201, created.body
    assert created.json()["account"]["has_password"] is True  # his login's password opens it

    token = sign_in(stack, tom["email"], tom["password"])
    at_berger = stack.request(
        "PUT", SWITCH, json_body={"account_id": "acc-berger-client-tom"}, headers=bearer(token)
    )
    assert at_berger.status == 200, at_berger.body
    assert stack.get("/v1/accounts", headers=bearer(token)).status == 403
    sent = stack.post("/v1/accounts/acc-hartmann-client-maria/password-reset", headers=bearer(token))
    assert sent.status == 403

    back = stack.request(
        "PUT", SWITCH, json_body={"account_id": "acc-hartmann-member"}, headers=bearer(token)
    )
    assert back.status == 200
    listed = stack.get("/v1/accounts", headers=bearer(token))
    assert listed.status == 200
    ids = {c["account_id"] for c in listed.json()["accounts"]}
    assert "acc-hartmann-client-maria" in ids and "acc-berger-client-anna" not in ids
    other_firm = stack.post("/v1/accounts/acc-berger-client-anna/password-reset", headers=bearer(token))
    assert other_firm.status == 404


def test_twenty_concurrent_puts_across_five_firms_make_one_login_and_one_account_per_firm(
    stack: Stack,
) -> None:
    firms = [f"firm-e2e-race-{n}" for n in range(5)]
    for firm_id in firms:
        assert stack.signed("PUT", f"/v1/admin/firms/{firm_id}", {"name": f"Kanzlei {firm_id}"}).status == 201
    address = "e2e.race@example.com"

    def put(n: int) -> tuple[int, str]:
        body = {"firm_id": firms[n % 5], "role": "client", "email": address, "name": f"Race {n}"}
        answer = stack.signed("PUT", f"/v1/admin/accounts/acc-e2e-race-{n}", body)
        return answer.status, (answer.json().get("error") or {}).get("code", "")

    results = all_at_once(20, put)

    created = [n for n, (status, _) in enumerate(results) if status == 201]
    assert sorted(n % 5 for n in created) == [0, 1, 2, 3, 4], results
    assert [r for n, r in enumerate(results) if n not in created] == [(409, "email_taken")] * 15
    items = stack.aws("dynamodb").query(
        TableName=stack.table("LoginsTable"),
        KeyConditionExpression="email = :e",
        ExpressionAttributeValues={":e": {"S": address}},
        ConsistentRead=True,
    )["Items"]
    by_item = {i["item"]["S"]: i for i in items}
    assert set(by_item) == {"login", *(f"firm#{f}" for f in firms)}
    assert by_item["login"]["account_count"] == {"N": "5"}
