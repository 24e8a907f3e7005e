"""A login and the accounts that share it, read by address.

Per address the logins table holds the credential (range key ``login``) and one membership per
firm (``firm#<firm_id>``): :func:`accounts_of_login` reads all of them with one strongly consistent
``Query`` by the table's key, which is what sign-in, self-service, a session's account list and the
notifications need. No scan, no index.

This is the one place that lists a login's accounts and their firms (:class:`LoginAccounts`):
whatever needs "every account of this person" (the notifications, the events for the CRM) asks
here. The writes that keep a login and its memberships in step with the accounts (:func:`join`,
:func:`leave`, :func:`copy_to_membership`) are pieces of the account's own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.transactions import TransactWrite

from pwreset.core import aws
from pwreset.core.config import settings
from pwreset.core.observability import logger
from pwreset.storage.accounts import MAX_EMAIL_LENGTH
from pwreset.storage.models import LOGIN_ITEM, MEMBERSHIP_PREFIX, Login, Membership, membership_item


@dataclass(frozen=True)
class LoginAccounts:
    """An address's login (``None`` when there is none) and its memberships, in firm order."""

    email: str
    login: Login | None
    memberships: tuple[Membership, ...] = ()

    @property
    def active(self) -> list[Membership]:
        """The memberships of active accounts: the accounts this login may act as."""
        return [m for m in self.memberships if m.is_active]

    def active_in(self, firm_id: str) -> Membership | None:
        return next((m for m in self.active if m.firm_id == firm_id), None)

    def active_account(self, account_id: str) -> Membership | None:
        return next((m for m in self.active if m.account_id == account_id), None)

    def acting(self, firm_id: str | None = None) -> Membership | None:
        """The account a sign-in acts as: the active one in ``firm_id`` when a firm is named (none
        there: ``None``); without a firm the one used last while it is active, else the first
        active one."""
        if firm_id is not None:
            return self.active_in(firm_id)
        last = self.login.last_account_id if self.login is not None else None
        return (self.active_account(last) if last else None) or next(iter(self.active), None)


def accounts_of_login(email: str) -> LoginAccounts:
    """The login of ``email`` and every membership of it, in one strongly consistent ``Query``
    (paged only past DynamoDB's 1 MB, i.e. never for a person's handful of firms)."""
    if not email or len(email) > MAX_EMAIL_LENGTH:
        return LoginAccounts(email=email, login=None)
    client = aws.dynamodb_client()
    login: Login | None = None
    memberships: list[Membership] = []
    request: dict[str, Any] = {
        "TableName": settings().logins_table,
        "KeyConditionExpression": "email = :email",
        "ExpressionAttributeValues": {":email": {"S": email}},
        "ConsistentRead": True,
    }
    while True:
        page = client.query(**request)
        for item in page.get("Items", []):
            kind = item.get("item", {}).get("S", "")
            if kind == LOGIN_ITEM:
                login = Login.from_raw_data(item)
            elif kind.startswith(MEMBERSHIP_PREFIX):
                memberships.append(Membership.from_raw_data(item))
        if not page.get("LastEvaluatedKey"):
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return LoginAccounts(email=email, login=login, memberships=tuple(memberships))


# ---------------------------------------------------------------------------------------- failures


def count_failed_sign_in(email: str) -> None:
    """One more wrong password in a row for ``email``'s login: an atomic ``ADD`` on the login item.

    The same single call whether or not the address has a login (the condition keeps an unknown
    address from making an item, and its refusal is the answer), so a failure costs a known and
    an unknown address the same calls. A counter that cannot be written (throttling) is logged and
    the sign-in still answers its 401: it is a limit, not the answer."""
    try:
        aws.dynamodb_client().update_item(
            TableName=settings().logins_table,
            Key={"email": {"S": email}, "item": {"S": LOGIN_ITEM}},
            UpdateExpression="ADD failed_sign_ins :one",
            ConditionExpression="attribute_exists(email)",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            logger.warning("failed sign-in not counted", extra={"error": type(exc).__name__})


def clear_failed_sign_ins(login: Login) -> None:
    """A right password (below the limit) ends the run of failures."""
    try:
        login.update(actions=[Login.failed_sign_ins.remove()], condition=Login.email.exists())
    except Exception as exc:  # the count stays; the next right password clears it
        logger.warning("failed sign-ins not cleared", extra={"error": type(exc).__name__})


# ---------------------------------------------------------------------------------------- writes
# The pieces of an account's transaction that keep its login and membership in step (provisioning
# writes them with the account, in the same transaction).


def join(
    tx: TransactWrite, account_id: str, email: str, firm_id: str, *, role: str, status: str, now: datetime
) -> None:
    """The account becomes the membership of ``email``'s login in ``firm_id``: a conditional put of
    the membership (the address is unique within the firm: another account's there fails it, the
    caller's ``409 email_taken``) and the login counted up, made when it is new (no password yet)."""
    tx.save(
        Membership(
            email, membership_item(firm_id), account_id=account_id, firm_id=firm_id, role=role, status=status
        ),
        condition=Membership.email.does_not_exist(),
    )
    tx.update(
        Login(email, LOGIN_ITEM),
        actions=[
            Login.account_count.add(1),
            Login.created_at.set(Login.created_at | now),
            Login.password_version.set(Login.password_version | 0),
            Login.email_status.set(Login.email_status | "ok"),
            Login.last_account_id.set(Login.last_account_id | account_id),
        ],
    )


def leave(tx: TransactWrite, account_id: str, email: str, firm_id: str, login: Login | None) -> None:
    """The account stops being a membership of ``email``'s login; the login goes with its last
    membership. ``login`` as read: its count is the condition, so a concurrent join (or leave) makes
    the transaction fail and the caller compute it again."""
    tx.delete(
        Membership(email, membership_item(firm_id)),
        condition=(Membership.account_id == account_id) | Membership.email.does_not_exist(),
    )
    if login is None:
        return
    counted = Login.account_count == login.account_count
    if int(login.account_count) <= 1:
        tx.delete(Login(email, LOGIN_ITEM), condition=counted)
    else:
        tx.update(Login(email, LOGIN_ITEM), actions=[Login.account_count.add(-1)], condition=counted)


def copy_to_membership(tx: TransactWrite, account_id: str, email: str, firm_id: str, **changes: str) -> None:
    """What the membership copies of its account (role, status), changed with the account."""
    tx.update(
        Membership(email, membership_item(firm_id)),
        actions=[getattr(Membership, name).set(value) for name, value in changes.items()],
        condition=Membership.account_id == account_id,
    )
