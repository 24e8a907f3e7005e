"""The floor each flow is measured against: the same flow as a raw boto3 Lambda script that makes
exactly the minimal AWS calls listed in ``bench/flows.py`` and nothing else: no framework, no
validation library, no templates, no logging, no password hash. Its records have the shapes pwreset
writes, so either side can read what the other wrote.

Loaded by ``bench/child.py`` in a fresh process (``import baseline``); boto3 is imported, and the
clients are created, inside the timed region, once per process (warm calls reuse them).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3

_DATETIME = "%Y-%m-%dT%H:%M:%S.%f+0000"  # pynamodb's UTCDateTimeAttribute format
_ENV = os.environ


@cache
def _client(service: str) -> Any:
    return boto3.client(service)


def _db() -> Any:
    return _client("dynamodb")


def _table(name: str) -> str:
    return _ENV[name]


def _ts(at: datetime) -> str:
    return at.strftime(_DATETIME)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


@cache
def _limits() -> dict[str, tuple[int, int]]:
    rules: dict[str, tuple[int, int]] = {}
    for entry in _ENV.get("RATE_LIMITS", "").split(","):
        name, _, value = entry.partition("=")
        limit, _, window = value.partition("/")
        if limit and window:
            rules[name.strip()] = (int(limit), int(window))
    return rules


def _counter_key(rule: str, subject: str) -> tuple[dict[str, Any], int]:
    window = _limits()[rule][1]
    start = int(time.time() // window) * window
    digest = hashlib.sha256(f"{rule}\x00{subject.lower()}".encode()).hexdigest()[:40]
    return {"counter_id": {"S": f"{rule}#{digest}#{start}"}}, start + window


def _hit(rule: str, subject: str) -> bool:
    key, window_end = _counter_key(rule, subject)
    hits = _db().update_item(
        TableName=_table("RATE_LIMITS_TABLE"),
        Key=key,
        UpdateExpression="ADD hits :one SET #ttl = if_not_exists(#ttl, :ttl)",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":ttl": {"N": str(window_end + 60)}},
        ReturnValues="UPDATED_NEW",
    )["Attributes"]["hits"]["N"]
    return int(hits) <= _limits()[rule][0]


def _source_ip(event: dict[str, Any]) -> str:
    return str(event["requestContext"]["identity"]["sourceIp"])


def _by_email(email: str) -> dict[str, Any] | None:
    items = _db().query(
        TableName=_table("ACCOUNTS_TABLE"),
        IndexName="by_email",
        KeyConditionExpression="email = :email",
        ExpressionAttributeValues={":email": {"S": email}},
        Limit=1,
    )["Items"]
    return items[0] if items else None


def _s(item: dict[str, Any], name: str, default: str = "") -> str:
    return str(item[name]["S"]) if name in item else default


def _issue_and_send(
    account: dict[str, Any], firm_name: str, *, lifetime: int, requested_by: str | None, ip: str
) -> str:
    raw = secrets.token_urlsafe(32)
    digest = hashlib.sha256(raw.encode()).hexdigest()
    reset_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=lifetime)
    token = {
        "token_hash": {"S": digest},
        "reset_id": {"S": reset_id},
        "account_id": account["account_id"],
        "firm_id": account["firm_id"],
        "firm_name": {"S": firm_name},
        "email": account["email"],
        "requested_at": {"S": _iso(now)},
        "expires_at": {"S": _ts(expires_at)},
        "password_version": account.get("password_version", {"N": "0"}),
        "status": {"S": "issued"},
        "ttl": {"N": str(int((expires_at + timedelta(days=90)).timestamp()))},
    }
    if requested_by:
        token["requested_by"] = {"S": requested_by}
    event = {
        "event_id": {"S": uuid.uuid4().hex},
        "type": {"S": "reset_requested"},
        "account_id": account["account_id"],
        "firm_id": account["firm_id"],
        "at": {"S": _ts(now)},
        "detail": {"M": {"reset_id": {"S": reset_id}, "source_ip": {"S": ip}}},
        "ttl": {"N": str(int((now + timedelta(days=400)).timestamp()))},
    }
    _db().transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": _table("RESET_TOKENS_TABLE"),
                    "Item": token,
                    "ConditionExpression": "attribute_not_exists(token_hash)",
                }
            },
            {
                "Put": {
                    "TableName": _table("EVENTS_TABLE"),
                    "Item": event,
                    "ConditionExpression": "attribute_not_exists(event_id)",
                }
            },
        ]
    )
    link = f"{_ENV['RESET_PAGE_URL']}#token={raw}"
    name = _s(account, "name")
    text = f"Hello {name},\n\n{firm_name} sent you a link to set a new password:\n{link}\n"
    html = f"<p>Hello {name},</p><p>{firm_name} sent you a link: <a href='{link}'>set password</a></p>"
    request: dict[str, Any] = {
        "FromEmailAddress": _ENV["SENDER_ADDRESS"],
        "Destination": {"ToAddresses": [_s(account, "email")]},
        "Content": {
            "Simple": {
                "Subject": {"Data": "Reset your password", "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": text, "Charset": "UTF-8"},
                    "Html": {"Data": html, "Charset": "UTF-8"},
                },
            }
        },
        "EmailTags": [{"Name": "reset_id", "Value": reset_id}, {"Name": "kind", "Value": "reset_link"}],
    }
    if _ENV.get("SES_CONFIGURATION_SET"):
        request["ConfigurationSetName"] = _ENV["SES_CONFIGURATION_SET"]
    message_id = _client("sesv2").send_email(**request)["MessageId"]
    _db().update_item(
        TableName=_table("RESET_TOKENS_TABLE"),
        Key={"token_hash": {"S": digest}},
        UpdateExpression="SET ses_message_id = :id",
        ExpressionAttributeValues={":id": {"S": message_id}},
    )
    return reset_id


def _active(item: dict[str, Any] | None) -> bool:
    return item is not None and _s(item, "status", "active") == "active"


# ---------------------------------------------------------------------------------------- flows


def self_service(event: dict[str, Any]) -> dict[str, Any]:
    email = str(json.loads(event["body"])["email"]).strip().lower()
    ip = _source_ip(event)
    by_ip = _hit("self_service_ip", ip)
    by_email = _hit("self_service_email", email)
    account = _by_email(email)
    if by_ip and by_email and _active(account) and _s(account or {}, "email_status", "ok") == "ok":
        assert account is not None
        firm = _db().get_item(TableName=_table("FIRMS_TABLE"), Key={"firm_id": account["firm_id"]})["Item"]
        _issue_and_send(
            account,
            _s(firm, "name"),
            lifetime=int(_ENV["SELF_SERVICE_LINK_LIFETIME_SECONDS"]),
            requested_by=None,
            ip=ip,
        )
    return _response(202, {"status": "accepted"})


def staff(event: dict[str, Any]) -> dict[str, Any]:
    caller = event["requestContext"]["authorizer"]
    account_id = event["pathParameters"]["account_id"]
    if caller.get("role") not in ("owner", "member"):
        return _response(403, {"error": {"code": "forbidden"}})
    accounts, firms = _table("ACCOUNTS_TABLE"), _table("FIRMS_TABLE")
    found = _db().batch_get_item(
        RequestItems={
            accounts: {"Keys": [{"account_id": {"S": account_id}}]},
            firms: {"Keys": [{"firm_id": {"S": caller["firm_id"]}}]},
        }
    )["Responses"]
    account = (found.get(accounts) or [None])[0]
    firm = (found.get(firms) or [None])[0]
    if account is None or firm is None or _s(account, "firm_id") != caller["firm_id"]:
        return _response(404, {"error": {"code": "account_not_found"}})
    if _s(account, "role") != "client" or not _active(account):
        return _response(409, {"error": {"code": "account_archived"}})
    if not _hit("staff_send_account", account_id):
        return _response(429, {"error": {"code": "rate_limited"}})
    reset_id = _issue_and_send(
        account,
        _s(firm, "name"),
        lifetime=int(_ENV["STAFF_LINK_LIFETIME_SECONDS"]),
        requested_by=caller["account_id"],
        ip=_source_ip(event),
    )
    return _response(202, {"reset_id": reset_id})


def _load_reset(raw: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    db = _db()
    digest = hashlib.sha256(raw.encode()).hexdigest()
    token = db.get_item(
        TableName=_table("RESET_TOKENS_TABLE"), Key={"token_hash": {"S": digest}}, ConsistentRead=True
    ).get("Item")
    if token is None:
        return None
    account = db.get_item(
        TableName=_table("ACCOUNTS_TABLE"), Key={"account_id": token["account_id"]}, ConsistentRead=True
    ).get("Item")
    if (
        account is None
        or _s(token, "status") != "issued"
        or token["password_version"] != account.get("password_version", {"N": "0"})
        or _s(token, "expires_at") <= _ts(datetime.now(UTC))
        or not _active(account)
    ):
        return None
    return token, account


def verify(event: dict[str, Any]) -> dict[str, Any]:
    if not _hit("verify_ip", _source_ip(event)):
        return _response(429, {"error": {"code": "rate_limited"}})
    loaded = _load_reset(str(json.loads(event["body"])["token"]))
    if loaded is None:
        return _response(400, {"error": {"code": "token_invalid"}})
    token, account = loaded
    return _response(
        200, {"valid": True, "expires_at": _s(token, "expires_at"), "locale": _s(account, "locale")}
    )


def _session_item(account: dict[str, Any], version: str, now: datetime) -> tuple[str, dict[str, Any]]:
    raw = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=int(_ENV["SESSION_LIFETIME_SECONDS"]))
    return raw, {
        "session_hash": {"S": hashlib.sha256(raw.encode()).hexdigest()},
        "account_id": account["account_id"],
        "firm_id": account["firm_id"],
        "role": account["role"],
        "password_version": {"N": version},
        "created_at": {"S": _ts(now)},
        "expires_at": {"S": _ts(expires_at)},
        "ttl": {"N": str(int(expires_at.timestamp()))},
    }


def confirm(event: dict[str, Any]) -> dict[str, Any]:
    """The new password is not hashed: both sides leave argon2id out (it is measured apart)."""
    ip = _source_ip(event)
    if not _hit("confirm_ip", ip):
        return _response(429, {"error": {"code": "rate_limited"}})
    body = json.loads(event["body"])
    loaded = _load_reset(str(body["token"]))
    if loaded is None:
        return _response(400, {"error": {"code": "token_invalid"}})
    token, account = loaded
    now = datetime.now(UTC)
    version = account.get("password_version", {"N": "0"})["N"]
    new_version = str(int(version) + 1)
    raw, session = _session_item(account, new_version, now)
    changed = {
        "event_id": {"S": uuid.uuid4().hex},
        "type": {"S": "password_changed"},
        "account_id": account["account_id"],
        "firm_id": account["firm_id"],
        "at": {"S": _ts(now)},
        "detail": {"M": {"reset_id": token["reset_id"], "source_ip": {"S": ip}}},
        "ttl": {"N": str(int((now + timedelta(days=400)).timestamp()))},
    }
    _db().transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": _table("ACCOUNTS_TABLE"),
                    "Key": {"account_id": account["account_id"]},
                    "UpdateExpression": "SET password_hash = :hash, password_version = :new, "
                    "password_changed_at = :now",
                    "ConditionExpression": "password_version = :old AND #status = :active",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":hash": {"S": _ENV.get("BENCH_STUB_HASH", "stub")},
                        ":new": {"N": new_version},
                        ":now": {"S": _ts(now)},
                        ":old": {"N": version},
                        ":active": {"S": "active"},
                    },
                }
            },
            {
                "Update": {
                    "TableName": _table("RESET_TOKENS_TABLE"),
                    "Key": {"token_hash": token["token_hash"]},
                    "UpdateExpression": "SET #status = :used, used_at = :now",
                    "ConditionExpression": "#status = :issued",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":used": {"S": "used"},
                        ":now": {"S": _ts(now)},
                        ":issued": {"S": "issued"},
                    },
                }
            },
            {
                "Put": {
                    "TableName": _table("EVENTS_TABLE"),
                    "Item": changed,
                    "ConditionExpression": "attribute_not_exists(event_id)",
                }
            },
            {
                "Put": {
                    "TableName": _table("SESSIONS_TABLE"),
                    "Item": session,
                    "ConditionExpression": "attribute_not_exists(session_hash)",
                }
            },
        ]
    )
    return _response(200, {"redirect_url": _ENV["PORTAL_URL"], "session": {"token": raw}})


def sign_in(event: dict[str, Any]) -> dict[str, Any]:
    """The password is not verified against its hash: both sides leave argon2id out."""
    body = json.loads(event["body"])
    email = str(body["email"]).strip().lower()
    table = _table("RATE_LIMITS_TABLE")
    keys = [_counter_key("sign_in_account", email), _counter_key("sign_in_ip", _source_ip(event))]
    counters = _db().batch_get_item(
        RequestItems={table: {"Keys": [key for key, _ in keys], "ProjectionExpression": "counter_id, hits"}}
    )["Responses"][table]
    limits = _limits()
    if any(int(c["hits"]["N"]) >= limits[_s(c, "counter_id").split("#")[0]][0] for c in counters):
        return _response(429, {"error": {"code": "rate_limited"}})
    account = _by_email(email)
    if account is None or not _active(account) or "password_hash" not in account or not body.get("password"):
        return _response(401, {"error": {"code": "invalid_credentials"}})
    raw, session = _session_item(account, account.get("password_version", {"N": "0"})["N"], datetime.now(UTC))
    _db().put_item(
        TableName=_table("SESSIONS_TABLE"),
        Item=session,
        ConditionExpression="attribute_not_exists(session_hash)",
    )
    return _response(201, {"session": {"token": raw}, "account": {"account_id": _s(account, "account_id")}})
