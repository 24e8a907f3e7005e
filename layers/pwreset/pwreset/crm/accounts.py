"""The accounts a change of a login affected, for the CRM's ``accounts`` field (issue #22).

A reset, a change of password or a lock acts on the login (the address), so on every account that
shares it: the CRM hears of each. The audit event names the account the change came through; its
address leads to the login's memberships (``pwreset.storage.logins.accounts_of_login``, the one
place that lists a login's accounts). Read when the event is published, so an account archived
or erased since is no longer listed, apart from the event's own.
"""

from __future__ import annotations

from pwreset.storage.accounts import get_or_none
from pwreset.storage.logins import accounts_of_login
from pwreset.storage.models import Account


def accounts_of_changed_login(account_id: str, firm_id: str) -> list[dict[str, str]]:
    """The event's own ``{account_id, firm_id}`` first, then every other active account of its
    login, in firm order. Two reads: the account (its address), then the login's memberships."""
    own = {"account_id": account_id, "firm_id": firm_id}
    account = get_or_none(Account, account_id, consistent_read=True)
    if account is None:
        return [own]
    others = [
        {"account_id": m.account_id, "firm_id": m.firm_id}
        for m in accounts_of_login(account.email).active
        if m.account_id != account_id
    ]
    return [own, *others]
