"""The template's events for the CRM: a bus the CRM's account may add its own rules to (only when an
operator names that account), an archive for replays, a function that may put on that bus alone and
is invoked only for what the CRM hears of, and a dead-letter queue someone is told about."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.filters import matches_any, parse_patterns
from devstack.template import SamTemplate
from support.cloudformation import cloudformation, statements

FUNCTION = "CrmEventsFunction"


def template(**parameters: str) -> SamTemplate:
    return SamTemplate(name_prefix="test-", parameter_overrides=parameters)


def test_the_bus_is_named_by_stage_and_its_name_and_arn_are_outputs() -> None:
    t = template()
    bus = t.resources["CrmEventBus"]
    assert bus["Type"] == "AWS::Events::EventBus"
    assert t.physical_name("CrmEventBus") == "password-reset-dev"
    outputs = t.doc["Outputs"]
    assert outputs["CrmEventBusName"]["Value"] == {"Ref": "CrmEventBus"}
    assert outputs["CrmEventBusArn"]["Value"] == {"Fn::GetAtt": ["CrmEventBus", "Arn"]}
    assert t.function_environment(FUNCTION)["CRM_EVENT_BUS_NAME"] == "password-reset-dev"


def test_the_crms_account_may_manage_only_the_rules_it_creates_and_only_when_named() -> None:
    assert template().condition("HasCrmAccount") is False
    assert template(CrmAccountId="210987654321").condition("HasCrmAccount") is True
    policy = template().resources["CrmEventBusPolicy"]
    assert policy["Condition"] == "HasCrmAccount"
    statement = policy["Properties"]["Statement"]
    resolved = template(CrmAccountId="210987654321").resolve(statement)
    assert resolved["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"}
    assert resolved["Resource"] == "arn:aws:events:eu-central-1:123456789012:rule/password-reset-dev/*"
    assert resolved["Condition"] == {"StringEqualsIfExists": {"events:creatorAccount": "210987654321"}}
    assert {"events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule"} <= set(
        resolved["Action"]
    )
    assert not [a for a in resolved["Action"] if a in ("events:PutEvents", "events:*", "*")]
    assert template().doc["Parameters"]["CrmAccountId"]["AllowedPattern"] == "^([0-9]{12})?$"


def test_the_archive_keeps_every_event_of_the_service_for_the_days_the_operator_chose() -> None:
    t = template(CrmEventArchiveRetentionDays="7")
    [archive] = t.of_type("AWS::Events::Archive").values()
    props = archive["Properties"]
    assert props["SourceArn"] == {"Fn::GetAtt": ["CrmEventBus", "Arn"]}
    assert props["EventPattern"] == {"source": ["pwreset"]}
    assert t.resolve(props["RetentionDays"]) == "7"
    spec = t.doc["Parameters"]["CrmEventArchiveRetentionDays"]
    assert spec["MinValue"] >= 1  # never "forever": events carry the client's IP and browser


def test_the_function_may_put_events_on_its_bus_and_nowhere_else() -> None:
    grants = [s for s in statements(FUNCTION) if "events:PutEvents" in json.dumps(s["Action"])]
    assert [g["Resource"] for g in grants] == [{"Fn::GetAtt": ["CrmEventBus", "Arn"]}]
    assert all("*" not in json.dumps(s.get("Resource")) for s in statements(FUNCTION))


def record(kind: str, detail: dict[str, Any] | None = None, event_name: str = "INSERT") -> dict[str, Any]:
    image: dict[str, Any] = {"type": {"S": kind}, "event_id": {"S": "e1"}}
    if detail is not None:
        image["detail"] = {"M": {k: {"S": v} for k, v in detail.items()}}
    return {"eventName": event_name, "dynamodb": {"NewImage": image}}


@pytest.mark.parametrize(
    ("item", "invoked"),
    [
        (record("password_changed", {"change": "reset"}), True),
        (record("account_locked"), True),
        (record("email_undeliverable", {"email_status": "undeliverable"}), True),
        (record("account_provisioned", {"previous_hint": "a***@x.example", "new_hint": "b***@y.ex"}), True),
        (record("account_provisioned", {"caller": "crm"}), False),  # the address stayed
        (record("reset_requested", {"reset_id": "r1"}), False),
        (record("password_changed", {"erased": "true"}, event_name="MODIFY"), False),  # an erasure's strip
    ],
)
def test_the_stream_invokes_the_function_only_for_what_the_crm_hears_of(
    item: dict[str, Any], invoked: bool
) -> None:
    [subscription] = [s for s in template().stream_subscriptions() if s.function == FUNCTION]
    assert subscription.table == "EventsTable"
    assert matches_any(parse_patterns(subscription.filter_patterns), item) is invoked


def test_what_never_reached_the_bus_waits_in_a_queue_with_an_alarm() -> None:
    t = template()
    [subscription] = [s for s in t.stream_subscriptions() if s.function == FUNCTION]
    assert subscription.on_failure is not None
    assert subscription.on_failure.resource == "CrmEventsDeadLetterQueue"
    assert subscription.report_batch_item_failures and subscription.maximum_retry_attempts > 0
    assert t.function_environment(FUNCTION)["CRM_EVENTS_DEAD_LETTER_QUEUE_URL"].endswith(
        "/test-CrmEventsDeadLetterQueue"
    )
    assert int(t.queue_attributes("CrmEventsDeadLetterQueue")["MessageRetentionPeriod"]) == 14 * 24 * 3600
    alarms = [
        a["Properties"]
        for a in cloudformation()["Resources"].values()
        if a["Type"] == "AWS::CloudWatch::Alarm"
        and a["Properties"].get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["CrmEventsDeadLetterQueue", "QueueName"]}}]
    ]
    assert len(alarms) == 1 and alarms[0]["Threshold"] == 0
