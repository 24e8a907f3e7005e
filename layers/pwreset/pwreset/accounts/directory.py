"""The firm's client list a portal shows its staff: ``GET /v1/accounts``.

Not in the original contract: a portal needs it to show staff their clients before they can open
a profile, send a reset or an invitation. Staff see the clients of the firm their session acts for
only (one query on the accounts table's ``by_firm_role`` index, keyed by the caller's firm as the
authorizer resolved it, never by a request parameter, then the clients' logins in batches for
whether each has a password, is locked and can be mailed); a client asking gets ``403 forbidden``.
"""

from __future__ import annotations

from typing import Any

from pwreset.core import errors
from pwreset.core.observability import logger
from pwreset.core.request import Principal
from pwreset.storage.accounts import account_fields, account_status, read_together
from pwreset.storage.models import Account, Login

# An account half way through erasure has lost its personal data: nothing a person can act on.
_HIDDEN_STATUSES = frozenset({"erasing"})


def client_view(account: Account, login: Login | None) -> dict[str, Any]:
    return {
        **account_fields(account, "account_id", "name", "email"),
        "status": account_status(account, login),
        "has_password": bool(login is not None and login.has_password),
        "email_status": login.email_status if login is not None else "ok",
    }


def firm_clients(principal: Principal) -> list[dict[str, Any]]:
    """The clients of the caller's firm, sorted by name (case-insensitively, then by id)."""
    if not principal.is_staff:
        raise errors.Forbidden(locale=principal.locale)
    clients = [
        account
        for account in Account.by_firm_role.query(principal.firm_id, Account.role == "client")
        if account.status not in _HIDDEN_STATUSES
    ]
    clients.sort(key=lambda account: (account.name.casefold(), account.account_id))
    logins = read_together(logins=[account.email for account in clients]).logins
    logger.info("firm clients listed", extra={"firm_id": principal.firm_id, "count": len(clients)})
    return [client_view(account, logins.get(account.email)) for account in clients]
