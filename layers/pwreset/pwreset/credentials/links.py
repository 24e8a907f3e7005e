"""Links sent by mail that let someone set a password: reset links and invitations.

A link is a :class:`~pwreset.storage.models.ResetToken` (only the token's digest is stored) and a
mail. Issuing writes the record and its ``reset_requested`` audit event in one transaction, then
sends the mail: a link exists exactly when its event does, and a mail that SES refuses marks the
record ``send_failed`` (nobody has its token, so it can never be used) before the caller hears of
it. A link carries its login's ``password_version`` and its account's ``access_version``: a later
password change of the login (through any firm) makes it "used", a later revocation of the account
(new address or role, archiving) makes it "revoked".

Purposes: ``reset`` (a new password for a login that has one) and ``invitation`` (the first
password, with the welcome wording in the mail and on the page). A new invitation ends the
account's earlier invitation links that are still open (status ``revoked``, ``410 token_revoked``)
in the transaction that issues it: only the newest welcome mail sets the first password, so a link
from an older mail (forwarded, or read by whoever had the mailbox before) is worth nothing. A reset
a firm's staff member sends to a locked login is an unlock link: it carries an unlock code
(:func:`is_unlock`).

The mail is a client mail of :mod:`pwreset.delivery.outbox`: its delivery record (kind ``reset``,
``invitation``, or ``unlock`` for a staff link to a locked login) is written in the transaction
that issues the link, under the link's ``reset_id``.

Where a person lands after a link signed them in is decided in one place,
:func:`pwreset.mail.brand.portal_url_for`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pwreset.core import errors, public_urls
from pwreset.core.config import settings
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.core.request import RequestMeta
from pwreset.core.times import iso
from pwreset.core.transient import cancellation_codes
from pwreset.credentials.tokens import (
    BY_PROVISIONING,
    TokenCheck,
    default_token_generator,
    load_token,
    load_token_and_firm,
)
from pwreset.credentials.unlock_codes import code_digest
from pwreset.delivery import outbox
from pwreset.storage.accounts import holds_address
from pwreset.storage.events import audit_event
from pwreset.storage.models import Account, DeliveryTimeline, Event, Firm, Login, ResetToken
from pwreset.storage.transactions import TransactWriteError, transaction

Purpose = Literal["reset", "invitation"]
RESET: Purpose = "reset"
INVITATION: Purpose = "invitation"
# The mail each purpose sends (templates/mail/<name>.<locale>.*).
MAIL_TEMPLATES: dict[str, str] = {RESET: "reset_link", INVITATION: "invitation"}
# The status of a link a later invitation ended (tokens: ``token_revoked``).
REVOKED_STATUS = "revoked"
# Attempts of the issuing transaction when an earlier invitation changed meanwhile (used, or ended
# by another new invitation): each attempt reads the open invitations again.
ISSUE_ATTEMPTS = 3


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Requester:
    """Who asked for a link: a staff member (account id and name) or the CRM (``tokens.BY_PROVISIONING``).
    ``None`` in its place means the account holder asked (self-service)."""

    account_id: str
    name: str | None
    locale: str


def purpose_for(login: Login) -> Purpose:
    """A login without a password gets the welcome wording, whoever asked."""
    return RESET if login.has_password else INVITATION


def is_unlock(login: Login, requested_by: Requester | None) -> bool:
    """Whether a link is an unlock link: one a firm's staff member sends to a locked login. Only
    such a link, confirmed with its unlock code (:mod:`pwreset.credentials.unlock_codes`), lifts
    a lock."""
    staff = requested_by is not None and requested_by.account_id != BY_PROVISIONING
    return staff and login.is_locked


def mail_kind(login: Login, purpose: Purpose, requested_by: Requester | None) -> str:
    """What the deliveries view calls the link's mail: ``unlock`` for an unlock link, else its purpose."""
    return "unlock" if is_unlock(login, requested_by) else purpose


def issue_link(
    account: Account,
    login: Login,
    firm: Firm,
    *,
    purpose: Purpose,
    lifetime: int,
    requested_by: Requester | None,
    meta: RequestMeta,
    firm_bound: bool = True,
    unlock_code: str | None = None,
) -> ResetToken:
    """Record a link for ``account`` (of ``login``) and mail it; raises
    :class:`errors.EmailSendFailed` when SES does not take the mail (the record is then
    ``send_failed``). ``firm_bound``: false for a self-service link asked for without a firm.
    ``unlock_code``: an unlock link's code (:func:`is_unlock`), which its confirm will need; the
    record keeps only :func:`pwreset.credentials.unlock_codes.code_digest` of it."""
    # deferred: the confirm function never mails
    from pwreset.mail.brand import letterhead

    # deferred: as above (jinja2's loader and the templates come with it)
    from pwreset.mail.mailer import render

    cfg = settings()
    issued = default_token_generator.make_token()
    now = _now()
    expires_at = now + timedelta(seconds=lifetime)
    record = ResetToken(
        issued.digest,
        reset_id=uuid.uuid4().hex,
        account_id=account.account_id,
        firm_id=account.firm_id,
        firm_name=firm.name,
        email=account.email,
        requested_at=iso(now),
        requested_by=requested_by.account_id if requested_by else None,
        requested_by_name=requested_by.name if requested_by else None,
        expires_at=expires_at,
        password_version=login.password_version,
        access_version=account.access_version,
        purpose=purpose,
        firm_bound=firm_bound,
        status="issued",
        unlock_code_hash=code_digest(issued.raw, unlock_code) if unlock_code else None,
        ttl=expires_at + timedelta(seconds=cfg.reset_retention_seconds),
    )
    event = link_event("reset_requested", record, meta, now, expires_at=iso(expires_at))
    client_mail = outbox.ClientMail(
        kind=mail_kind(login, purpose, requested_by),
        account_id=account.account_id,
        email=account.email,
        reset_id=record.reset_id,
        requested_by=record.requested_by,
        requested_by_name=record.requested_by_name,
        password_version=int(login.password_version),
    )
    revoked = _record_link(
        record, event, client_mail, account, login, now, locale=requested_by.locale if requested_by else None
    )
    metrics.add_metric(name="ResetRequested", unit="Count", value=1)

    mail = render(
        MAIL_TEMPLATES[purpose],
        account.locale,
        letterhead=letterhead(firm, account),
        recipient_name=account.name,
        link=f"{public_urls.reset_page_url()}#token={issued.raw}",
        expires_at=expires_at,
        timezone=account.timezone,
        lifetime_seconds=lifetime,
        requested_by_name=record.requested_by_name,
    )
    try:
        message_id = outbox.send(
            mail,
            to=account.email,
            tags={"kind": MAIL_TEMPLATES[purpose]},
            client_mail=client_mail,
            recorded=True,
        )
    except Exception as exc:  # botocore errors, throttling, network: all mean "not sent"
        logger.warning(
            "link mail not sent",
            extra={
                "reset_id": record.reset_id,
                "purpose": purpose,
                "email": mask_email(account.email),
                "error": type(exc).__name__,
            },
        )
        metrics.add_metric(name="ResetEmailFailed", unit="Count", value=1)
        _mark_send_failed(record)
        # SES refused past botocore's retries: the link is marked, the caller may send a new one.
        raise errors.EmailSendFailed(
            locale=requested_by.locale if requested_by else account.locale, headers={"Retry-After": "60"}
        ) from exc
    record.update(actions=[ResetToken.ses_message_id.set(message_id)])
    metrics.add_metric(name="ResetEmailSent", unit="Count", value=1)
    logger.info(
        "link mail sent",
        extra={
            "reset_id": record.reset_id,
            "purpose": purpose,
            "email": mask_email(account.email),
            "staff_sent": requested_by is not None,
            "revoked_invitations": revoked,
        },
    )
    return record


def _record_link(
    record: ResetToken,
    event: Event,
    client_mail: outbox.ClientMail,
    account: Account,
    login: Login,
    now: datetime,
    *,
    locale: str | None,
) -> int:
    """The link, its event and its delivery record in one transaction; an invitation ends the
    account's earlier open invitations in the same one (each only while still ``issued``, so a
    link confirmed a moment ago stays used). Returns how many it ended. An account erased (or
    moved to another address) since it was read gets no link: ``AccountNotFound``."""
    for attempt in range(1, ISSUE_ATTEMPTS + 1):
        earlier = (
            [r for r in open_links(account, login, now=now) if r.purpose == INVITATION]
            if record.purpose == INVITATION
            else []
        )
        try:
            with transaction() as tx:
                # First (pynamodb sends condition checks first): the account still has the address.
                tx.condition_check(Account, account.account_id, condition=holds_address(account))
                tx.save(record, condition=ResetToken.token_hash.does_not_exist())
                tx.save(event, condition=Event.event_id.does_not_exist())
                tx.update(DeliveryTimeline(record.reset_id), actions=client_mail.record_actions(now))
                for old in earlier:
                    tx.update(
                        old,
                        actions=[ResetToken.status.set(REVOKED_STATUS)],
                        condition=ResetToken.status == "issued",
                    )
        except TransactWriteError as exc:
            if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                raise errors.AccountNotFound(locale=locale) from exc
            # An earlier invitation was used or ended meanwhile: read them again (nothing was written).
            if not earlier or attempt == ISSUE_ATTEMPTS:
                raise
            continue
        return len(earlier)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def link_event(kind: str, record: ResetToken, meta: RequestMeta, now: datetime, **extra: Any) -> Event:
    """The audit event of a link's step: which link, what for, who asked, and the request's facts."""
    return audit_event(
        kind,
        account_id=record.account_id,
        firm_id=record.firm_id,
        meta=meta,
        at=now,
        detail={
            "reset_id": record.reset_id,
            "purpose": record.purpose,
            "requested_by": record.requested_by,
            "requested_by_name": record.requested_by_name,
            **extra,
        },
    )


def _mark_send_failed(record: ResetToken) -> None:
    try:
        record.update(actions=[ResetToken.status.set("send_failed")])
    except Exception:  # the link is already unusable without a sent mail; never mask the real error
        logger.exception("could not mark link", extra={"reset_id": record.reset_id})


def load_link(raw_token: str) -> tuple[ResetToken | None, Account | None, Login | None]:
    """The link's record, its account and its login (:func:`pwreset.credentials.tokens.load_token`)."""
    return load_token(default_token_generator, ResetToken, raw_token)


def load_link_and_firm(raw_token: str) -> tuple[ResetToken | None, Account | None, Login | None, Firm | None]:
    """:func:`load_link` with the link's firm, in the same batch."""
    return load_token_and_firm(default_token_generator, ResetToken, raw_token)


_CHECK_ERRORS: dict[TokenCheck, type[errors.DomainError]] = {
    TokenCheck.INVALID: errors.TokenInvalid,
    TokenCheck.EXPIRED: errors.TokenExpired,
    TokenCheck.USED: errors.TokenUsed,
    TokenCheck.REVOKED: errors.TokenRevoked,
    TokenCheck.ARCHIVED: errors.AccountArchived,
}


def require_valid(
    record: ResetToken | None, account: Account | None, login: Login | None
) -> tuple[ResetToken, Account, Login]:
    """The link, its account and its login when the link works now; else the contract's error for
    why not."""
    result = default_token_generator.check(record, account, login)
    if result is not TokenCheck.VALID or record is None or account is None or login is None:
        metrics.add_metric(name="ResetTokenRejected", unit="Count", value=1)
        raise _CHECK_ERRORS[result](locale=account.locale if account else None)
    return record, account, login


def open_links(account: Account, login: Login | None, *, now: datetime | None = None) -> list[ResetToken]:
    """The account's links that would work right now (for counting what a revocation ends)."""
    now = now or _now()
    return [
        record
        for record in ResetToken.by_account.query(account.account_id)
        if default_token_generator.check(record, account, login, now=now) is TokenCheck.VALID
    ]
