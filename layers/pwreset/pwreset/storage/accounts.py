"""Data access for accounts, firms and logins: every flow reads them through here.

* :func:`read_together`: accounts, firms and logins by key in one ``BatchGetItem`` (the keys are
  known from the request, the session or the stream record), accounts and logins read
  consistently, since their status, versions and lock decide what happens next;
* :func:`account_and_firm`: the common case of that, one account and one firm;
* :func:`get_or_none`: one item (of any table) by key, ``None`` when it is not there;
* :func:`account_fields`: the attributes an API's view of an account shows;
* :func:`firm_owners`: the owners a firm's notifications go to;
* :func:`mail_block_reason`: the one rule for "may we mail this account", with the reason when not;
* :func:`account_status`: what the views call an account: active, locked or archived.

A login and its memberships by address: :mod:`pwreset.storage.logins`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from pwreset.core import aws
from pwreset.core.config import settings
from pwreset.storage.models import LOGIN_ITEM, Account, Firm, Login, Membership, membership_item

# Account ids come from the CRM; anything longer is not one of ours and costs no read.
MAX_ID_LENGTH = 128
# The longest address an account can have (the API's limit): a login key longer is none of ours.
MAX_EMAIL_LENGTH = 320
# DynamoDB's limit of keys per BatchGetItem.
BATCH_GET_LIMIT = 100


def get_or_none[M: Model](
    model: type[M], key: str, *, consistent_read: bool = False, range_key: str | None = None
) -> M | None:
    """The item of ``model``'s table with hash key ``key`` (and ``range_key``, for a table that has
    one), or ``None`` (also for an empty or overlong key)."""
    if not key or len(key) > (MAX_EMAIL_LENGTH if range_key else MAX_ID_LENGTH):
        return None
    try:
        return model.get(key, range_key, consistent_read=consistent_read)
    except DoesNotExist:
        return None


def get_login(email: str) -> Login | None:
    """The login of an address (its credential item), read consistently."""
    return get_or_none(Login, email, consistent_read=True, range_key=LOGIN_ITEM)


def account_fields(account: Account, *names: str) -> dict[str, Any]:
    """The account's attributes ``names``, by name, in that order (what an API's view of it shows)."""
    return {name: getattr(account, name) for name in names}


@dataclass(frozen=True)
class Found:
    """What :func:`read_together` found, by key; a key that has no item is absent."""

    accounts: dict[str, Account] = field(default_factory=dict)
    firms: dict[str, Firm] = field(default_factory=dict)
    logins: dict[str, Login] = field(default_factory=dict)
    memberships: dict[tuple[str, str], Membership] = field(default_factory=dict)  # (email, firm_id)


def _usable(keys: Iterable[str | None], limit: int) -> list[str]:
    return list(dict.fromkeys(k for k in keys if k and len(k) <= limit))


def read_together(
    *,
    accounts: Iterable[str | None] = (),
    firms: Iterable[str | None] = (),
    logins: Iterable[str | None] = (),
    memberships: Iterable[tuple[str, str]] = (),
    consistent_firms: bool = False,
) -> Found:
    """Accounts by id, firms by id, logins (their credential item) by address and memberships by
    (address, firm id), in as few ``BatchGetItem`` calls as DynamoDB allows (one up to 100 keys).
    Accounts and the logins table are read consistently (a status, a version or a lock a moment
    old decides nothing), firms only when asked (their names and defaults may be a moment old).
    Keys DynamoDB leaves unprocessed (throttling) are read singly."""
    cfg = settings()
    wanted: list[tuple[str, dict[str, Any]]] = (
        [(cfg.accounts_table, {"account_id": {"S": k}}) for k in _usable(accounts, MAX_ID_LENGTH)]
        + [(cfg.firms_table, {"firm_id": {"S": k}}) for k in _usable(firms, MAX_ID_LENGTH)]
        + [
            (cfg.logins_table, {"email": {"S": k}, "item": {"S": LOGIN_ITEM}})
            for k in _usable(logins, MAX_EMAIL_LENGTH)
        ]
        + [
            (cfg.logins_table, {"email": {"S": email}, "item": {"S": membership_item(firm_id)}})
            for email, firm_id in dict.fromkeys(memberships)
            if 0 < len(email) <= MAX_EMAIL_LENGTH and 0 < len(firm_id) <= MAX_ID_LENGTH
        ]
    )
    consistent = {cfg.accounts_table: True, cfg.logins_table: True, cfg.firms_table: consistent_firms}
    found = Found()
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        chunk = wanted[start : start + BATCH_GET_LIMIT]
        request: dict[str, dict[str, Any]] = {}
        for table, key in chunk:
            request.setdefault(table, {"Keys": [], "ConsistentRead": consistent[table]})["Keys"].append(key)
        response = aws.dynamodb_client().batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            for item in items:
                _keep(found, cfg, table, item)
        for table, unprocessed in (response.get("UnprocessedKeys") or {}).items():
            for key in unprocessed.get("Keys", []):  # throttled part of the batch: read singly
                _read_singly(found, cfg, table, key)
    return found


def _keep(found: Found, cfg: Any, table: str, item: dict[str, Any]) -> None:
    if table == cfg.accounts_table:
        account = Account.from_raw_data(item)
        found.accounts[account.account_id] = account
    elif table == cfg.firms_table:
        firm = Firm.from_raw_data(item)
        found.firms[firm.firm_id] = firm
    elif table == cfg.logins_table and item.get("item", {}).get("S") == LOGIN_ITEM:
        login = Login.from_raw_data(item)
        found.logins[login.email] = login
    elif table == cfg.logins_table:
        membership = Membership.from_raw_data(item)
        found.memberships[(membership.email, membership.firm_id)] = membership


def _read_singly(found: Found, cfg: Any, table: str, key: dict[str, Any]) -> None:
    if table == cfg.accounts_table:
        account = get_or_none(Account, key["account_id"]["S"], consistent_read=True)
        if account is not None:
            found.accounts[account.account_id] = account
    elif table == cfg.firms_table:
        firm = get_or_none(Firm, key["firm_id"]["S"])
        if firm is not None:
            found.firms[firm.firm_id] = firm
    elif table == cfg.logins_table:
        email, item = key["email"]["S"], key["item"]["S"]
        if item == LOGIN_ITEM:
            login = get_login(email)
            if login is not None:
                found.logins[email] = login
            return
        membership = get_or_none(Membership, email, consistent_read=True, range_key=item)
        if membership is not None:
            found.memberships[(email, membership.firm_id)] = membership


def holds_address(account: Account) -> Condition:
    """A transaction's condition on the account as read: it still has this address. Erasure's
    tombstone replaces the address before anything else, so a record written on this condition (a
    link, a lock link, a session) was written before the tombstone, and erasure's second sweep
    finds it (pwreset.accounts.provisioning); after it, the write is refused."""
    return Account.email == account.email


def account_and_firm(account_id: str, firm_id: str) -> tuple[Account | None, Firm | None]:
    """The account (read consistently) and the firm, in one ``BatchGetItem``."""
    if not account_id or not firm_id:
        return None, None
    found = read_together(accounts=[account_id], firms=[firm_id])
    return found.accounts.get(account_id), found.firms.get(firm_id)


def firm_owners(firm_id: str) -> list[Account]:
    return list(Account.by_firm_role.query(firm_id, Account.role == "owner"))


def mail_block_reason(
    account: Account | None, login: Login | None, *, self_service: bool = False
) -> str | None:
    """Why no mail may go to ``account`` (``unknown``, its status when not active, e.g. ``archived``,
    ``locked`` for a self-service link, or ``email_undeliverable`` / ``email_complained``), or
    ``None`` when it may be mailed: an active account whose address SES has not condemned.

    The lock and the address's verdict are its login's. A locked login still gets its
    notifications; only self-service sends it nothing, since a self-service link would let whoever
    controls the mailbox undo the lock (a firm's link does)."""
    if account is None or login is None:
        return "unknown"
    if account.status != "active":
        return account.status
    if self_service and login.is_locked:
        return "locked"
    if login.email_status != "ok":
        return f"email_{login.email_status}"
    return None


def account_status(account: Account, login: Login | None) -> str:
    """``archived`` (also for an account part-way through erasure: nothing works for it), else
    ``locked`` while its login is locked, else ``active``. Archived wins: it ends more."""
    if account.status != "active":
        return "archived"
    return "locked" if login is not None and login.is_locked else "active"
