"""``GET /v1/accounts``: the clients of the caller's firm, for a portal's client list (staff only)."""

from __future__ import annotations

from typing import Any

from support.accounts import set_login
from support.api import Api
from support.recorded import assert_nothing_recorded_since, recorded

BERGER_CLIENTS = [
    "Anna Schmidt",
    "Bruno Bounce",
    "Clara Complaint",
    "James Miller",
    "Karl Vogel",
    "Sophie Wagner",
]


def test_staff_see_their_own_firms_clients_sorted_by_name(api: Api, demo: dict[str, Any]) -> None:
    owner = api.sign_in_as(demo["acc-berger-owner"])

    listed = api.get("/v1/accounts", token=owner)

    assert listed.status == 200, listed.body
    assert listed.header("Cache-Control") == "no-store"
    accounts = listed.body["accounts"]
    assert [a["name"] for a in accounts] == BERGER_CLIENTS  # no owner, no member, no other firm
    karl = next(a for a in accounts if a["name"] == "Karl Vogel")
    assert karl == {
        "account_id": "acc-berger-client-archived",
        "name": "Karl Vogel",
        "email": "karl.vogel@example.com",
        "status": "archived",
        "has_password": True,
        "email_status": "ok",
    }
    # A team member sees the same list; the other firm's owner sees only her own client.
    member = api.sign_in_as(demo["acc-berger-member"])
    assert api.get("/v1/accounts", token=member).body == listed.body
    hartmann = api.sign_in_as(demo["acc-hartmann-owner"])
    hartmann_clients = api.get("/v1/accounts", token=hartmann).body["accounts"]
    assert [a["name"] for a in hartmann_clients] == ["Maria Lopez", "Sophie Wagner"]
    # Sophie is a client of both firms: each firm sees its own account of her, not the other's.
    assert {a["account_id"] for a in accounts} & {a["account_id"] for a in hartmann_clients} == set()


def test_a_new_client_without_a_password_and_a_condemned_address_show_as_such(
    api: Api, demo: dict[str, Any]
) -> None:
    body = {"firm_id": "firm-berger", "role": "client", "email": "aaron.neu@example.com", "name": "aaron Neu"}
    assert api.signed("PUT", "/v1/admin/accounts/acc-aaron", body).status == 201
    set_login(demo["acc-berger-client-bounce"]["email"], email_status="undeliverable")
    owner = api.sign_in_as(demo["acc-berger-owner"])

    accounts = api.get("/v1/accounts", token=owner).body["accounts"]

    assert accounts[0]["name"] == "aaron Neu"  # sorted without regard to case
    assert (accounts[0]["has_password"], accounts[0]["status"]) == (False, "active")
    bruno = next(a for a in accounts if a["account_id"] == "acc-berger-client-bounce")
    assert bruno["email_status"] == "undeliverable"


def test_an_account_being_erased_is_not_listed(api: Api, demo: dict[str, Any]) -> None:
    from pwreset.storage.models import Account

    Account.get("acc-berger-client-james").update(actions=[Account.status.set("erasing")])
    owner = api.sign_in_as(demo["acc-berger-owner"])

    names = [a["name"] for a in api.get("/v1/accounts", token=owner).body["accounts"]]

    assert "James Miller" not in names and "Anna Schmidt" in names


def test_clients_are_forbidden_and_strangers_unauthorized(api: Api, demo: dict[str, Any]) -> None:
    anna = api.sign_in_as(demo["acc-berger-client-anna"])
    before = recorded()

    forbidden = api.get("/v1/accounts", token=anna)
    nobody = api.get("/v1/accounts")

    assert (forbidden.status, forbidden.error_code) == (403, "forbidden")
    assert "accounts" not in forbidden.body
    assert (nobody.status, nobody.error_code) == (401, "unauthorized")
    assert_nothing_recorded_since(before)


def test_the_portal_session_cookie_is_enough(api: Api, demo: dict[str, Any]) -> None:
    owner = api.sign_in_as(demo["acc-berger-owner"])

    listed = api.get("/v1/accounts", headers={"Cookie": f"__Host-portal_session={owner}"})

    assert listed.status == 200
    assert len(listed.body["accounts"]) == len(BERGER_CLIENTS)
