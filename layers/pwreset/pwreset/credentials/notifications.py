"""After a password change: a mail to every owner of every firm where the holder's login has an
active account, and one to the holder (OWASP Forgot Password Cheat Sheet; ASVS 6.3.7), each in the
reader's language and time zone. The password is the login's, so every such firm's portal opens
with the new one: each firm's owners hear of it, about their own client (account) and naming the
firm whose portal or staff the change came through. The holder gets one mail, not one per firm, in
the language of the account the change came through. A client's mail carries an "It wasn't me"
lock link (:mod:`pwreset.credentials.locks`).

After a lock ("It wasn't me") of the login: a mail to the same owners (who, when and from where it
was locked, and the change the holder disowned) and a confirmation to the holder saying what happens
next.

Nothing lost, nothing sent twice. The stream delivers a record at least once and retries a failed
one (and every record after it in its batch), so every mail is guarded with powertools'
idempotency utility, one record per mail (key: ``[event_id, recipient account id]``) in the
function's own table: a conditional put claims the mail before it is sent, an update marks it sent
after SES accepted it. When some mails of an event went out and another failed (SES throttling,
say), the event fails and is retried, and the retry sends only the mails still missing; a
redelivered event whose mails all went out sends nothing.

Owners hear of a login's password changes at most once in :data:`OWNER_MAIL_COALESCE_SECONDS`
(issue #24: a signed-in client changing the password again and again must not mail every owner
each time): an owner's mail is guarded by (the login, the owner) instead, and its record expires
that long after the mail went out, so a change within it finds the record and mails that owner
nothing. The first mail stands for the run (it says what it always says: the first change); the
holder still gets a mail, with its lock link, for every change. A redelivery of the same event
more than that long after its owner mail went out mails the owner again: still at most one mail
per owner and login in that time.

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
from pwreset.storage.accounts import account_and_firm, firm_owners, mail_block_reason, read_together
from pwreset.storage.events import AccountLockedEvent, PasswordChangedEvent, RequestFacts, notifiable
from pwreset.storage.idempotency import Guard, guard
from pwreset.storage.logins import LoginAccounts, accounts_of_login
from pwreset.storage.models import Account, Firm, Login

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
# An owner is told of a login's password changes at most once in this long (the module says why).
OWNER_MAIL_COALESCE_SECONDS = 600


class MailsNotSent(Exception):
    """Some of an event's mails could not be sent; the stream record is retried."""


@dataclass(frozen=True)
class Holder:
    """Whom an event is about: the account the change or lock came through, its firm, its login
    and the login's accounts (every firm to tell)."""

    account: Account
    firm: Firm | None
    accounts: LoginAccounts

    @property
    def login(self) -> Login | None:
        return self.accounts.login


@dataclass(frozen=True)
class Reader:
    """One mail's reader: an owner (or the holder), the reader's login (may it be mailed), the
    holder's account as the reader's firm knows it, and the reader's firm (whose name the mail
    gives, and whose letterhead it is on for a client, see pwreset.mail.brand); for the holder, the
    names of the login's other firms (the same password opens them)."""

    account: Account
    login: Login | None
    kind: str
    holder: Account
    firm: Firm | None
    other_firms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """One mail of one event. ``event_id`` and ``recipient_id`` make the idempotency key; for an
    owner's password-changed mail, ``login`` (the holder's address) and ``recipient_id``."""

    event_id: str
    recipient_id: str
    kind: str
    login: str = ""

    def client_mail(self, to: str) -> ClientMail | None:
        """The delivery record of a holder's mail, under an id its retries share."""
        kind = TIMELINE_KINDS.get(self.kind)
        if kind is None:
            return None
        reset_id = mail_id(self.event_id, self.recipient_id)
        return ClientMail(kind=kind, account_id=self.recipient_id, email=to, reset_id=reset_id)


def _mail_guard(key: str, prefix: str, seconds: int) -> Guard:
    """The guarded send, keyed by the delivery's fields ``key`` (a JMESPath list) under ``prefix``
    (fixed, so no key ever changes), remembered for ``seconds``."""
    return guard(
        _send,
        data_keyword_argument="delivery",
        key_jmespath=key,
        key_prefix=prefix,
        expires_after_seconds=seconds,
    )


@cache
def _guard() -> Guard:
    """Each mail of an event once (the lock mails too: event ids are unique across types)."""
    return _mail_guard("[event_id, recipient_id]", "password_changed_mail", IDEMPOTENCY_SECONDS)


@cache
def _owner_guard() -> Guard:
    """An owner's password-changed mail: one per (login, owner) in OWNER_MAIL_COALESCE_SECONDS."""
    return _mail_guard("[login, recipient_id]", "password_changed_owner_mail", OWNER_MAIL_COALESCE_SECONDS)


def _guard_of(delivery: Delivery) -> Guard:
    return _owner_guard() if delivery.kind == OWNER_MAIL and delivery.login else _guard()


def prepare() -> None:
    """The stream image's parser and the mails' idempotency guards built: a SnapStart warm-up."""
    notifiable()
    _guard().prepare()
    _owner_guard().prepare()


def register_lambda_context(context: Any) -> None:
    """The guards see the invocation's context, so an in-progress record left by a timed-out
    invocation expires when that invocation would have ended."""
    _guard().config.register_lambda_context(context)
    _owner_guard().config.register_lambda_context(context)


def reset_clients() -> None:
    """Drop cached AWS clients and guards (tests start a fresh moto mock per test)."""
    aws.forget_clients()
    _guard.cache_clear()
    _owner_guard.cache_clear()
    geo.reset_database()


def notify(event: PasswordChangedEvent | AccountLockedEvent) -> None:
    """The mails of one event from the events table's stream."""
    if isinstance(event, AccountLockedEvent):
        notify_account_locked(event)
    else:
        notify_password_changed(event)


def notify_password_changed(change: PasswordChangedEvent) -> None:
    """Send the owner and holder mails for one event, each at most once across retries.

    Every owner of every firm where the login has an active account hears of it, also when the
    account is a team member's or another owner's; an owner whose own password changed (an account
    of the same login) gets the holder's mail only. A client's mail carries a lock link; staff get
    none, since only a link from a firm to a client lifts a lock."""
    holder = _holder(change.account_id, change.firm_id)
    software = useragent.describe(change.detail.user_agent)

    def compose(reader: Reader) -> Callable[[], RenderedMail]:
        def mail() -> RenderedMail:
            # Issued when this mail is really sent (inside the guard), not on a redelivery. A token
            # from an attempt whose mail then failed was never seen by anyone: harmless, it expires.
            lock_link = (
                issue_lock_token(holder.account, change)
                if reader.kind == HOLDER_MAIL and _may_lock(holder)
                else None
            )
            return _render_changed(reader, holder, change=change, software=software, lock_link=lock_link)

        return mail

    _deliver(change.event_id, _readers(holder, OWNER_MAIL, HOLDER_MAIL), compose, login=holder.account.email)


def notify_account_locked(lock: AccountLockedEvent) -> None:
    """The owners of every firm where the login has an active account learn that the holder locked
    it (the lock request's facts and the change it disowned); the holder gets a confirmation of
    what happens next."""
    holder = _holder(lock.account_id, lock.firm_id)

    def compose(reader: Reader) -> Callable[[], RenderedMail]:
        return lambda: _render_locked(reader, holder, lock=lock)

    _deliver(lock.event_id, _readers(holder, LOCKED_OWNER_MAIL, LOCKED_HOLDER_MAIL), compose)


def _may_lock(holder: Holder) -> bool:
    """Lock links go to clients: a locked login is unlocked by a link a firm's staff send, and staff
    send links to clients only (a login with only staff accounts would have no way back)."""
    return holder.account.status == "active" and any(m.role == "client" for m in holder.accounts.active)


def _holder(account_id: str, firm_id: str) -> Holder:
    account, firm = account_and_firm(account_id, firm_id)
    if account is None:
        # Retrying cannot help; failing puts the record in the dead-letter queue for a person.
        raise MailsNotSent(f"account {account_id} not found")
    return Holder(account=account, firm=firm, accounts=accounts_of_login(account.email))


def _readers(holder: Holder, owner_kind: str, holder_kind: str) -> list[Reader]:
    """The owners of the holder's firm and of every other firm where the login has an active
    account (each about the holder's account there), then the holder, once. The owners' logins
    (may they be mailed), the other firms and the holder's accounts there come in one batch."""
    own_firm = holder.account.firm_id
    elsewhere = {m.firm_id: m.account_id for m in holder.accounts.active if m.firm_id != own_firm}
    # An owner who is this login is the holder: the holder's mail, not an owner's about themself.
    owners = {
        firm_id: [o for o in firm_owners(firm_id) if o.email != holder.account.email]
        for firm_id in (own_firm, *elsewhere)
    }
    found = read_together(
        accounts=elsewhere.values(),
        firms=elsewhere,
        logins=[o.email for firm_owners_ in owners.values() for o in firm_owners_],
    )
    readers: list[Reader] = []
    for firm_id, firm_owners_ in owners.items():
        there = holder.account if firm_id == own_firm else found.accounts.get(elsewhere[firm_id])
        firm = holder.firm if firm_id == own_firm else found.firms.get(firm_id)
        if there is None:
            continue
        readers += [Reader(o, found.logins.get(o.email), owner_kind, there, firm) for o in firm_owners_]
    if not readers:
        logger.warning("no other owner to notify", extra={"account_id": holder.account.account_id})
    others = tuple(found.firms[f].name for f in elsewhere if f in found.firms)
    readers.append(Reader(holder.account, holder.login, holder_kind, holder.account, holder.firm, others))
    return readers


def _deliver(
    event_id: str,
    readers: list[Reader],
    compose: Callable[[Reader], Callable[[], RenderedMail]],
    *,
    login: str = "",
) -> None:
    """One mail per reader that may be mailed; each at most once across retries (and an owner's
    about ``login``'s password, when given, at most once in OWNER_MAIL_COALESCE_SECONDS)."""
    sent = failed = 0
    for reader in readers:
        kind = reader.kind
        blocked = mail_block_reason(reader.account, reader.login)
        if blocked:
            logger.info(
                "notification skipped",
                extra={
                    "event_id": event_id,
                    "kind": kind,
                    "email": mask_email(reader.account.email),
                    "reason": blocked,
                },
            )
            continue
        delivery = Delivery(event_id=event_id, recipient_id=reader.account.account_id, kind=kind, login=login)
        try:
            result = _guard_of(delivery).run(
                delivery=delivery, to=reader.account.email, compose=compose(reader)
            )
            sent += 1
            if isinstance(result, dict) and result.get("event_id", event_id) != event_id:
                metrics.add_metric(name="NotificationEmailCoalesced", unit="Count", value=1)
                logger.info(
                    "notification coalesced",
                    extra={"event_id": event_id, "kind": kind, "email": mask_email(reader.account.email)},
                )
        except Exception as exc:  # throttling, SES down, an in-progress twin: all mean "not yet"
            failed += 1
            metrics.add_metric(name="NotificationEmailFailed", unit="Count", value=1)
            logger.warning(
                "notification not sent",
                extra={
                    "event_id": event_id,
                    "kind": kind,
                    "email": mask_email(reader.account.email),
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
    # The event too: a later event answered from this record (an owner's mail coalesced) tells.
    return {"message_id": message_id, "event_id": delivery.event_id}


def _render_changed(
    reader: Reader,
    holder: Holder,
    *,
    change: PasswordChangedEvent,
    software: useragent.Software,
    lock_link: str | None,
) -> RenderedMail:
    detail = change.detail
    requested_at: datetime | None = detail.requested_at
    return _render(
        reader,
        holder,
        change=detail.change,
        lock_link=lock_link,
        changed_at=change.at,
        source_ip=detail.source_ip or "unknown",
        location=geo.locate(detail.model_dump(), reader.account.locale),
        os=software.os,
        browser=software.browser,
        self_service=detail.requested_by is None,
        requested_by_name=detail.requested_by_name,
        requested_at=requested_at,
    )


def _render_locked(reader: Reader, holder: Holder, *, lock: AccountLockedEvent) -> RenderedMail:
    detail = lock.detail
    locale = reader.account.locale
    return _render(
        reader,
        holder,
        locked_at=lock.at,
        already_locked=detail.already_locked,
        lock=_facts(detail, locale),
        change=detail.reported_change,
        changed_at=detail.reported_at,
        reported=_facts(detail.reported, locale),
    )


def _render(reader: Reader, holder: Holder, **context: Any) -> RenderedMail:
    """A mail of ``reader.kind`` to the reader about the holder's account (as the reader's firm knows
    it), in the reader's language and time zone, with ``context`` for its template: the firm the
    change or lock came through (``via_firm_name``) and, for the holder, the login's other firms."""
    return render(
        reader.kind,
        reader.account.locale,
        letterhead=letterhead(reader.firm, reader.account),
        via_firm_name=holder.firm.name if holder.firm is not None else "",
        other_firm_names=list(reader.other_firms),
        recipient_name=reader.account.name,
        holder_name=reader.holder.name,
        holder_email=reader.holder.email,
        holder_role=_role(reader.holder),
        timezone=reader.account.timezone,
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
