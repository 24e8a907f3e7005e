"""Logins and memberships for accounts made before logins existed (issue #22).

Before logins, an account held its own credential (``password_hash``, ``password_version``,
``password_changed_at``, ``locked_at``, ``lock_event_id``) and what SES said of its address
(``email_status``), and an address belonged to one account across the whole portal. This
migration gives every such account its membership (``firm#<firm_id>``) of its address's login, makes
the login from the account's credential, and removes the moved attributes from the account, one
account per transaction:

* the membership is put only where there is none (``attribute_not_exists``): an account migrated
  before is left alone, so the migration can run again, and stop and resume anywhere;
* the login is counted up and takes each moved attribute only where it has none yet
  (``if_not_exists``), so the password version links were issued for carries over: links mailed
  before the migration keep working;
* the account loses the moved attributes on the revision it was read at (a concurrent PUT makes
  the transaction fail; the account is read again and migrated then).

Sessions opened before the migration carry no address and end: everyone signs in again once.
An account being erased is left to the next ``DELETE``, which finishes it.

Run once right after deploying (docs/operations.md), with the stack's table names::

    python -m pwreset.accounts.migration --accounts-table <AccountsTableName> \\
        --logins-table <LoginsTableName> --region eu-central-1

It talks to DynamoDB with a plain botocore client and reads no other configuration.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

# What moved from the account to its login.
MOVED = (
    "password_hash",
    "password_version",
    "password_changed_at",
    "locked_at",
    "lock_event_id",
    "email_status",
)
# The account read again this often when a concurrent write got in between.
MAX_ATTEMPTS = 3
_DATETIME = "%Y-%m-%dT%H:%M:%S.%f+0000"  # pynamodb's UTCDateTimeAttribute format


@dataclass
class Report:
    """What one run did: accounts seen, migrated now, found migrated before, left to their erasure,
    and those whose address another account of the same firm already has (a person must decide)."""

    accounts: int = 0
    migrated: int = 0
    already: int = 0
    erasing: int = 0
    conflicts: int = 0


def migrate(dynamodb: Any, *, accounts_table: str, logins_table: str) -> Report:
    """Migrate every account of ``accounts_table`` (see the module's docstring); safe to run again."""
    report = Report()
    for account in _accounts(dynamodb, accounts_table):
        report.accounts += 1
        outcome = migrate_account(dynamodb, account, accounts_table=accounts_table, logins_table=logins_table)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _accounts(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**request)
        yield from page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def migrate_account(dynamodb: Any, account: dict[str, Any], *, accounts_table: str, logins_table: str) -> str:
    """One account: ``migrated``, ``already``, ``erasing`` or ``conflicts`` (a field of
    :class:`Report`)."""
    for _attempt in range(MAX_ATTEMPTS):
        if account.get("status", {}).get("S", "active") == "erasing":
            return "erasing"
        try:
            dynamodb.transact_write_items(TransactItems=_items(account, accounts_table, logins_table))
            return "migrated"
        except dynamodb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return _membership_outcome(dynamodb, account, logins_table)
        fresh = dynamodb.get_item(
            TableName=accounts_table, Key={"account_id": account["account_id"]}, ConsistentRead=True
        )
        if "Item" not in fresh:
            return "erasing"  # erased meanwhile: nothing left to migrate
        account = fresh["Item"]
    raise RuntimeError(f"account {account['account_id']['S']} kept changing; run the migration again")


def _membership_outcome(dynamodb: Any, account: dict[str, Any], logins_table: str) -> str:
    """The membership exists: this account's (migrated before) or another account's of the firm."""
    found = dynamodb.get_item(TableName=logins_table, Key=_membership_key(account), ConsistentRead=True)
    mine = found.get("Item", {}).get("account_id") == account["account_id"]
    return "already" if mine else "conflicts"


def _membership_key(account: dict[str, Any]) -> dict[str, Any]:
    return {"email": account["email"], "item": {"S": f"firm#{account['firm_id']['S']}"}}


def _items(account: dict[str, Any], accounts_table: str, logins_table: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC).strftime(_DATETIME)
    membership = {
        **_membership_key(account),
        "account_id": account["account_id"],
        "firm_id": account["firm_id"],
        "role": account["role"],
        "status": account.get("status", {"S": "active"}),
    }
    values: dict[str, Any] = {
        ":one": {"N": "1"},
        ":now": {"S": now},
        ":me": account["account_id"],
        ":password_version": account.get("password_version", {"N": "0"}),
        ":email_status": account.get("email_status", {"S": "ok"}),
    }
    sets = [
        "created_at = if_not_exists(created_at, :now)",
        "last_account_id = if_not_exists(last_account_id, :me)",
        "password_version = if_not_exists(password_version, :password_version)",
        "email_status = if_not_exists(email_status, :email_status)",
    ]
    for name in ("password_hash", "password_changed_at", "locked_at", "lock_event_id"):
        if name in account:
            values[f":{name}"] = account[name]
            sets.append(f"{name} = if_not_exists({name}, :{name})")
    login = {
        "TableName": logins_table,
        "Key": {"email": account["email"], "item": {"S": "login"}},
        "UpdateExpression": "ADD account_count :one SET " + ", ".join(sets),
        "ExpressionAttributeValues": values,
    }
    revision = account.get("revision")
    stripped: dict[str, Any] = {
        "TableName": accounts_table,
        "Key": {"account_id": account["account_id"]},
        "UpdateExpression": "REMOVE " + ", ".join(MOVED),
        "ConditionExpression": "revision = :revision" if revision else "attribute_not_exists(revision)",
    }
    if revision:
        stripped["ExpressionAttributeValues"] = {":revision": revision}
    return [
        {
            "Put": {
                "TableName": logins_table,
                "Item": membership,
                "ConditionExpression": "attribute_not_exists(email)",
            }
        },
        {"Update": login},
        {"Update": stripped},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make logins and memberships from pre-#22 accounts.")
    parser.add_argument("--accounts-table", required=True, help="the stack's AccountsTableName output")
    parser.add_argument("--logins-table", required=True, help="the stack's LoginsTableName output")
    parser.add_argument("--region", default=None, help="default: the AWS configuration's")
    args = parser.parse_args(argv)
    # deferred: only the command line makes a client of its own
    import botocore.session

    dynamodb = botocore.session.get_session().create_client("dynamodb", region_name=args.region)
    report = migrate(dynamodb, accounts_table=args.accounts_table, logins_table=args.logins_table)
    print(json.dumps(asdict(report)))
    return 1 if report.conflicts else 0


if __name__ == "__main__":
    raise SystemExit(main())
