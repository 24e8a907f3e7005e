"""The mails provisioning sends a client beside a ``PUT`` (``access_granted``, ``previous_address``):
rendered in the account's language on its firm's letterhead, recorded as client mails (so a bounce
is on the deliveries timeline), and never failing the ``PUT`` (a refused send is logged and
counted)."""

from __future__ import annotations

from typing import Any

from pwreset.core.observability import logger, mask_email, metrics
from pwreset.credentials.tokens import BY_PROVISIONING
from pwreset.storage.models import Account, Firm


def send_notice(kind: str, account: Account, firm: Firm, *, to: str, metric: str, **context: Any) -> bool:
    """Mail ``kind`` about ``account`` to ``to`` with ``context`` for its template; counts
    ``<metric>Sent`` or ``<metric>Failed`` and returns whether SES took it."""
    # deferred: only these PUTs render a mail (jinja2 and the templates come with it)
    from pwreset.delivery.outbox import ClientMail, send

    # deferred: as above
    from pwreset.mail.brand import letterhead

    # deferred: as above
    from pwreset.mail.mailer import render

    mail = render(
        kind, account.locale, letterhead=letterhead(firm, account), recipient_name=account.name, **context
    )
    client_mail = ClientMail(kind=kind, account_id=account.account_id, email=to, requested_by=BY_PROVISIONING)
    log = {"account_id": account.account_id, "kind": kind, "email": mask_email(to)}
    try:
        send(mail, to=to, tags={"kind": kind}, client_mail=client_mail)
    except Exception as exc:  # botocore errors, throttling: logged and counted, the PUT stands
        metrics.add_metric(name=f"{metric}Failed", unit="Count", value=1)
        logger.warning("provisioning notice not sent", extra={**log, "error": type(exc).__name__})
        return False
    metrics.add_metric(name=f"{metric}Sent", unit="Count", value=1)
    logger.info("provisioning notice sent", extra=log)
    return True
