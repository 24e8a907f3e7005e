"""After a password change: a mail to every owner of the account's firm and one to the holder
(OWASP Forgot Password Cheat Sheet; ASVS 6.3.7), each in the reader's language and time zone. A
client's mail carries an "It wasn't me" lock link (:mod:`pwreset.credentials.locks`).

After a lock ("It wasn't me"): a mail to every owner (who, when and from where the account was
locked, and the change the holder disowned) and a confirmation to the holder saying what happens
next.

Nothing lost, nothing sent twice. The stream delivers a record at least once and retries a failed
one (and every record after it in its batch), so every mail is guarded with powertools'
idempotency utility, one record per mail (key: ``[event_id, recipient account id]``) in the
function's own table: a conditional put claims the mail before it is sent, an update marks it sent
after SES accepted it. When some mails of an event went out and another failed (SES throttling,
say), the event fails and is retried, and the retry sends only the mails still missing; a
redelivered event whose mails all went out sends nothing.

There is no record per event on top: it would cost two more writes on every event and save only
the reads of a redelivery of a finished event, which a checkpointed stream makes only after a
crash.

What stays possible, as with any external side effect: SES accepted a mail but the process died
before its record was marked done; the in-progress record then expires with the invocation's
timeout and the retry sends that one mail again. A duplicate in that rare case, never a loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from pwreset.core import aws
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.credentials.locks import issue_lock_token
from pwreset.delivery.outbox import ClientMail, mail_id, send
from pwreset.mail import geo, useragent
from pwreset.mail.brand import letterhead
from pwreset.mail.mailer import RenderedMail, render
from pwreset.storage.accounts import account_and_firm, firm_owners, mail_block_reason
from pwreset.storage.events import AccountLockedEvent, PasswordChangedEvent, RequestFacts, notifiable
from pwreset.storage.idempotency import Guard, guard
from pwreset.storage.models import Account, Firm

__all__ = [
    "MailsNotSent",
    "notify",
    "notify_account_locked",
    "notify_password_changed",
    "prepare",
    "register_lambda_context",
    "reset_clients",
]

OWNER_MAIL = "password_changed_owner"
HOLDER_MAIL = "password_changed_holder"
LOCKED_OWNER_MAIL = "account_locked_owner"
LOCKED_HOLDER_MAIL = "account_locked_holder"
# The holder's mails are client mails on the deliveries timeline (pwreset.delivery.outbox.KINDS);
# the owners' are mails to staff.
TIMELINE_KINDS = {HOLDER_MAIL: "password_changed", LOCKED_HOLDER_MAIL: "lock_notice"}
# A stream keeps a record 24 hours, so a key kept 48 hours outlives every redelivery.
IDEMPOTENCY_SECONDS = 48 * 3600


class MailsNotSent(Exception):
    """Some of an event's mails could not be sent; the stream record is retried."""


@dataclass(frozen=True)
class Delivery:
    """One mail of one event. Only ``event_id`` and ``recipient_id`` make the idempotency key."""

    event_id: str
    recipient_id: str
    kind: str

    def client_mail(self, to: str) -> ClientMail | None:
        """The delivery record of a holder's mail, under an id its retries share."""
        kind = TIMELINE_KINDS.get(self.kind)
        if kind is None:
            return None
        reset_id = mail_id(self.event_id, self.recipient_id)
        return ClientMail(kind=kind, account_id=self.recipient_id, email=to, reset_id=reset_id)


@cache
def _guard() -> Guard:
    return guard(
        _send,
        data_keyword_argument="delivery",
        key_jmespath="[event_id, recipient_id]",
        # Also the lock mails: event ids are unique across types. Fixed, so no key ever changes.
        key_prefix="password_changed_mail",
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )


def prepare() -> None:
    """The stream image's parser and the mails' idempotency guard built: a SnapStart warm-up."""
    notifiable()
    _guard().prepare()


def register_lambda_context(context: Any) -> None:
    """The guard sees the invocation's context, so an in-progress record left by a timed-out
    invocation expires when that invocation would have ended."""
    _guard().config.register_lambda_context(context)


def reset_clients() -> None:
    """Drop cached AWS clients and guards (tests start a fresh moto mock per test)."""
    aws.forget_clients()
    _guard.cache_clear()
    geo.reset_database()


def notify(event: PasswordChangedEvent | AccountLockedEvent) -> None:
    """The mails of one event from the events table's stream."""
    if isinstance(event, AccountLockedEvent):
        notify_account_locked(event)
    else:
        notify_password_changed(event)


def notify_password_changed(change: PasswordChangedEvent) -> None:
    """Send the owner and holder mails for one event, each at most once across retries.

    Every owner of the firm hears of it, also when the account is a team member's or another
    owner's; an owner whose own password changed gets the holder's mail only. A client's mail
    carries a lock link; staff get none, since only a link from the firm to a client lifts a lock."""
    holder, firm = _holder_and_firm(change.account_id, change.firm_id)
    software = useragent.describe(change.detail.user_agent)

    def compose(kind: str, reader: Account) -> Callable[[], RenderedMail]:
        def mail() -> RenderedMail:
            # Issued when this mail is really sent (inside the guard), not on a redelivery. A token
            # from an attempt whose mail then failed was never seen by anyone: harmless, it expires.
            lock_link = (
                issue_lock_token(holder, change) if kind == HOLDER_MAIL and _may_lock(holder) else None
            )
            return _render_changed(
                kind,
                reader,
                change=change,
                holder=holder,
                firm=firm,
                software=software,
                lock_link=lock_link,
            )

        return mail

    _deliver(change.event_id, holder, OWNER_MAIL, HOLDER_MAIL, compose)


def notify_account_locked(lock: AccountLockedEvent) -> None:
    """Every owner of the firm learns that the holder locked the account (the lock request's facts
    and the change it disowned); the holder gets a confirmation of what happens next."""
    holder, firm = _holder_and_firm(lock.account_id, lock.firm_id)

    def compose(kind: str, reader: Account) -> Callable[[], RenderedMail]:
        return lambda: _render_locked(kind, reader, lock=lock, holder=holder, firm=firm)

    _deliver(lock.event_id, holder, LOCKED_OWNER_MAIL, LOCKED_HOLDER_MAIL, compose)


def _may_lock(holder: Account) -> bool:
    """Lock links go to clients: a locked account is unlocked by a link its firm's staff send, and
    staff send links to clients only (a locked owner or team member would have no way back)."""
    return holder.role == "client" and holder.status == "active"


def _holder_and_firm(account_id: str, firm_id: str) -> tuple[Account, Firm | None]:
    holder, firm = account_and_firm(account_id, firm_id)
    if holder is None:
        # Retrying cannot help; failing puts the record in the dead-letter queue for a person.
        raise MailsNotSent(f"account {account_id} not found")
    return holder, firm


def _deliver(
    event_id: str,
    holder: Account,
    owner_kind: str,
    holder_kind: str,
    compose: Callable[[str, Account], Callable[[], RenderedMail]],
) -> None:
    """One mail per owner but the holder, and the holder's; each at most once across retries."""
    owners = [owner for owner in firm_owners(holder.firm_id) if owner.account_id != holder.account_id]
    recipients = [(owner, owner_kind) for owner in owners]
    if not recipients:
        logger.warning("firm has no other owner to notify", extra={"event_id": event_id})
    recipients.append((holder, holder_kind))

    sent = failed = 0
    for reader, kind in recipients:
        blocked = mail_block_reason(reader)
        if blocked:
            logger.info(
                "notification skipped",
                extra={
                    "event_id": event_id,
                    "kind": kind,
                    "email": mask_email(reader.email),
                    "reason": blocked,
                },
            )
            continue
        delivery = Delivery(event_id=event_id, recipient_id=reader.account_id, kind=kind)
        try:
            _guard().run(delivery=delivery, to=reader.email, compose=compose(kind, reader))
            sent += 1
        except Exception as exc:  # throttling, SES down, an in-progress twin: all mean "not yet"
            failed += 1
            metrics.add_metric(name="NotificationEmailFailed", unit="Count", value=1)
            logger.warning(
                "notification not sent",
                extra={
                    "event_id": event_id,
                    "kind": kind,
                    "email": mask_email(reader.email),
                    "error": type(exc).__name__,
                },
            )
    if failed:
        # The mails that went out are recorded; the retry sends only the rest.
        raise MailsNotSent(f"{failed} of {sent + failed} mails not sent")


def _send(*, delivery: Delivery, to: str, compose: Callable[[], RenderedMail]) -> dict[str, str]:
    """The guarded step: only ``delivery`` makes the key; the mail is rendered here, so whatever
    rendering writes (a lock token) happens only for a mail that is really being sent."""
    mail = compose()
    tags = {"kind": delivery.kind, "event_id": delivery.event_id}
    message_id = send(mail, to=to, tags=tags, client_mail=delivery.client_mail(to))
    metrics.add_metric(name="NotificationEmailSent", unit="Count", value=1)
    logger.info(
        "notification sent",
        extra={"event_id": delivery.event_id, "kind": delivery.kind, "email": mask_email(to)},
    )
    return {"message_id": message_id}


def _render_changed(
    kind: str,
    reader: Account,
    *,
    change: PasswordChangedEvent,
    holder: Account,
    firm: Firm | None,
    software: useragent.Software,
    lock_link: str | None,
) -> RenderedMail:
    detail = change.detail
    requested_at: datetime | None = detail.requested_at
    return _render(
        kind,
        reader,
        holder,
        firm,
        change=detail.change,
        lock_link=lock_link,
        changed_at=change.at,
        source_ip=detail.source_ip or "unknown",
        location=geo.locate(detail.model_dump(), reader.locale),
        os=software.os,
        browser=software.browser,
        self_service=detail.requested_by is None,
        requested_by_name=detail.requested_by_name,
        requested_at=requested_at,
    )


def _render_locked(
    kind: str, reader: Account, *, lock: AccountLockedEvent, holder: Account, firm: Firm | None
) -> RenderedMail:
    detail = lock.detail
    return _render(
        kind,
        reader,
        holder,
        firm,
        locked_at=lock.at,
        already_locked=detail.already_locked,
        lock=_facts(detail, reader.locale),
        change=detail.reported_change,
        changed_at=detail.reported_at,
        reported=_facts(detail.reported, reader.locale),
    )


def _render(kind: str, reader: Account, holder: Account, firm: Firm | None, **context: Any) -> RenderedMail:
    """A mail of ``kind`` to ``reader`` about ``holder``'s account, in the reader's language and
    time zone, on the reader's letterhead (the firm's for a client, the platform's for staff), with
    ``context`` for its template."""
    return render(
        kind,
        reader.locale,
        letterhead=letterhead(firm, reader),
        recipient_name=reader.name,
        holder_name=holder.name,
        holder_email=holder.email,
        holder_role=_role(holder),
        timezone=reader.timezone,
        **context,
    )


def _facts(facts: RequestFacts, locale: str) -> dict[str, str | None]:
    """IP, location, OS and browser of a request, as the mails show them (None: unknown)."""
    software = useragent.describe(facts.user_agent)
    return {
        "ip": facts.source_ip or "unknown",
        "location": geo.locate(facts.model_dump(), locale),
        "os": software.os,
        "browser": software.browser,
    }


def _role(holder: Account) -> str:
    return holder.role if holder.role in ("owner", "member") else "client"
