"""Least privilege that still works: every AWS call each function makes in a full run of the
service (staff and self-service links, verify, confirm, sign-in with a hash upgrade, the current
session, sign-out, the firm's client list, the notifications from the stream, a lock from an
"It wasn't me" link and its notifications, the help article naming a firm's contact, an SES bounce
through the webhook, the deliveries view, a 409 with its diagnosis, provisioning with a firm read
back, invitations, revocation and erasure (a locked account's lock links too), a password changed
while signed in, the events for the CRM put on its bus) must be allowed by that function's own
policies in the transformed template. moto enforces no IAM, so without this test a tightened
policy would only fail in AWS."""

from __future__ import annotations

import email.utils
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.ses_simulator import SesSimulator
from devstack.template import local_origin_secret
from support.accounts import set_login
from support.api import Api, gateway
from support.cloudformation import allows
from support.environment import TEMPLATE
from support.sent_mail import sent_messages, token_from
from support.spies import ApiCall, ApiCallSpy
from support.streams import lambda_event, stream_records

LOCK_IN_LINK = re.compile(r"#lock=([A-Za-z0-9_-]{43})")

TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> ApiCallSpy:
    return ApiCallSpy(monkeypatch)


def edge() -> dict[str, str]:
    """A request through the stack's CloudFront: the function reads the origin secret to believe
    it. The functions share this process's cache of it; each Lambda function has its own."""
    from pwreset.api import origin_verify

    origin_verify.origin_secret.cache_clear()
    return {"X-Origin-Verify": local_origin_secret(), "CloudFront-Viewer-Address": "198.51.100.7:443"}


def run_everything(api: Api, demo: dict[str, Any], simulator: SesSimulator) -> None:
    from argon2 import PasswordHasher

    from pwreset.storage.models import DeliveryTimeline, ResetToken

    owner = api.sign_in_as(demo["acc-berger-owner"])
    anna = demo["acc-berger-client-anna"]
    signed_in = api.post(
        "/v1/sessions", {"email": anna["email"], "password": anna["password"]}, headers=edge()
    )
    anna_session = signed_in.body["session"]["token"]
    assert (
        api.post("/v1/accounts/acc-berger-client-anna/password-reset", token=owner, headers=edge()).status
        == 202
    )
    james_email = demo["acc-berger-client-james"]["email"]
    assert api.post("/v1/password-resets", {"email": james_email}, headers=edge()).status == 202
    raw = token_from(sent_messages()[0])
    assert api.post("/v1/password-resets/verify", {"token": raw}).status == 200
    new_password = {"token": raw, "password": "Mondlicht über Heidelberg 77"}
    assert api.post("/v1/password-resets/confirm", new_password, headers=edge()).status == 200
    assert api.get("/v1/sessions/current", token=anna_session).status == 401
    # The notifier, fed the events table's stream as Lambda would.
    events_table = TEMPLATE.physical_name("EventsTable")
    result = gateway().runner.invoke(
        "NotifyPasswordChangedFunction", lambda_event(stream_records(events_table))
    )
    assert result == {"batchItemFailures": []}
    # "It wasn't me": Anna locks with the link of her mail, and the notifier tells the firm.
    [lock_token] = {t for m in sent_messages() for t in LOCK_IN_LINK.findall(str(m.body))}
    assert api.post("/v1/account-locks", {"token": lock_token}).status == 200
    locked = [
        r for r in stream_records(events_table) if r["dynamodb"]["NewImage"]["type"]["S"] == "account_locked"
    ]
    assert gateway().runner.invoke("NotifyPasswordChangedFunction", lambda_event(locked)) == {
        "batchItemFailures": []
    }
    # Sign-in upgrades a weak hash; current session; sign-out.
    james = demo["acc-berger-client-james"]
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(james["password"])
    set_login(james["email"], password_hash=weak)
    assert api.post("/v1/sessions", {"email": james["email"], "password": "not the password!"}).status == 401
    james_session = api.sign_in(james["email"], james["password"])
    assert api.get("/v1/sessions/current", token=james_session).status == 200
    assert api.delete("/v1/sessions/current", token=james_session).status == 204
    assert api.get("/v1/accounts", token=owner).status == 200
    # A bounce through the webhook (it marks the address's login), the deliveries view, and the 409
    # with its diagnosis.
    assert api.post("/v1/accounts/acc-berger-client-bounce/password-reset", token=owner).status == 202
    mail = sent_messages()[-1]
    # As for a link issued before its delivery timeline started with it: the webhook checks that
    # the link exists before it starts one.
    [link] = [r for r in ResetToken.scan() if r.ses_message_id == mail.id]
    DeliveryTimeline(link.reset_id).delete()
    simulator.on_mail_sent(
        mail.id,
        sender=mail.source,
        recipients=["bounce@simulator.amazonses.com"],
        subject=mail.subject,
        tags={"kind": "reset_link"},
    )
    simulator.wait()
    assert (
        api.get("/v1/accounts/acc-berger-client-bounce/password-reset/deliveries", token=owner).status == 200
    )
    again = api.post("/v1/accounts/acc-berger-client-bounce/password-reset", token=owner)
    assert (again.status, again.error_code) == (409, "email_undeliverable")
    assert api.get("/reset").status == 200
    # The help article naming a firm's contact reads the firm.
    assert "mandanten@berger-steuer.example" in str(api.get("/help/reset-email?firm=firm-berger").body)
    # Provisioning: a firm renamed; a new client invited on creation and by staff; an address change
    # that revokes (and counts); a read; an erasure.
    firm = {"name": "Steuerkanzlei Berger & Partner mbB"}
    assert api.signed("PUT", "/v1/admin/firms/firm-berger", firm).status == 200
    assert api.signed("GET", "/v1/admin/firms/firm-berger").status == 200
    nora = {"firm_id": "firm-berger", "role": "client", "email": "nora.neu@example.com", "name": "Nora Neu"}
    invited = api.signed(
        "PUT", "/v1/admin/accounts/acc-nora", {**nora, "send_invitation": True}, headers=edge()
    )
    assert invited.status == 201
    assert api.post("/v1/accounts/acc-nora/invitation", token=owner).status == 202
    assert (
        api.signed("PUT", "/v1/admin/accounts/acc-nora", {**nora, "email": "nora@example.org"}).status == 200
    )
    assert api.signed("GET", "/v1/admin/accounts/acc-nora").status == 200
    assert api.signed("DELETE", "/v1/admin/accounts/acc-nora").status == 204
    # Sophie, a client of both firms: her session switches from Berger's account to Hartmann's.
    sophie = demo["acc-berger-client-sophie"]
    both = api.sign_in_as(sophie)
    switched = api.put(
        "/v1/sessions/current/account", {"account_id": "acc-hartmann-client-sophie"}, token=both
    )
    assert switched.status == 200
    # A password changed while signed in.
    maria = demo["acc-hartmann-client-maria"]
    session = api.sign_in(maria["email"], maria["password"])
    change = {"current_password": maria["password"], "new_password": "Sonnenuhr am Marktplatz 1912"}
    assert api.post("/v1/sessions/current/password", change, token=session).status == 200
    # Erasing the locked account deletes its lock link.
    assert api.signed("DELETE", "/v1/admin/accounts/acc-berger-client-anna").status == 204
    # The events for the CRM, from everything above (changes, a lock, a bounce, a new address).
    published = gateway().runner.invoke("CrmEventsFunction", lambda_event(stream_records(events_table)))
    assert published == {"batchItemFailures": []}


def required_permissions(calls: list[ApiCall]) -> set[tuple[str, str, str | None, str | None]]:
    """(function, IAM action, table or queue logical id, index) for every call a function made."""
    tables = {TEMPLATE.physical_name(logical): logical for logical in TEMPLATE.tables()}
    queues = {TEMPLATE.physical_name(logical): logical for logical in TEMPLATE.of_type("AWS::SQS::Queue")}
    buses = {TEMPLATE.physical_name(logical): logical for logical in TEMPLATE.event_buses()}
    needed: set[tuple[str, str, str | None, str | None]] = set()
    for call in calls:
        if call.function is None:
            continue  # the test's own set-up and checks, not a function's
        function, service, operation, params = call.function, call.service, call.operation, call.params
        if service == "dynamodb":
            if operation == "TransactWriteItems":
                for item in params["TransactItems"]:
                    ((kind, spec),) = item.items()
                    needed.add(
                        (function, f"dynamodb:{TRANSACT_ACTIONS[kind]}", tables[spec["TableName"]], None)
                    )
            elif operation in ("BatchWriteItem", "BatchGetItem"):
                for table in params["RequestItems"]:
                    needed.add((function, f"dynamodb:{operation}", tables[table], None))
            else:
                needed.add(
                    (function, f"dynamodb:{operation}", tables[params["TableName"]], params.get("IndexName"))
                )
        elif service == "sqs":  # on the queue the URL names
            needed.add((function, f"sqs:{operation}", queues[params["QueueUrl"].rsplit("/", 1)[1]], None))
        elif service == "events":  # on the bus each entry names
            for entry in params["Entries"]:
                needed.add((function, f"events:{operation}", buses[entry["EventBusName"]], None))
        else:
            needed.add((function, f"{'ses' if service == 'sesv2' else service}:{operation}", None, None))
    return needed


def test_every_call_of_every_function_is_allowed_by_its_own_policy(
    api: Api, demo: dict[str, Any], simulator: SesSimulator, calls: ApiCallSpy
) -> None:
    run_everything(api, demo, simulator)

    needed = required_permissions(calls.calls)
    readers = {function for function, action, *_ in needed if action == "secretsmanager:GetSecretValue"}
    assert readers == {
        "SessionsFunction",
        "RequestResetFunction",
        "ConfirmResetFunction",
        "ProvisioningFunction",
    }
    functions = {function for function, *_ in needed}
    assert functions >= set(TEMPLATE.functions()), functions
    missing = sorted(str(p) for p in needed if not allows(*p))
    assert not missing, "calls the template does not allow:\n" + "\n".join(missing)
    # The grants' conditions hold for the calls too (moto checks neither).
    sends = [c for c in calls.calls if c.function and c.operation == "SendEmail"]
    # ses:FromAddress is the address of From; a firm's display name is ses:FromDisplayName.
    senders = {email.utils.parseaddr(c.params["FromEmailAddress"])[1] for c in sends}
    assert sends and senders == {os.environ["SENDER_ADDRESS"]}
    assert any(c.params["FromEmailAddress"] != os.environ["SENDER_ADDRESS"] for c in sends)  # a firm's
    login_updates = list(webhook_login_updates(calls.calls))
    assert login_updates, "the run marked no address"
    for names in login_updates:
        assert names <= {"email", "item", "email_status"}, names


def webhook_login_updates(calls: list[ApiCall]) -> Iterator[set[str]]:
    """The attribute names each of the webhook's login updates touches (dynamodb:Attributes)."""
    logins = os.environ["LOGINS_TABLE"]
    for call in calls:
        if call.function != "SesEventsFunction":
            continue
        updates = []
        if call.operation == "UpdateItem":
            updates.append(call.params)
        elif call.operation == "TransactWriteItems":
            updates += [item["Update"] for item in call.params["TransactItems"] if "Update" in item]
        for update in updates:
            if update["TableName"] == logins:
                yield set(update.get("ExpressionAttributeNames", {}).values()) | set(update["Key"])


def test_the_check_can_fail() -> None:
    assert allows("AuthorizerFunction", "dynamodb:GetItem", "SessionsTable")
    assert not allows("AuthorizerFunction", "dynamodb:PutItem", "SessionsTable")
    assert not allows("ResetPageFunction", "ses:SendEmail")
    assert allows("CrmEventsFunction", "events:PutEvents", "CrmEventBus")
    assert not allows("NotifyPasswordChangedFunction", "events:PutEvents", "CrmEventBus")
