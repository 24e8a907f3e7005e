"""Writes to the delivery records (``DeliveryTimeline``) that must not overwrite what is there.

The records themselves are written by :mod:`pwreset.delivery.outbox` and SES's events by
:mod:`pwreset.delivery.ses_events`; this is the one conditional write whose failed condition is an
answer, not an error.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from pwreset.storage.models import DeliveryTimeline

_CONDITION_FAILED = "ConditionalCheckFailedException"


def mark_link_opened(reset_id: str, at: datetime) -> bool:
    """Note that the hosted page opened the link of mail ``reset_id`` (a verify): the signal that
    the mail reached the client's inbox, which SES cannot see. Only the first opening is written
    (condition: none yet), and only onto a delivery record (condition: it has a kind), so a link
    sent before mails were recorded gets no stray item. True when this was the first."""
    try:
        DeliveryTimeline(reset_id).update(
            actions=[DeliveryTimeline.opened_at.set(at)],
            condition=DeliveryTimeline.kind.exists() & DeliveryTimeline.opened_at.does_not_exist(),
        )
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    return True
