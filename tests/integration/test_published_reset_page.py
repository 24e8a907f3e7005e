"""A stack without ResetPageUrl or a custom domain publishes its page's address (the
distribution's) in SSM, and the functions build their links from it (issue #28): one deploy, no
address known beforehand. Here moto's SSM holds what the stack would write."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from support.api import Api, gateway
from support.cloudformation import allows
from support.demo_accounts import ANNA, OWNER
from support.environment import TEMPLATE
from support.sent_mail import message_body, sent_messages, token_from
from support.spies import ApiCallSpy
from support.streams import lambda_event, stream_records

PARAMETER = "/portal-password-reset-dev/reset-page-url"
DISTRIBUTION = "https://d111111abcdef8.cloudfront.net"


@pytest.fixture
def published(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment the template gives the functions by default, and the parameter the
    stack writes (ResetPageUrlParameter)."""
    from pwreset.core import public_urls
    from pwreset.core.config import settings

    assert TEMPLATE.doc["Parameters"]["ResetPageUrl"]["Default"] == ""
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value=f"{DISTRIBUTION}/reset", Type="String")
    monkeypatch.setenv("RESET_PAGE_URL", "")
    monkeypatch.setenv("RESET_PAGE_URL_PARAMETER", PARAMETER)
    settings.cache_clear()
    public_urls.forget()
    yield
    settings.cache_clear()
    public_urls.forget()


def fresh_function() -> None:
    """The functions share this process's cache of the address; each Lambda function has its own."""
    from pwreset.core import public_urls

    public_urls.forget()


def test_links_and_the_help_article_point_at_the_published_page(
    published: None, api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = ApiCallSpy(monkeypatch)
    owner = api.sign_in_as(demo[OWNER])
    fresh_function()
    assert api.post(f"/v1/accounts/{ANNA}/password-reset", token=owner).status == 202
    mail = sent_messages()[-1]
    body = message_body(mail)
    assert f"{DISTRIBUTION}/reset#token=" in body
    assert f"{DISTRIBUTION}/help/reset-email?lang=" in body

    # Self-service (from the queue), an invitation (provisioning) and the lock link of the
    # password-changed mail (the notifier) alike.
    fresh_function()
    assert api.post("/v1/password-resets", {"email": demo["acc-berger-client-james"]["email"]}).status == 202
    assert f"{DISTRIBUTION}/reset#token=" in message_body(sent_messages()[-1])
    fresh_function()
    nora = {"firm_id": "firm-berger", "role": "client", "email": "nora@example.com", "name": "Nora Neu"}
    assert api.signed("PUT", "/v1/admin/accounts/acc-nora", {**nora, "send_invitation": True}).status == 201
    assert f"{DISTRIBUTION}/reset#token=" in message_body(sent_messages()[-1])
    confirmed = api.post(
        "/v1/password-resets/confirm", {"token": token_from(mail), "password": "Mondlicht über Heidelberg 77"}
    )
    assert confirmed.status == 200
    fresh_function()
    events = lambda_event(stream_records(TEMPLATE.physical_name("EventsTable")))
    assert gateway().runner.invoke("NotifyPasswordChangedFunction", events) == {"batchItemFailures": []}
    holder_mail = [m for m in sent_messages() if re.search(r"#lock=", message_body(m))]
    assert holder_mail and f"{DISTRIBUTION}/reset#lock=" in message_body(holder_mail[-1])

    readers = {c.function for c in calls.of("GetParameter")}
    assert readers == {
        "RequestResetFunction",
        "SelfServiceResetFunction",
        "ProvisioningFunction",
        "NotifyPasswordChangedFunction",
    }
    for function in readers:
        assert allows(str(function), "ssm:GetParameter"), function


def test_an_unreadable_address_sends_nothing_and_the_staff_route_answers_503(
    published: None, api: Api, demo: dict[str, Any]
) -> None:
    owner = api.sign_in_as(demo[OWNER])
    boto3.client("ssm").delete_parameter(Name=PARAMETER)
    fresh_function()
    before = len(sent_messages())

    answer = api.post(f"/v1/accounts/{ANNA}/password-reset", token=owner)

    assert (answer.status, answer.error_code) == (503, "internal_error")
    assert len(sent_messages()) == before
