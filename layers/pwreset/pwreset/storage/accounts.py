"""Data access for accounts and firms: every flow reads them through here.

* :func:`account_and_firm`: an account and a firm in one ``BatchGetItem`` (both keys are known from
  the request or the stream record), the account read consistently, since its status, address and
  password version decide what happens next;
* :func:`get_or_none`: one item (of any table) by key, ``None`` when it is not there;
* :func:`account_fields`: the attributes an API's view of an account shows;
* :func:`find_account_by_email`: the account an address belongs to;
* :func:`firm_owners`: the owners a firm's notifications go to;
* :func:`mail_block_reason`: the one rule for "may we mail this account", with the reason when not;
* :func:`account_status`: what the views call an account: active, locked or archived.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from pwreset.core import aws
from pwreset.core.config import settings
from pwreset.storage.models import Account, Firm

# Account ids come from the CRM; anything longer is not one of ours and costs no read.
MAX_ID_LENGTH = 128


def get_or_none[M: Model](model: type[M], key: str, *, consistent_read: bool = False) -> M | None:
    """The item of ``model``'s table with hash key ``key``, or ``None`` (also for an empty or
    overlong key)."""
    if not key or len(key) > MAX_ID_LENGTH:
        return None
    try:
        return model.get(key, consistent_read=consistent_read)
    except DoesNotExist:
        return None


def account_fields(account: Account, *names: str) -> dict[str, Any]:
    """The account's attributes ``names``, by name, in that order (what an API's view of it shows)."""
    return {name: getattr(account, name) for name in names}


def account_and_firm(account_id: str, firm_id: str) -> tuple[Account | None, Firm | None]:
    """The account (read consistently) and the firm, in one ``BatchGetItem``."""
    if not account_id or len(account_id) > MAX_ID_LENGTH or not firm_id:
        return None, None
    cfg = settings()
    response = aws.dynamodb_client().batch_get_item(
        RequestItems={
            cfg.accounts_table: {"Keys": [{"account_id": {"S": account_id}}], "ConsistentRead": True},
            cfg.firms_table: {"Keys": [{"firm_id": {"S": firm_id}}]},
        }
    )
    if response.get("UnprocessedKeys"):  # throttled part of the batch: read both singly
        return get_or_none(Account, account_id, consistent_read=True), get_or_none(Firm, firm_id)
    found = response.get("Responses", {})
    accounts = [Account.from_raw_data(item) for item in found.get(cfg.accounts_table, [])]
    firms = [Firm.from_raw_data(item) for item in found.get(cfg.firms_table, [])]
    return (accounts[0] if accounts else None), (firms[0] if firms else None)


def find_account_by_email(email: str) -> Account | None:
    """The account whose (normalised) address is ``email``; addresses are unique across the portal."""
    if not email:
        return None
    for account in Account.by_email.query(email, limit=1):
        return account
    return None


def firm_owners(firm_id: str) -> list[Account]:
    return list(Account.by_firm_role.query(firm_id, Account.role == "owner"))


def mail_block_reason(account: Account | None, *, self_service: bool = False) -> str | None:
    """Why no mail may go to ``account`` (``unknown``, its status when not active, e.g. ``archived``,
    ``locked`` for a self-service link, or ``email_undeliverable`` / ``email_complained``), or
    ``None`` when it may be mailed: an active account whose address SES has not condemned.

    A locked account still gets its notifications; only self-service sends it nothing, since a
    self-service link would let whoever controls the mailbox undo the lock (the firm's link does)."""
    if account is None:
        return "unknown"
    if account.status != "active":
        return account.status
    if self_service and account.is_locked:
        return "locked"
    if account.email_status != "ok":
        return f"email_{account.email_status}"
    return None


def account_status(account: Account) -> str:
    """``archived`` (also for an account part-way through erasure: nothing works for it), else
    ``locked`` while a lock is in place, else ``active``. Archived wins: it ends more."""
    if account.status != "active":
        return "archived"
    return "locked" if account.is_locked else "active"
