"""Every mail leaves through :func:`send`: tagged, so SES's events about it find their way back,
and, when it goes to an account holder (a *client mail*), recorded for the deliveries view.

A client mail (:class:`ClientMail`) has a delivery record, the ``DeliveryTimeline`` item keyed by
its ``reset_id`` (the HTTP contract's name for a mail's id on the timeline): its kind, the account
and the address, when and by whom it was asked for, and whether SES refused it. The record is
written *before* the mail leaves, so the mail's first event always finds it and a mail SES refused
shows as failed; a link mail writes it in the transaction that issues the link (``recorded=True``),
any other mail here. The mail carries the id as its ``reset_id`` tag; the webhook appends every
event to the record of that id (:mod:`pwreset.delivery.ses_events`), and the view reads an
account's records with one query of the ``by_account`` index (:mod:`pwreset.delivery.deliveries`).

A mail to staff (the owners' notices) is sent with its tags and recorded nowhere: the deliveries
view is about clients.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pwreset.core import aws
from pwreset.core.config import settings
from pwreset.core.observability import logger
from pwreset.core.times import iso
from pwreset.mail.mailer import RenderedMail, send_email
from pwreset.storage.models import DeliveryTimeline
from pwreset.storage.transactions import Action


@dataclass(frozen=True)
class MailKind:
    name: str
    # The mail carries a link the hosted page opens (its verify marks the record opened), so
    # "delivered, but never opened" can be told.
    carries_link: bool = False


# The kinds of client mail, as the deliveries view names them (the contract's ``kind``). A new kind
# of mail is one line here; its send passes ``ClientMail(kind=...)``.
KINDS: dict[str, MailKind] = {
    kind.name: kind
    for kind in (
        MailKind("reset", carries_link=True),
        MailKind("invitation", carries_link=True),
        MailKind("unlock", carries_link=True),  # a staff link to a locked login
        MailKind("password_changed"),  # the holder's notice after a change
        MailKind("lock_notice"),  # the holder's confirmation of an "It wasn't me" lock
        MailKind("previous_address"),  # the notice to an account's previous address (issue #24)
        MailKind("access_granted"),  # a firm's portal opened to a login with a password (issue #22)
    )
}
SENDING = "sending"
SEND_FAILED = "send_failed"


def _now() -> datetime:
    return datetime.now(UTC)


def record_retention() -> timedelta:
    """How long a record outlives its last write: as long as the links it may describe, and the
    audit of a reset (``RESET_RETENTION_SECONDS``) after that."""
    cfg = settings()
    return timedelta(seconds=cfg.reset_retention_seconds + cfg.staff_link_lifetime_seconds)


def mail_id(*parts: str) -> str:
    """A stable id for a mail sent again after a failure (a notification's retry): the same parts,
    the same record."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ClientMail:
    """The delivery record of one mail to an account holder."""

    kind: str  # a key of KINDS
    account_id: str
    email: str  # where it goes
    reset_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    requested_by: str | None = None  # staff account id, "provisioning", or None (the holder, the service)
    requested_by_name: str | None = None
    password_version: int | None = None  # a link mail: the account's when it is sent

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind of client mail: {self.kind!r}")

    def record_actions(self, now: datetime) -> list[Action]:
        """The record as one update: every field set, the events SES may already have reported
        kept (a notification sent again after a failed attempt keeps its id)."""
        fields: dict[str, Any] = {
            "account_id": self.account_id,
            "requested_at": iso(now),
            "kind": self.kind,
            "email": self.email,
            "status": SENDING,
            "requested_by": self.requested_by,
            "requested_by_name": self.requested_by_name,
            "password_version": self.password_version,
        }
        actions: list[Action] = [
            getattr(DeliveryTimeline, name).set(value) for name, value in fields.items() if value is not None
        ]
        actions.append(DeliveryTimeline.ttl.set(now + record_retention()))
        return actions


def send(
    mail: RenderedMail,
    *,
    to: str,
    tags: Mapping[str, str],
    client_mail: ClientMail | None = None,
    recorded: bool = False,
) -> str:
    """Send ``mail`` to ``to`` with SES and return its message id. A client mail is tagged with its
    ``reset_id`` and recorded first (unless the caller's transaction did: ``recorded``); when SES
    refuses it, its record says so before the error propagates, unchanged, to the caller."""
    cfg = settings()
    if client_mail is not None:
        tags = {**tags, "reset_id": client_mail.reset_id}
        if not recorded:
            DeliveryTimeline(client_mail.reset_id).update(actions=client_mail.record_actions(_now()))
    try:
        return send_email(
            aws.client("sesv2"),
            sender=cfg.sender_address,
            to=to,
            mail=mail,
            configuration_set=cfg.ses_configuration_set,
            tags=tags,
        )
    except Exception:
        if client_mail is not None:
            _mark_send_failed(client_mail.reset_id)
        raise


def _mark_send_failed(reset_id: str) -> None:
    try:
        DeliveryTimeline(reset_id).update(actions=[DeliveryTimeline.status.set(SEND_FAILED)])
    except Exception:  # the send's own error is the one to report; this only colours the view
        logger.exception("could not mark the mail's record send_failed", extra={"reset_id": reset_id})
