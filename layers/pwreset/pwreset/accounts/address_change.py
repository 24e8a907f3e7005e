"""The mail to an account's previous address when the CRM changes it (issue #24.1).

A team member who changes a client's address to their own and then sends a reset would otherwise
take the account over unheard. So every ``PUT`` that changes the address tells the previous one,
in the account's language and on the firm's letterhead: which firm's portal now uses which
(masked) address, since when, and whom to contact. The mail carries no link that could undo or take
over anything (only the firm's contact). It is a client mail (kind ``previous_address``), so it is
on the account's deliveries timeline and a bounce is seen by staff.

Sending it is the last step of the ``PUT``: the address change stands whether or not SES takes the
mail (a failure is logged and counted), and a repeated ``PUT`` changes nothing and so sends nothing.
An address SES has condemned (bounced for good, complained) is not mailed again.
"""

from __future__ import annotations

from datetime import datetime

from pwreset.accounts.notices import send_notice
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.storage.models import Account, Firm, Login

PREVIOUS_ADDRESS_MAIL = "previous_address"


def tell_previous_address(
    account: Account, firm: Firm, *, previous_email: str, previous_login: Login | None, changed_at: datetime
) -> bool:
    """Mail ``previous_email`` that ``account`` (already written with its new address) moved away
    from it; returns whether SES took the mail."""
    if previous_login is not None and previous_login.email_status != "ok":
        metrics.add_metric(name="PreviousAddressMailSkipped", unit="Count", value=1)
        logger.info(
            "previous address not told",
            extra={
                "account_id": account.account_id,
                "email": mask_email(previous_email),
                "email_status": previous_login.email_status,
            },
        )
        return False
    return send_notice(
        PREVIOUS_ADDRESS_MAIL,
        account,
        firm,
        to=previous_email,
        metric="PreviousAddressMail",
        new_email_hint=mask_email(account.email),
        changed_at=changed_at,
        timezone=account.timezone,
    )
