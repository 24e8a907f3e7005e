"""Each handler invoked directly with its sample event from ``events/``, as ``sam local invoke -e``
would, so the committed events stay valid and the handlers read real API Gateway shapes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from support.api import Api, gateway
from support.environment import TEMPLATE
from support.recorded import assert_nothing_recorded_since, recorded
from support.samples import load_event
from support.sent_mail import sent_messages, token_from

ROUTE_EVENTS = {
    ("POST", "/v1/password-resets"): "request_reset_self_service.json",
    ("POST", "/v1/accounts/{account_id}/password-reset"): "request_reset_staff.json",
    ("POST", "/v1/password-resets/verify"): "confirm_reset_verify.json",
    ("POST", "/v1/password-resets/confirm"): "confirm_reset_confirm.json",
    ("POST", "/v1/account-locks"): "confirm_reset_lock.json",
    ("POST", "/v1/sessions"): "sessions_sign_in.json",
    ("GET", "/v1/sessions/current"): "sessions_current.json",
    ("DELETE", "/v1/sessions/current"): "sessions_sign_out.json",
    ("PUT", "/v1/sessions/current/account"): "sessions_switch_account.json",
    ("GET", "/reset"): "reset_page_get.json",
    ("GET", "/help/reset-email"): "reset_page_help.json",
    ("GET", "/reset/assets/{name}"): "reset_page_asset.json",
    ("GET", "/v1/openapi.json"): "reset_page_openapi.json",
    ("POST", "/v1/webhooks/ses"): "ses_events_webhook.json",
    ("GET", "/v1/accounts/{account_id}/password-reset/deliveries"): "ses_events_deliveries.json",
    ("POST", "/v1/accounts/{account_id}/invitation"): "request_reset_invitation.json",
    ("POST", "/v1/sessions/current/password"): "sessions_change_password.json",
    ("GET", "/v1/accounts"): "sessions_firm_clients.json",
    ("PUT", "/v1/admin/firms/{firm_id}"): "provisioning_put_firm.json",
    ("GET", "/v1/admin/firms/{firm_id}"): "provisioning_get_firm.json",
    ("PUT", "/v1/admin/accounts/{account_id}"): "provisioning_put_account.json",
    ("GET", "/v1/admin/accounts/{account_id}"): "provisioning_get_account.json",
    ("DELETE", "/v1/admin/accounts/{account_id}"): "provisioning_delete_account.json",
}


def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return dict(gateway().runner.invoke(function, event))


def with_principal(event: dict[str, Any], demo: dict[str, Any], account_id: str) -> dict[str, Any]:
    acc = demo[account_id]
    event["requestContext"]["authorizer"].update(
        {
            "principalId": account_id,
            "account_id": account_id,
            "firm_id": acc["firm_id"],
            "role": acc["role"],
            "name": acc["name"],
            "locale": acc["locale"],
            "email": acc["email"],
        }
    )
    return event


def test_every_template_route_has_a_sample_event() -> None:
    routes = {(r.method, r.path) for r in TEMPLATE.api_routes()}
    assert set(ROUTE_EVENTS) == routes
    for (method, path), name in ROUTE_EVENTS.items():
        event = load_event(name)
        assert (event["httpMethod"], event["resource"]) == (method, path)


def test_self_service_event(demo: dict[str, Any]) -> None:
    event = load_event("request_reset_self_service.json")
    result = invoke("RequestResetFunction", event)
    assert result["statusCode"] == 202
    assert json.loads(result["body"]) == {"status": "accepted"}
    assert sent_messages() == []  # the link is the queue's function's to send


def test_self_service_queue_event(demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from pwreset.credentials import resets

    event = load_event("self_service_reset.json")
    queued = datetime.fromisoformat(json.loads(event["Records"][0]["body"])["requested_at"])
    monkeypatch.setattr(resets, "_now", lambda: queued + timedelta(minutes=1))  # handled at once
    result = invoke("SelfServiceResetFunction", event)
    assert result == {"batchItemFailures": []}
    [mail] = sent_messages()
    assert mail.destinations["ToAddresses"] == ["anna.schmidt@example.com"]
    assert "Passwort" in mail.subject  # Anna reads German


def test_staff_event_with_authorizer_context(demo: dict[str, Any]) -> None:
    event = with_principal(load_event("request_reset_staff.json"), demo, "acc-berger-owner")
    result = invoke("RequestResetFunction", event)
    assert result["statusCode"] == 202, result["body"]
    assert json.loads(result["body"])["sent_to"] == "a***@example.com"


def test_verify_and_confirm_events_record_the_gateways_source_ip(demo: dict[str, Any], api: Api) -> None:
    from pwreset.storage.models import Event

    api.post("/v1/password-resets", {"email": "anna.schmidt@example.com"})
    raw = token_from(sent_messages()[-1])
    verify = load_event("confirm_reset_verify.json")
    verify["body"] = json.dumps({"token": raw})
    assert invoke("ConfirmResetFunction", verify)["statusCode"] == 200

    confirm = load_event("confirm_reset_confirm.json")
    confirm["body"] = json.dumps({"token": raw, "password": "correct horse battery staple"})
    result = invoke("ConfirmResetFunction", confirm)
    assert result["statusCode"] == 200, result["body"]
    assert any(c.startswith("__Host-portal_session=") for c in result["multiValueHeaders"]["Set-Cookie"])
    [changed] = [e for e in Event.scan() if e.type == "password_changed"]
    # The event's X-Forwarded-For starts with a forgeable 203.0.113.7; the identity is what counts.
    assert changed.detail["source_ip"] == confirm["requestContext"]["identity"]["sourceIp"]
    assert changed.detail["city"] == "Berlin"
    assert str(changed.detail["user_agent"]).startswith("Mozilla/5.0 (Windows NT 10.0")


def test_sign_in_current_and_sign_out_events(demo: dict[str, Any]) -> None:
    sign_in = load_event("sessions_sign_in.json")
    sign_in["body"] = json.dumps(
        {"email": "anna.schmidt@example.com", "password": demo["acc-berger-client-anna"]["password"]}
    )
    result = invoke("SessionsFunction", sign_in)
    assert result["statusCode"] == 201
    session_hash = (
        __import__("hashlib").sha256(json.loads(result["body"])["session"]["token"].encode()).hexdigest()
    )

    current = with_principal(load_event("sessions_current.json"), demo, "acc-berger-client-anna")
    assert json.loads(invoke("SessionsFunction", current)["body"])["account"]["name"] == "Anna Schmidt"

    sign_out = with_principal(load_event("sessions_sign_out.json"), demo, "acc-berger-client-anna")
    sign_out["requestContext"]["authorizer"]["session_hash"] = session_hash
    assert invoke("SessionsFunction", sign_out)["statusCode"] == 204


def test_switch_account_event(demo: dict[str, Any], api: Api) -> None:
    """Sophie, a client of both demo firms, acting at Berger's, switches to her Hartmann account."""
    sophie = demo["acc-berger-client-sophie"]
    token = api.sign_in(sophie["email"], sophie["password"], firm_id="firm-berger")
    event = load_event("sessions_switch_account.json")
    event["requestContext"]["authorizer"]["session_hash"] = (
        __import__("hashlib").sha256(token.encode()).hexdigest()
    )
    result = invoke("SessionsFunction", event)
    assert result["statusCode"] == 200, result["body"]
    body = json.loads(result["body"])
    assert (body["account"]["account_id"], body["account"]["firm_id"]) == (
        "acc-hartmann-client-sophie",
        "firm-hartmann",
    )
    assert {a["firm_name"] for a in body["accounts"]} == {
        "Steuerkanzlei Berger & Partner",
        "Hartmann Tax Advisors",
    }
    assert (
        api.get("/v1/sessions/current", token=token).body["account"]["account_id"]
        == "acc-hartmann-client-sophie"
    )


def test_firm_clients_event(demo: dict[str, Any]) -> None:
    listed = invoke("SessionsFunction", load_event("sessions_firm_clients.json"))  # Petra, an owner
    assert listed["statusCode"] == 200, listed["body"]
    names = [client["name"] for client in json.loads(listed["body"])["accounts"]]
    assert names[0] == "Anna Schmidt" and "Petra Berger" not in names


@pytest.mark.parametrize("header", ["Authorization", "Cookie"])
def test_authorizer_event(demo: dict[str, Any], api: Api, header: str) -> None:
    token = api.sign_in("petra.berger@berger-steuer.example", demo["acc-berger-owner"]["password"])
    event = load_event("authorizer.json")
    event["headers"].pop("Authorization", None)
    event["headers"][header] = (
        f"Bearer {token}" if header == "Authorization" else f"__Host-portal_session={token}"
    )
    policy = invoke("AuthorizerFunction", event)
    assert policy["principalId"] == "acc-berger-owner"
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["context"]["role"] == "owner"
    assert token not in json.dumps(policy)

    event["headers"][header] = "Bearer nope" if header == "Authorization" else "__Host-portal_session=nope"
    with pytest.raises(Exception, match="Unauthorized"):
        invoke("AuthorizerFunction", event)


def test_provisioning_events_as_api_gateway_passes_them_after_its_sigv4_check(demo: dict[str, Any]) -> None:
    firm = invoke("ProvisioningFunction", load_event("provisioning_put_firm.json"))
    assert firm["statusCode"] == 200, firm["body"]  # the demo firm, with the sample's white-label
    read_firm = json.loads(invoke("ProvisioningFunction", load_event("provisioning_get_firm.json"))["body"])
    assert read_firm["firm"]["portal_url"] == "https://mandanten.berger-steuer.example/portal"
    assert read_firm["firm"]["brand"] == {
        "logo_url": "https://mandanten.berger-steuer.example/logo.png",
        "color": "#0f4c3a",
    }
    created = invoke("ProvisioningFunction", load_event("provisioning_put_account.json"))
    assert created["statusCode"] == 201, created["body"]
    assert json.loads(created["body"])["invitation"]["status"] == "sent"
    read = invoke("ProvisioningFunction", load_event("provisioning_get_account.json"))
    assert json.loads(read["body"])["account"]["email"] == "anna.schmidt@example.com"
    assert invoke("ProvisioningFunction", load_event("provisioning_delete_account.json"))["statusCode"] == 204


def test_invitation_and_change_password_events(demo: dict[str, Any], api: Api) -> None:
    body = {"firm_id": "firm-berger", "role": "client", "email": "nora.neu@example.com", "name": "Nora Neu"}
    assert api.signed("PUT", "/v1/admin/accounts/acc-berger-client-newbie", body).status == 201
    invite = with_principal(load_event("request_reset_invitation.json"), demo, "acc-berger-member")
    sent = invoke("RequestResetFunction", invite)
    assert sent["statusCode"] == 202, sent["body"]
    assert json.loads(sent["body"])["sent_to"] == "n***@example.com"

    change = with_principal(load_event("sessions_change_password.json"), demo, "acc-berger-client-anna")
    changed = invoke("SessionsFunction", change)
    assert changed["statusCode"] == 200, changed["body"]
    assert any(c.startswith("__Host-portal_session=") for c in changed["multiValueHeaders"]["Set-Cookie"])


def test_lock_event_answers_in_the_contract_shape(demo: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    from pwreset.credentials.locks import issue_lock_token
    from pwreset.storage.accounts import get_login
    from pwreset.storage.events import PasswordChangedEvent
    from pwreset.storage.models import Account

    event = load_event("confirm_reset_lock.json")
    before = recorded()
    unknown = invoke("ConfirmResetFunction", event)  # the sample's placeholder token
    assert (unknown["statusCode"], json.loads(unknown["body"])["error"]["code"]) == (404, "token_invalid")
    assert_nothing_recorded_since(before)
    assert "Sperren" in json.loads(unknown["body"])["error"]["message"]  # the sample's Accept-Language

    anna = Account.get("acc-berger-client-anna")
    change = PasswordChangedEvent(
        event_id="evt-sample",
        type="password_changed",
        account_id=anna.account_id,
        firm_id=anna.firm_id,
        at=datetime.now(UTC),
    )
    event["body"] = json.dumps({"token": issue_lock_token(anna, change).split("#lock=", 1)[1]})
    locked = invoke("ConfirmResetFunction", event)
    assert (locked["statusCode"], json.loads(locked["body"])) == (200, {"status": "locked"})
    assert get_login("anna.schmidt@example.com").is_locked  # type: ignore[union-attr]
