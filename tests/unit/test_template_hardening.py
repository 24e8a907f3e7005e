"""What the infrastructure promises about least privilege and the data it keeps (security review
#14, item 9), read from the transformed template."""

from __future__ import annotations

import json
from typing import Any

from support.cloudformation import cloudformation, statements
from support.environment import TEMPLATE

# Tables whose loss would lose accounts, password hashes or the audit trail.
PRECIOUS_TABLES = ("AccountsTable", "LoginsTable", "FirmsTable", "EventsTable")
# What the webhook may write on a login: the address's verdict (the key names the address and the
# item; the condition that the login exists reads the address).
WEBHOOK_LOGIN_ATTRIBUTES = {"email", "item", "email_status"}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_mail_may_only_be_sent_from_the_configured_sender() -> None:
    senders = []
    for function_id in TEMPLATE.functions():
        for statement in statements(function_id):
            if "ses:SendEmail" in listed(statement["Action"]):
                senders.append(function_id)
                condition = statement.get("Condition", {}).get("StringEquals", {})
                assert condition.get("ses:FromAddress") == {"Ref": "SenderAddress"}, function_id
    assert len(senders) >= 3, senders


def test_the_webhook_may_update_only_the_address_verdict_on_logins() -> None:
    [grant] = [
        s
        for s in statements("SesEventsFunction")
        if "dynamodb:UpdateItem" in listed(s["Action"]) and "LoginsTable" in json.dumps(s["Resource"])
    ]
    allowed = grant["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
    assert set(allowed) == WEBHOOK_LOGIN_ATTRIBUTES
    # No other write on logins, and none at all on accounts: reads only.
    assert not [
        a
        for s in statements("SesEventsFunction")
        if s is not grant
        for a in listed(s["Action"])
        if a not in ("dynamodb:GetItem", "dynamodb:Query")
        and ("LoginsTable" in json.dumps(s["Resource"]) or "AccountsTable" in json.dumps(s["Resource"]))
    ]


def test_indexes_are_granted_by_name_never_all_of_them() -> None:
    for function_id in TEMPLATE.functions():
        for statement in statements(function_id):
            text = json.dumps(statement["Resource"])
            assert "/index/*" not in text, (function_id, statement)


def test_tables_with_accounts_hashes_and_audit_events_survive_a_stack_deletion() -> None:
    resources = cloudformation()["Resources"]
    for table in PRECIOUS_TABLES:
        resource = resources[table]
        assert resource["DeletionPolicy"] == "Retain", table
        assert resource["UpdateReplacePolicy"] == "Retain", table
        assert resource["Properties"]["DeletionProtectionEnabled"] == {
            "Fn::If": ["ProtectTables", True, False]
        }
    assert TEMPLATE.parameter("TableDeletionProtection") == "false"  # dev; prod and staging turn it on


def test_prod_and_staging_turn_deletion_protection_on() -> None:
    import tomllib

    from devstack.template import REPO_ROOT

    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    for env in ("prod", "staging"):
        overrides = config[env]["deploy"]["parameters"]["parameter_overrides"]
        assert "TableDeletionProtection=true" in overrides, env


def test_every_function_logs_to_its_own_group_with_the_retention() -> None:
    resources = cloudformation()["Resources"]
    groups = []
    for function_id in TEMPLATE.functions():
        config = resources[function_id]["Properties"]["LoggingConfig"]
        group = config["LogGroup"]["Ref"]
        groups.append(group)
        assert resources[group]["Type"] == "AWS::Logs::LogGroup"
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert len(set(groups)) == len(groups)


def test_the_ses_events_topic_is_always_encrypted() -> None:
    resources = cloudformation()["Resources"]
    key_id = resources["SesEventsTopic"]["Properties"]["KmsMasterKeyId"]
    assert key_id == {
        "Fn::If": ["HasSesEventsTopicKey", {"Ref": "SesEventsTopicKmsKeyId"}, {"Ref": "SesEventsTopicKey"}]
    }
    key = resources["SesEventsTopicKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    ses_grant = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "ses.amazonaws.com"}
    ]
    assert ses_grant and set(ses_grant[0]["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
