"""The floor each flow is measured against: the same flow as a raw boto3 Lambda script that makes
exactly the minimal AWS calls listed in ``bench/flows.py`` and nothing else: no framework, no
validation library, no templates, no logging, no password hash. Its records have the shapes pwreset
writes, so either side can read what the other wrote.

Loaded by ``bench/child.py`` in a fresh process (``import baseline``); boto3 is imported, and the
clients are created, inside the timed region, once per process (warm calls reuse them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
import urllib3  # botocore's, in the runtime

_DATETIME = "%Y-%m-%dT%H:%M:%S.%f+0000"  # pynamodb's UTCDateTimeAttribute format
_ENV = os.environ


@cache
def _client(service: str) -> Any:
    return boto3.client(service)


def init() -> None:
    """What a plain boto3 Lambda script does at initialisation: its clients at module level (the
    SnapStart model's snapshot of the baseline; it has no hooks)."""
    _client("dynamodb")
    _client("sesv2")


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


def _count(rule: str, subject: str) -> tuple[bool, dict[str, Any] | None]:
    """Count one hit: (within the limit, the counter's key to refund it). A rule that is off
    (absent or limit 0) counts nothing and costs no call, as in the service."""
    limit = _limits().get(rule, (0, 0))[0]
    if limit <= 0 or not subject:
        return True, None
    key, window_end = _counter_key(rule, subject)
    hits = _db().update_item(
        TableName=_table("RATE_LIMITS_TABLE"),
        Key=key,
        UpdateExpression="ADD hits :one SET #ttl = if_not_exists(#ttl, :ttl)",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":ttl": {"N": str(window_end + 60)}},
        ReturnValues="UPDATED_NEW",
    )["Attributes"]["hits"]["N"]
    return int(hits) <= limit, key


def _hit(rule: str, subject: str) -> bool:
    return _count(rule, subject)[0]


def _refund(key: dict[str, Any] | None) -> None:
    """Take a counted hit back (nothing was counted for a rule that is off)."""
    if key is not None:
        _db().update_item(
            TableName=_table("RATE_LIMITS_TABLE"),
            Key=key,
            UpdateExpression="ADD hits :minus_one",
            ExpressionAttributeValues={":minus_one": {"N": "-1"}},
        )


def _source_ip(event: dict[str, Any]) -> str:
    return str(event["requestContext"]["identity"]["sourceIp"])


def _network(event: dict[str, Any]) -> str:
    """The client a per-IP limit counts: the IPv4 address, or the IPv6 address's /64."""
    ip = _source_ip(event)
    if ":" not in ip:
        return ip
    import ipaddress

    try:
        return str(ipaddress.ip_network(f"{ipaddress.ip_address(ip)}/64", strict=False))
    except ValueError:
        return ip


_SLOWDOWN_SECONDS = 1.0  # pwreset.credentials.sessions.SLOWDOWN_SECONDS


def _count_attempt(event: dict[str, Any], email: str) -> tuple[bool, list[dict[str, Any] | None]]:
    """A password attempt added to its three counters before the password is checked: (not
    blocked, the keys to refund on success). The account-wide one only slows down."""
    network = _network(event)
    by_account_ip = _count("sign_in_account_ip", f"{email}|{network}" if email else "")
    by_ip = _count("sign_in_ip", network)
    by_account = _count("sign_in_account", email)
    if by_account_ip[0] and by_ip[0] and not by_account[0]:
        time.sleep(_SLOWDOWN_SECONDS)
    return by_account_ip[0] and by_ip[0], [by_account_ip[1], by_ip[1], by_account[1]]


class _Refused(Exception):
    """Ends a flow early with the service's error answer."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.response = _response(status, {"error": {"code": code}})


def _password_attempt(
    event: dict[str, Any], email: str, password: object, read_login: Callable[[], dict[str, Any] | None]
) -> dict[str, Any]:
    """A password attempt as sign-in and a change while signed in check it: counted before the
    login is read (429 over a limit), wrong or nothing that may sign in (``read_login`` gives None)
    401, right: its counts taken back (only failures count), then 403 for a locked login
    (:class:`_Refused`). Returns the login."""
    allowed, counted = _count_attempt(event, email)
    if not allowed:
        raise _Refused(429, "rate_limited")
    login = read_login()
    exhausted = login is not None and int(login.get("failed_sign_ins", {"N": "0"})["N"]) >= _FAILURE_LIMIT
    if login is None or "password_hash" not in login or not password or exhausted:
        _count_failure(email)
        raise _Refused(401, "invalid_credentials")
    for key in counted:
        _refund(key)
    if "failed_sign_ins" in login:  # a right password ends a run of failures
        _db().update_item(
            TableName=_table("LOGINS_TABLE"), Key=_login_key(email), UpdateExpression="REMOVE failed_sign_ins"
        )
    if "locked_at" in login:
        raise _Refused(403, "account_locked")
    return login


_FAILURE_LIMIT = 100  # pwreset.credentials.sessions.CONSECUTIVE_FAILURE_LIMIT


def _count_failure(email: str) -> None:
    """One more wrong password in a row on the login, if the address has one (one call either way)."""
    if not email:
        return
    try:
        _db().update_item(
            TableName=_table("LOGINS_TABLE"),
            Key=_login_key(email),
            UpdateExpression="ADD failed_sign_ins :one",
            ConditionExpression="attribute_exists(email)",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    except _db().exceptions.ConditionalCheckFailedException:
        pass


def _login_key(email: str) -> dict[str, Any]:
    return {"email": {"S": email}, "item": {"S": "login"}}


def _login_and_memberships(email: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The address's login and its memberships: one consistent Query by the logins table's key."""
    items = _db().query(
        TableName=_table("LOGINS_TABLE"),
        KeyConditionExpression="email = :email",
        ExpressionAttributeValues={":email": {"S": email}},
        ConsistentRead=True,
    )["Items"]
    login = next((i for i in items if _s(i, "item") == "login"), None)
    return login, [i for i in items if _s(i, "item").startswith("firm#")]


def _acting(login: dict[str, Any] | None, memberships: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The active membership a request without a firm acts as: the one used last, else the first."""
    active = [m for m in memberships if _active(m)]
    last = _s(login, "last_account_id") if login else ""
    return next((m for m in active if _s(m, "account_id") == last), active[0] if active else None)


def _first(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    return items[0] if items else None


def _batch(keys: dict[str, list[dict[str, Any]]], consistent: set[str]) -> dict[str, list[dict[str, Any]]]:
    """One BatchGetItem over tables (their variables) -> items found, per table variable."""
    request = {
        _table(name): {"Keys": wanted, "ConsistentRead": name in consistent}
        for name, wanted in keys.items()
        if wanted
    }
    found = _db().batch_get_item(RequestItems=request)["Responses"]
    return {name: found.get(_table(name), []) for name in keys}


def _s(item: dict[str, Any], name: str, default: str = "") -> str:
    return str(item[name]["S"]) if name in item else default


def _audit_event(kind: str, account: dict[str, Any], now: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    """An item of the events table, as the service writes it: ``account`` has the account_id and
    firm_id attributes (an account or a membership item), ``detail`` the event's map."""
    return {
        "event_id": {"S": uuid.uuid4().hex},
        "type": {"S": kind},
        "account_id": account["account_id"],
        "firm_id": account["firm_id"],
        "at": {"S": _ts(now)},
        "detail": {"M": detail},
        "ttl": {"N": str(int((now + timedelta(days=400)).timestamp()))},
    }


def _put_new(table: str, item: dict[str, Any], key: str) -> dict[str, Any]:
    """A transaction's put of ``item`` into ``table`` (its variable) unless one with its ``key`` is
    there: a new token, event, session or message marker never overwrites another."""
    return {
        "Put": {
            "TableName": _table(table),
            "Item": item,
            "ConditionExpression": f"attribute_not_exists({key})",
        }
    }


def _mark_used(table: str, token: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A transaction's update that uses ``token`` (of ``table``, its variable) if it is still
    issued: one use per token, however many requests race for it."""
    return {
        "Update": {
            "TableName": _table(table),
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
    }


def _still_active(account: dict[str, Any]) -> dict[str, Any]:
    """A transaction's check that the account is still active with the access version read."""
    return {
        "ConditionCheck": {
            "TableName": _table("ACCOUNTS_TABLE"),
            "Key": {"account_id": account["account_id"]},
            "ConditionExpression": "access_version = :access AND #status = :active",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":access": account.get("access_version", {"N": "0"}),
                ":active": {"S": "active"},
            },
        }
    }


def _commit_password(
    account: dict[str, Any],
    login: dict[str, Any],
    now: datetime,
    event_source_ip: str,
    *,
    reset_id: dict[str, Any],
    link: dict[str, Any] | None,
) -> str:
    """A new password in one transaction, as both a confirmed link and a change while signed in
    write it: the login's new hash and version (condition: the version read), the account still
    active, the link used (when there is one), the password_changed event and the new session.
    Returns its raw token."""
    version = login.get("password_version", {"N": "0"})["N"]
    new_version = str(int(version) + 1)
    raw, session = _session_item(account, new_version, now)
    changed = _audit_event(
        "password_changed", account, now, {"reset_id": reset_id, "source_ip": {"S": event_source_ip}}
    )
    new_password = {
        "Update": {
            "TableName": _table("LOGINS_TABLE"),
            "Key": _login_key(_s(login, "email")),
            "UpdateExpression": "SET password_hash = :hash, password_version = :new, "
            "password_changed_at = :now REMOVE failed_sign_ins",
            "ConditionExpression": "password_version = :old AND attribute_not_exists(locked_at)",
            "ExpressionAttributeValues": {
                ":hash": {"S": _ENV.get("BENCH_STUB_HASH", "stub")},
                ":new": {"N": new_version},
                ":now": {"S": _ts(now)},
                ":old": {"N": version},
            },
        }
    }
    _db().transact_write_items(
        TransactItems=[
            new_password,
            _still_active(account),
            *([_mark_used("RESET_TOKENS_TABLE", link, now)] if link is not None else []),
            _put_new("EVENTS_TABLE", changed, "event_id"),
            _put_new("SESSIONS_TABLE", session, "session_hash"),
        ]
    )
    return raw


def _delivery_record(
    account: dict[str, Any], kind: str, now: datetime, *, requested_by: str | None = None, link: bool = False
) -> dict[str, Any]:
    """The update that writes a mail's delivery record (the staff's deliveries view), keeping any
    SES event already on it."""
    values: dict[str, Any] = {
        ":account_id": account["account_id"],
        ":requested_at": {"S": _iso(now)},
        ":kind": {"S": kind},
        ":email": account["email"],
        ":status": {"S": "sending"},
        ":ttl": {"N": str(int((now + timedelta(days=91)).timestamp()))},
    }
    sets = (
        "account_id = :account_id, requested_at = :requested_at, kind = :kind, email = :email, "
        "#status = :status, #ttl = :ttl"
    )
    if requested_by:
        values[":requested_by"] = {"S": requested_by}
        sets += ", requested_by = :requested_by"
    if link:
        values[":password_version"] = account.get("password_version", {"N": "0"})
        sets += ", password_version = :password_version"
    return {
        "UpdateExpression": f"SET {sets}",
        "ExpressionAttributeNames": {"#status": "status", "#ttl": "ttl"},
        "ExpressionAttributeValues": values,
    }


def _issue_and_send(
    account: dict[str, Any],
    login: dict[str, Any],
    firm_name: str,
    *,
    lifetime: int,
    requested_by: str | None,
    ip: str,
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
        "password_version": login.get("password_version", {"N": "0"}),
        "access_version": account.get("access_version", {"N": "0"}),
        "status": {"S": "issued"},
        "ttl": {"N": str(int((expires_at + timedelta(days=90)).timestamp()))},
    }
    if requested_by:
        token["requested_by"] = {"S": requested_by}
    event = _audit_event(
        "reset_requested", account, now, {"reset_id": {"S": reset_id}, "source_ip": {"S": ip}}
    )
    record = _delivery_record(account, "reset", now, requested_by=requested_by, link=True)
    _db().transact_write_items(
        TransactItems=[
            _still_holds_address(account),
            _put_new("RESET_TOKENS_TABLE", token, "token_hash"),
            _put_new("EVENTS_TABLE", event, "event_id"),
            {
                "Update": {
                    "TableName": _table("DELIVERY_EVENTS_TABLE"),
                    "Key": {"reset_id": {"S": reset_id}},
                    **record,
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
    """Count both limits and queue the request, the same for every address."""
    email = str(json.loads(event["body"])["email"]).strip().lower()
    ip = _source_ip(event)
    by_ip = _hit("self_service_ip", _network(event))
    by_email = _hit("self_service_email", email)
    if by_ip and by_email:
        request = {
            "request_id": uuid.uuid4().hex,
            "email": email,
            "requested_at": _iso(datetime.now(UTC)),
            "meta": {"source_ip": ip},
        }
        _client("sqs").send_message(QueueUrl=_ENV["SELF_SERVICE_QUEUE_URL"], MessageBody=json.dumps(request))
    return _response(202, {"status": "accepted"})


def _self_service_link(request: dict[str, Any]) -> None:
    key = _idempotency_key("self_service_request", request["request_id"])
    if not _claim(key):
        return
    login, memberships = _login_and_memberships(str(request["email"]))
    acting = _acting(login, memberships)
    # A locked login gets nothing: only a link from a firm may lift the lock.
    if (
        login is not None
        and acting is not None
        and "locked_at" not in login
        and _s(login, "email_status", "ok") == "ok"
    ):
        found = _batch(
            {
                "ACCOUNTS_TABLE": [{"account_id": acting["account_id"]}],
                "FIRMS_TABLE": [{"firm_id": acting["firm_id"]}],
            },
            {"ACCOUNTS_TABLE"},
        )
        account, firm = found["ACCOUNTS_TABLE"][0], found["FIRMS_TABLE"][0]
        reset_id = _issue_and_send(
            account,
            login,
            _s(firm, "name"),
            lifetime=int(_ENV["SELF_SERVICE_LINK_LIFETIME_SECONDS"]),
            requested_by=None,
            ip=str(request["meta"].get("source_ip", "unknown")),
        )
        _mark_sent(key, reset_id)


def self_service_link(event: dict[str, Any]) -> dict[str, Any]:
    """An SQS batch of self-service requests; a failed one is reported, so SQS redelivers it."""
    failures = []
    for record in event["Records"]:
        try:
            _self_service_link(json.loads(record["body"]))
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


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
    login = (
        _db()
        .get_item(TableName=_table("LOGINS_TABLE"), Key=_login_key(_s(account, "email")), ConsistentRead=True)
        .get("Item")
    )
    if login is None:
        return _response(404, {"error": {"code": "account_not_found"}})
    if not _hit("staff_send_account", account_id):
        return _response(429, {"error": {"code": "rate_limited"}})
    reset_id = _issue_and_send(
        account,
        login,
        _s(firm, "name"),
        lifetime=int(_ENV["STAFF_LINK_LIFETIME_SECONDS"]),
        requested_by=caller["account_id"],
        ip=_source_ip(event),
    )
    return _response(202, {"reset_id": reset_id})


def _holder(
    token: dict[str, Any], *, with_firm: bool = True
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
    """A token's account and the login of its address, consistently, and (``with_firm``) its
    firm (the page's brand, the confirm's redirect), in one batch."""
    found = _batch(
        {
            "ACCOUNTS_TABLE": [{"account_id": token["account_id"]}],
            "LOGINS_TABLE": [_login_key(token["email"]["S"])],
            "FIRMS_TABLE": [{"firm_id": token["firm_id"]}] if with_firm else [],
        },
        {"ACCOUNTS_TABLE", "LOGINS_TABLE"},
    )
    return _first(found["ACCOUNTS_TABLE"]), _first(found["LOGINS_TABLE"]), _first(found["FIRMS_TABLE"])


def _load_reset(
    raw: str,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any] | None] | None:
    digest = hashlib.sha256(raw.encode()).hexdigest()
    token = (
        _db()
        .get_item(
            TableName=_table("RESET_TOKENS_TABLE"), Key={"token_hash": {"S": digest}}, ConsistentRead=True
        )
        .get("Item")
    )
    if token is None:
        return None
    account, login, firm = _holder(token)
    if (
        account is None
        or login is None
        or _s(token, "status") != "issued"
        or token.get("access_version", {"N": "0"}) != account.get("access_version", {"N": "0"})
        or token["password_version"] != login.get("password_version", {"N": "0"})
        or _s(token, "expires_at") <= _ts(datetime.now(UTC))
        or not _active(account)
    ):
        return None
    return token, account, login, firm


def _page_firm(firm: dict[str, Any] | None) -> dict[str, Any] | None:
    """The firm whose brand the hosted page shows."""
    if firm is None:
        return None
    return {
        "firm_id": _s(firm, "firm_id"),
        "name": _s(firm, "name"),
        "logo_url": _s(firm, "logo_url") or None,
        "color": _s(firm, "brand_color") or None,
        "contact": (
            {"email": _s(firm, "contact_email") or None, "phone": _s(firm, "contact_phone") or None}
            if "contact_email" in firm or "contact_phone" in firm
            else None
        ),
    }


def verify(event: dict[str, Any]) -> dict[str, Any]:
    if not _hit("verify_ip", _network(event)):
        return _response(429, {"error": {"code": "rate_limited"}})
    loaded = _load_reset(str(json.loads(event["body"])["token"]))
    if loaded is None:
        return _response(400, {"error": {"code": "token_invalid"}})
    token, account, _login, firm = loaded
    try:  # the link's mail marked opened, on its first verify only
        _db().update_item(
            TableName=_table("DELIVERY_EVENTS_TABLE"),
            Key={"reset_id": token["reset_id"]},
            UpdateExpression="SET opened_at = :now",
            ConditionExpression="attribute_exists(kind) AND attribute_not_exists(opened_at)",
            ExpressionAttributeValues={":now": {"S": _ts(datetime.now(UTC))}},
        )
    except _db().exceptions.ConditionalCheckFailedException:
        pass
    return _response(
        200,
        {
            "valid": True,
            "expires_at": _s(token, "expires_at"),
            "locale": _s(account, "locale"),
            "firm": _page_firm(firm),
        },
    )


def _session_item(account: dict[str, Any], version: str, now: datetime) -> tuple[str, dict[str, Any]]:
    raw = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=int(_ENV["SESSION_LIFETIME_SECONDS"]))
    return raw, {
        "session_hash": {"S": hashlib.sha256(raw.encode()).hexdigest()},
        "email": account["email"],
        "account_id": account["account_id"],
        "firm_id": account["firm_id"],
        "role": account["role"],
        "password_version": {"N": version},
        "access_version": account.get("access_version", {"N": "0"}),
        "created_at": {"S": _ts(now)},
        "expires_at": {"S": _ts(expires_at)},
        "ttl": {"N": str(int(expires_at.timestamp()))},
    }


def confirm(event: dict[str, Any], *, breached: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """The new password is not hashed: both sides leave argon2id out (it is measured apart).
    ``breached``: the breached-password check, between the link's checks and the write."""
    ip = _source_ip(event)
    if not _hit("confirm_ip", _network(event)):
        return _response(429, {"error": {"code": "rate_limited"}})
    body = json.loads(event["body"])
    loaded = _load_reset(str(body["token"]))
    if loaded is None:
        return _response(400, {"error": {"code": "token_invalid"}})
    if breached is not None and breached(str(body["password"])):
        return _response(422, {"error": {"code": "password_rejected"}})
    token, account, login, firm = loaded
    raw = _commit_password(account, login, datetime.now(UTC), ip, reset_id=token["reset_id"], link=token)
    redirect_url = _s(firm, "portal_url") if firm else ""
    return _response(200, {"redirect_url": redirect_url or _ENV["PORTAL_URL"], "session": {"token": raw}})


@cache
def _range_api() -> tuple[Any, str]:
    """One pooled connection to the range API, and the path before ``/range/``."""
    url = _ENV["BREACHED_PASSWORD_RANGE_URL"]
    return urllib3.connection_from_url(url, maxsize=1, retries=False), urllib3.util.parse_url(url).path or ""


def _breached(password: str) -> bool:
    """The least a k-anonymity lookup does: the SHA-1's prefix asked for with padding, every line
    compared in constant time. (No deadline-bounded read and no skip handling: a fake that always
    answers in time needs none.)"""
    digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
    pool, path = _range_api()
    answer = pool.request(
        "GET", f"{path}/range/{digest[:5]}", headers={"Add-Padding": "true"}, timeout=1.0
    ).data.decode("ascii")
    suffix = digest[5:].encode()
    seen = 0
    for line in answer.split():
        found, _, count = line.partition(":")
        seen = max(seen, int(count) * hmac.compare_digest(found.encode(), suffix))
    return seen > 0


def confirm_breached(event: dict[str, Any]) -> dict[str, Any]:
    return confirm(event, breached=_breached)


def sign_in(event: dict[str, Any]) -> dict[str, Any]:
    """The password is not verified against its hash: both sides leave argon2id out."""
    body = json.loads(event["body"])
    email = str(body["email"]).strip().lower()
    chosen: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []

    def read_login() -> dict[str, Any] | None:
        login, memberships = _login_and_memberships(email)
        acting = _acting(login, memberships)
        if login is None or acting is None:
            return None
        chosen.append((acting, [m for m in memberships if _active(m)]))
        return login

    try:
        login = _password_attempt(event, email, body.get("password"), read_login)
    except _Refused as refused:
        return refused.response
    acting, active = chosen[0]
    found = _batch(
        {
            "ACCOUNTS_TABLE": [{"account_id": acting["account_id"]}],
            "FIRMS_TABLE": [{"firm_id": m["firm_id"]} for m in active],
        },
        {"ACCOUNTS_TABLE"},
    )
    account = found["ACCOUNTS_TABLE"][0]
    raw, session = _session_item(account, login.get("password_version", {"N": "0"})["N"], datetime.now(UTC))
    _db().transact_write_items(
        TransactItems=[
            _still_holds_address(account),
            {
                "Put": {
                    "TableName": _table("SESSIONS_TABLE"),
                    "Item": session,
                    "ConditionExpression": "attribute_not_exists(session_hash)",
                }
            },
        ]
    )
    firm_names = {_s(f, "firm_id"): _s(f, "name") for f in found["FIRMS_TABLE"]}
    return _response(
        201,
        {
            "session": {"token": raw},
            "account": {"account_id": _s(account, "account_id")},
            "accounts": [
                {"account_id": _s(m, "account_id"), "firm_name": firm_names.get(_s(m, "firm_id"), "")}
                for m in active
            ],
        },
    )


def _still_holds_address(account: dict[str, Any]) -> dict[str, Any]:
    """The condition the service puts on a session, a link or a lock link: the account still has the address
    it was read with (erasure's tombstone replaces it first, issue #24.6)."""
    return {
        "ConditionCheck": {
            "TableName": _table("ACCOUNTS_TABLE"),
            "Key": {"account_id": account["account_id"]},
            "ConditionExpression": "email = :email",
            "ExpressionAttributeValues": {":email": account["email"]},
        }
    }


# ---------------------------------------------------------------------------------------- notification

_IDEMPOTENCY_SECONDS = 48 * 3600  # as pwreset.credentials.notifications keeps its records
# An owner's mail about a login's password: one per (login, owner) in this long (the same module).
_OWNER_MAIL_COALESCE_SECONDS = 600
_IN_PROGRESS_MS = 10_000  # the invocation's remaining time (the bench's context says 10 s)


def _idempotency_key(prefix: str, data: Any) -> dict[str, Any]:
    """The key powertools' idempotency utility gives ``data`` under ``prefix``."""
    digest = hashlib.md5(json.dumps(data, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
    return {"id": {"S": f"{prefix}#{digest}"}}


def _claim(key: dict[str, Any], seconds: int = _IDEMPOTENCY_SECONDS) -> bool:
    """False when the mail was already sent; raises while another attempt holds it."""
    now = time.time()
    try:
        _db().put_item(
            TableName=_table("IDEMPOTENCY_TABLE"),
            Item={
                **key,
                "expiration": {"N": str(int(now) + seconds)},
                "status": {"S": "INPROGRESS"},
                "in_progress_expiration": {"N": str(int(now * 1000) + _IN_PROGRESS_MS)},
            },
            ConditionExpression="attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress "
            "AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)",
            ExpressionAttributeNames={
                "#id": "id",
                "#expiry": "expiration",
                "#status": "status",
                "#in_progress_expiry": "in_progress_expiration",
            },
            ExpressionAttributeValues={
                ":now": {"N": str(int(now))},
                ":now_in_millis": {"N": str(int(now * 1000))},
                ":inprogress": {"S": "INPROGRESS"},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except _db().exceptions.ConditionalCheckFailedException as exc:
        if exc.response.get("Item", {}).get("status", {}).get("S") == "COMPLETED":
            return False
        raise
    return True


def _mark_sent(key: dict[str, Any], message_id: str, seconds: int = _IDEMPOTENCY_SECONDS) -> None:
    _db().update_item(
        TableName=_table("IDEMPOTENCY_TABLE"),
        Key=key,
        UpdateExpression="SET #data = :data, #expiry = :expiry, #status = :status",
        ExpressionAttributeNames={"#data": "data", "#expiry": "expiration", "#status": "status"},
        ExpressionAttributeValues={
            ":data": {"S": json.dumps({"message_id": message_id})},
            ":expiry": {"N": str(int(time.time()) + seconds)},
            ":status": {"S": "COMPLETED"},
        },
    )


def _changed_mail(
    reader: dict[str, Any],
    client: dict[str, Any],
    firm_name: str,
    image: dict[str, Any],
    lock_link: str | None = None,
) -> dict[str, Any]:
    detail = {k: v.get("S", "") for k, v in image.get("detail", {}).get("M", {}).items()}
    facts = (
        f"{_s(client, 'name')} ({_s(client, 'email')}) changed the password at {_s(image, 'at')} "
        f"from {detail.get('source_ip', 'unknown')} ({detail.get('city', '')}, "
        f"{detail.get('country_name', '')}) with {detail.get('user_agent', 'unknown')}."
    )
    if lock_link:
        facts += f" It wasn't me: {lock_link}"
    text = f"Hello {_s(reader, 'name')},\n\n{facts}\n\n{firm_name}\n"
    return {
        "Simple": {
            "Subject": {"Data": "Password changed", "Charset": "UTF-8"},
            "Body": {
                "Text": {"Data": text, "Charset": "UTF-8"},
                "Html": {"Data": f"<p>Hello {_s(reader, 'name')},</p><p>{facts}</p>", "Charset": "UTF-8"},
            },
        }
    }


def _put_lock_token(client: dict[str, Any], image: dict[str, Any]) -> str:
    """The client's "It wasn't me" link: 256 random bits, only the digest stored, 7 days; the same
    record the service stores (bound to the change it reports, with that change's facts), so the
    lock route could read it and the write costs what the service's costs."""
    raw = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires_at = now + timedelta(days=7)
    detail = image.get("detail", {}).get("M", {})
    facts = {
        name: detail[name]
        for name in ("source_ip", "user_agent", "country", "country_name", "region", "city")
        if detail.get(name, {}).get("S")
    }
    _db().transact_write_items(
        TransactItems=[
            _still_holds_address(client),
            {
                "Put": {
                    "TableName": _table("LOCK_TOKENS_TABLE"),
                    "Item": {
                        "token_hash": {"S": hashlib.sha256(raw.encode()).hexdigest()},
                        "account_id": client["account_id"],
                        "firm_id": image["firm_id"],
                        "email": client["email"],
                        "change_event_id": image["event_id"],
                        "change": detail.get("change", {"S": "reset"}),
                        "changed_at": image["at"],
                        "change_facts": {"M": facts},
                        "created_at": {"S": _ts(now)},
                        "expires_at": {"S": _ts(expires_at)},
                        "access_version": client.get("access_version", {"N": "0"}),
                        "status": {"S": "issued"},
                        "ttl": {"N": str(int((expires_at + timedelta(days=30)).timestamp()))},
                    },
                    "ConditionExpression": "attribute_not_exists(token_hash)",
                }
            },
        ]
    )
    return f"{_ENV['RESET_PAGE_URL']}#lock={raw}"


def _notify_record(record: dict[str, Any]) -> None:
    image = record["dynamodb"].get("NewImage", {})
    if record.get("eventName") != "INSERT" or _s(image, "type") != "password_changed":
        return
    event_id = _s(image, "event_id")
    found = _batch(
        {
            "ACCOUNTS_TABLE": [{"account_id": image["account_id"]}],
            "FIRMS_TABLE": [{"firm_id": image["firm_id"]}],
        },
        {"ACCOUNTS_TABLE"},
    )
    client = _first(found["ACCOUNTS_TABLE"])
    if client is None:
        raise LookupError("account not found")
    firm_name = _s((found["FIRMS_TABLE"] or [{}])[0], "name")
    # The client's login (its address's verdict) and its memberships: every firm where it has an
    # active account tells its owners (one firm here).
    client_login, memberships = _login_and_memberships(_s(client, "email"))
    firm_ids = list(
        dict.fromkeys([_s(image, "firm_id")] + [_s(m, "firm_id") for m in memberships if _active(m)])
    )
    owners = [
        owner
        for firm_id in firm_ids
        for owner in _db().query(
            TableName=_table("ACCOUNTS_TABLE"),
            IndexName="by_firm_role",
            KeyConditionExpression="firm_id = :firm AND #role = :owner",
            ExpressionAttributeNames={"#role": "role"},
            ExpressionAttributeValues={":firm": {"S": firm_id}, ":owner": {"S": "owner"}},
        )["Items"]
        if _s(owner, "email") != _s(client, "email")
    ]
    owner_logins = _batch({"LOGINS_TABLE": [_login_key(_s(o, "email")) for o in owners]}, {"LOGINS_TABLE"})
    verdicts = {_s(login, "email"): _s(login, "email_status", "ok") for login in owner_logins["LOGINS_TABLE"]}
    if client_login is not None:
        verdicts[_s(client, "email")] = _s(client_login, "email_status", "ok")
    readers = [*((owner, "password_changed_owner") for owner in owners), (client, "password_changed_client")]
    for reader, kind in readers:
        if not _active(reader) or verdicts.get(_s(reader, "email")) != "ok":
            continue
        if reader is client:
            key, seconds = (
                _idempotency_key("password_changed_mail", [event_id, _s(reader, "account_id")]),
                _IDEMPOTENCY_SECONDS,
            )
        else:  # an owner hears of the login's changes once in a while
            key = _idempotency_key(
                "password_changed_owner_mail", [_s(client, "email"), _s(reader, "account_id")]
            )
            seconds = _OWNER_MAIL_COALESCE_SECONDS
        if not _claim(key, seconds):
            continue
        lock_link = _put_lock_token(client, image) if reader is client else None
        tags = [{"Name": "kind", "Value": kind}, {"Name": "event_id", "Value": event_id}]
        if reader is client:  # a mail to the client: its delivery record, under an id its retries share
            reset_id = hashlib.sha256(f"{event_id}\x1f{_s(client, 'account_id')}".encode()).hexdigest()[:32]
            _db().update_item(
                TableName=_table("DELIVERY_EVENTS_TABLE"),
                Key={"reset_id": {"S": reset_id}},
                **_delivery_record(client, "password_changed", datetime.now(UTC)),
            )
            tags.append({"Name": "reset_id", "Value": reset_id})
        request: dict[str, Any] = {
            "FromEmailAddress": _ENV["SENDER_ADDRESS"],
            "Destination": {"ToAddresses": [_s(reader, "email")]},
            "Content": _changed_mail(reader, client, firm_name, image, lock_link),
            "EmailTags": tags,
        }
        if _ENV.get("SES_CONFIGURATION_SET"):
            request["ConfigurationSetName"] = _ENV["SES_CONFIGURATION_SET"]
        _mark_sent(key, _client("sesv2").send_email(**request)["MessageId"], seconds)


def notify(event: dict[str, Any]) -> dict[str, Any]:
    """A stream batch; a record that fails is reported, so Lambda retries from it."""
    failures = []
    for record in event["Records"]:
        try:
            _notify_record(record)
        except Exception:
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    return {"batchItemFailures": failures}


# ---------------------------------------------------------------------------------------- SES event

_SNS_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
}
_SNS_CERT_URL = re.compile(
    r"https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/SimpleNotificationService-[\w-]+\.pem"
)


@cache
def _sns_public_key() -> Any:
    """The trusted certificate's key, loaded once per process (as the service does)."""
    from cryptography import x509

    with open(_ENV["SNS_TRUSTED_CERT_PEM_PATH"], "rb") as pem:
        return x509.load_pem_x509_certificate(pem.read()).public_key()


def _verified(event: dict[str, Any]) -> dict[str, Any] | None:
    """The SNS message, when it is a notification from our topic with a valid signature."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    body = json.loads(event["body"])
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if body.get("Type") not in _SNS_SIGNED or headers.get("x-amz-sns-message-type") != body["Type"]:
        return None
    algorithm = {"1": hashes.SHA1, "2": hashes.SHA256}.get(body.get("SignatureVersion", ""))
    if (
        body.get("TopicArn") != _ENV["SES_EVENTS_TOPIC_ARN"]
        or algorithm is None
        or not _SNS_CERT_URL.fullmatch(body.get("SigningCertURL", ""))
    ):
        return None
    signed = "".join(f"{n}\n{body[n]}\n" for n in _SNS_SIGNED[body["Type"]] if body.get(n) is not None)
    try:
        _sns_public_key().verify(
            base64.b64decode(body["Signature"]), signed.encode(), padding.PKCS1v15(), algorithm()
        )
    except (InvalidSignature, ValueError):
        return None
    return dict(body)


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ses_event(event: dict[str, Any]) -> dict[str, Any]:
    message = _verified(event)
    if message is None:
        return _response(403, {"error": {"code": "signature_invalid"}})
    now = datetime.now(UTC)
    if now - _utc(message["Timestamp"]) > timedelta(days=7):
        return _response(200, {"status": "ignored"})
    ses = json.loads(message["Message"])
    bounce, mail = ses["bounce"], ses["mail"]
    recipients = [
        {
            "email": r["emailAddress"].lower(),
            "action": r.get("action"),
            "status": r.get("status"),
            "diagnostic_code": (r.get("diagnosticCode") or "").splitlines()[0][:300] or None,
        }
        for r in bounce.get("bouncedRecipients", [])
    ]
    at = _iso(_utc(bounce["timestamp"]))
    entry = {
        "key": f"bounce|{at}|{bounce.get('feedbackId', '')}",
        "type": "bounce",
        "at": at,
        "detail": {
            "bounce_type": bounce.get("bounceType"),
            "bounce_subtype": bounce.get("bounceSubType"),
            "recipients": recipients,
        },
    }
    items: list[dict[str, Any]] = [
        _put_new(
            "SNS_MESSAGES_TABLE",
            {
                "message_id": {"S": message["MessageId"]},
                "received_at": {"S": _ts(now)},
                "ttl": {"N": str(int((now + timedelta(days=14)).timestamp()))},
            },
            "message_id",
        ),
        {
            "Update": {
                "TableName": _table("DELIVERY_EVENTS_TABLE"),
                "Key": {"reset_id": {"S": mail["tags"]["reset_id"][0]}},
                "UpdateExpression": "SET events = list_append(if_not_exists(events, :none), :entry), "
                "message_id = :message_id, #ttl = :ttl",
                "ExpressionAttributeNames": {"#ttl": "ttl"},
                "ExpressionAttributeValues": {
                    ":none": {"L": []},
                    ":entry": {"L": [{"S": json.dumps(entry, ensure_ascii=False, sort_keys=True)}]},
                    ":message_id": {"S": mail["messageId"]},
                    ":ttl": {"N": str(int((now + timedelta(days=91)).timestamp()))},
                },
            }
        },
    ]
    if bounce.get("bounceType") == "Permanent":
        # The verdict is the address's login's; each active account of it gets an audit event.
        for recipient in recipients:
            _login, memberships = _login_and_memberships(recipient["email"])
            for membership in (m for m in memberships if _active(m)):
                verdict = _audit_event(
                    "email_undeliverable", membership, now, {"email_status": {"S": "undeliverable"}}
                )
                items.append(_put_new("EVENTS_TABLE", verdict, "event_id"))
            items.append(
                {
                    "Update": {
                        "TableName": _table("LOGINS_TABLE"),
                        "Key": _login_key(recipient["email"]),
                        "UpdateExpression": "SET email_status = :undeliverable",
                        "ConditionExpression": "attribute_exists(email) AND email_status <> :undeliverable "
                        "AND email_status <> :complained",
                        "ExpressionAttributeValues": {
                            ":undeliverable": {"S": "undeliverable"},
                            ":complained": {"S": "complained"},
                        },
                    }
                }
            )
    _db().transact_write_items(TransactItems=items)
    return _response(200, {"status": "recorded"})


# ---------------------------------------------------------------------------------------- provisioning


def provisioning_put(event: dict[str, Any]) -> dict[str, Any]:
    """PUT /v1/admin/accounts/{id} updating an existing account (API Gateway checked the SigV4)."""
    account_id = event["pathParameters"]["account_id"]
    body = json.loads(event["body"])
    db = _db()
    email = str(body["email"]).strip().lower()
    # Every key is in the request: the firm, the account, the address's login and its membership
    # in the firm, in one batch.
    found = _batch(
        {
            "FIRMS_TABLE": [{"firm_id": {"S": body["firm_id"]}}],
            "ACCOUNTS_TABLE": [{"account_id": {"S": account_id}}],
            "LOGINS_TABLE": [
                _login_key(email),
                {"email": {"S": email}, "item": {"S": f"firm#{body['firm_id']}"}},
            ],
        },
        {"FIRMS_TABLE", "ACCOUNTS_TABLE", "LOGINS_TABLE"},
    )
    if not found["FIRMS_TABLE"]:
        return _response(404, {"error": {"code": "firm_not_found"}})
    account = _first(found["ACCOUNTS_TABLE"])
    if account is None or _s(account, "firm_id") != body["firm_id"]:
        return _response(409, {"error": {"code": "firm_mismatch"}})
    membership = next((i for i in found["LOGINS_TABLE"] if _s(i, "item").startswith("firm#")), None)
    if membership is not None and _s(membership, "account_id") != account_id:
        return _response(409, {"error": {"code": "email_taken"}})
    fields = {k: body[k] for k in ("name", "locale", "time_zone", "role", "email") if k in body}
    changed = {k: v for k, v in fields.items() if _s(account, "timezone" if k == "time_zone" else k) != v}
    if not changed:
        return _response(200, {"account": {"account_id": account_id}})
    names = {f"#f{i}": "timezone" if k == "time_zone" else k for i, k in enumerate(changed)}
    values = {f":v{i}": {"S": v} for i, v in enumerate(changed.values())}
    revision = account.get("revision", {"N": "0"})["N"]
    now = datetime.now(UTC)
    audit = _audit_event(
        "account_provisioned",
        {"account_id": {"S": account_id}, "firm_id": {"S": body["firm_id"]}},
        now,
        {"fields": {"L": [{"S": k} for k in sorted(changed)]}},
    )
    db.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": _table("ACCOUNTS_TABLE"),
                    "Key": {"account_id": {"S": account_id}},
                    "UpdateExpression": "SET "
                    + ", ".join(f"#f{i} = :v{i}" for i in range(len(changed)))
                    + ", revision = :next",
                    "ConditionExpression": "revision = :revision",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": {
                        **values,
                        ":next": {"N": str(int(revision) + 1)},
                        ":revision": {"N": revision},
                    },
                }
            },
            _put_new("EVENTS_TABLE", audit, "event_id"),
        ]
    )
    return _response(200, {"account": {"account_id": account_id, **changed}})


# ---------------------------------------------------------------------------------------- change password


def change_password(event: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/sessions/current/password. Neither side hashes or verifies (argon2id is measured
    apart); the policy check is the service's own work and counts against it."""
    caller = event["requestContext"]["authorizer"]
    body = json.loads(event["body"])
    found = _batch(
        {
            "ACCOUNTS_TABLE": [{"account_id": {"S": caller["account_id"]}}],
            "FIRMS_TABLE": [{"firm_id": {"S": caller["firm_id"]}}],
            "LOGINS_TABLE": [_login_key(caller["email"])],
        },
        {"ACCOUNTS_TABLE", "LOGINS_TABLE"},
    )
    account = _first(found["ACCOUNTS_TABLE"])
    login = _first(found["LOGINS_TABLE"])
    if account is None or login is None:
        return _response(401, {"error": {"code": "unauthorized"}})
    try:
        _password_attempt(event, _s(login, "email"), body.get("current_password"), lambda: login)
    except _Refused as refused:
        return refused.response
    if len(body["new_password"]) < int(_ENV["PASSWORD_MIN_LENGTH"]):
        return _response(422, {"error": {"code": "password_rejected"}})
    allowed, counted = _count("password_change_login", _s(login, "email"))
    if not allowed:  # only changes made count
        _refund(counted)
        return _response(429, {"error": {"code": "rate_limited"}})
    raw = _commit_password(
        account, login, datetime.now(UTC), _source_ip(event), reset_id={"NULL": True}, link=None
    )
    return _response(200, {"session": {"token": raw}})


# ---------------------------------------------------------------------------------------- lock


def lock(event: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/account-locks: the "It wasn't me" link of a password-changed mail locks the account."""
    ip = _source_ip(event)
    if not _hit("lock_ip", _network(event)):
        return _response(429, {"error": {"code": "rate_limited"}})
    raw = str(json.loads(event["body"])["token"])
    db = _db()
    token = db.get_item(
        TableName=_table("LOCK_TOKENS_TABLE"),
        Key={"token_hash": {"S": hashlib.sha256(raw.encode()).hexdigest()}},
        ConsistentRead=True,
    ).get("Item")
    if token is None:
        return _response(404, {"error": {"code": "token_invalid"}})
    account, login, _ = _holder(token, with_firm=False)
    now = datetime.now(UTC)
    if (
        account is None
        or login is None
        or _s(token, "status") != "issued"
        or _s(token, "expires_at") <= _ts(now)
        or not _active(account)
        or token.get("access_version", {"N": "0"}) != account.get("access_version", {"N": "0"})
    ):
        return _response(404, {"error": {"code": "token_invalid"}})
    locked = _audit_event(
        "account_locked",
        account,
        now,
        {
            "reported_event_id": token["change_event_id"],
            "reported_change": token["change"],
            "reported_at": token["changed_at"],
            "reported": token.get("change_facts", {"M": {}}),
            "already_locked": {"BOOL": "locked_at" in login},
            "source_ip": {"S": ip},
        },
    )
    db.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": _table("LOGINS_TABLE"),
                    "Key": _login_key(_s(login, "email")),
                    # The version bump ends every session and open link of every account of the
                    # login: no write of their own.
                    "UpdateExpression": "SET locked_at = if_not_exists(locked_at, :now), "
                    "lock_event_id = :event ADD password_version :one",
                    "ConditionExpression": "attribute_exists(email)",
                    "ExpressionAttributeValues": {
                        ":now": {"S": _ts(now)},
                        ":event": locked["event_id"],
                        ":one": {"N": "1"},
                    },
                }
            },
            _still_active(account),
            _mark_used("LOCK_TOKENS_TABLE", token, now),
            _put_new("EVENTS_TABLE", locked, "event_id"),
        ]
    )
    return _response(200, {"status": "locked"})
