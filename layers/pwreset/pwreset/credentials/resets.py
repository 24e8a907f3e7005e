"""Requesting, verifying and confirming password resets.

The flows, in the order a client meets them:

* a firm's staff member, or the client, asks for a link: a token is issued (digest stored, with the
  reset-requested event, in one transaction) and mailed through SES;
* the hosted page verifies the token (nothing is consumed: mail scanners open links too);
* the client sets a new password: one transaction changes the hash, bumps ``password_version``,
  consumes the token, records the event and opens the new session. Every other link and session of
  the account dies with the version bump.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from pwreset.core import aws, errors
from pwreset.core.config import settings
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.core.request import Principal, RequestMeta
from pwreset.core.times import iso
from pwreset.credentials.hashing import hash_password
from pwreset.credentials.ratelimit import limiter
from pwreset.credentials.sessions import IssuedSession, new_session
from pwreset.credentials.tokens import TokenCheck, default_token_generator
from pwreset.storage.accounts import account_and_firm, find_account_by_email, get_or_none, mail_block_reason
from pwreset.storage.events import audit_event
from pwreset.storage.models import Account, Event, Firm, ResetToken, Session

if TYPE_CHECKING:
    # deferred: the request function never checks a password
    from pwreset.credentials.policy import PasswordPolicy

SELF_SERVICE = None  # requested_by for a reset the client asked for


def _now() -> datetime:
    return datetime.now(UTC)


@cache
def policy() -> PasswordPolicy:
    # deferred: the request function never checks a password
    from pwreset.credentials.policy import PasswordPolicy

    cfg = settings()
    return PasswordPolicy(min_length=cfg.password_min_length, max_length=cfg.password_max_length)


@dataclass(frozen=True)
class StaffReset:
    reset_id: str
    sent_to: str  # masked
    expires_at: datetime


@dataclass(frozen=True)
class VerifiedReset:
    email_hint: str
    expires_at: datetime
    locale: str
    policy: dict[str, Any]


@dataclass(frozen=True)
class ConfirmedReset:
    account: Account
    session: IssuedSession
    redirect_url: str


# ---------------------------------------------------------------------------------------- request


def request_self_service_reset(email: str, *, locale: str | None, meta: RequestMeta) -> None:
    """Mail a link when the address belongs to an active client; otherwise do nothing.

    The caller answers the same 202 whatever happens here, so nothing raised reaches it: a mail
    that cannot be sent is logged and counted, not reported. Every path takes at least the
    configured floor, so timing does not tell a known address from an unknown one.
    """
    deadline = time.monotonic() + settings().self_service_floor_ms / 1000
    try:
        _self_service(email, meta)
    finally:
        remaining = deadline - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)


def _self_service(email: str, meta: RequestMeta) -> None:
    limits = limiter()
    # Both counters are hit on every path (known or not), so they cost the same everywhere.
    by_ip = limits.hit("self_service_ip", meta.source_ip)
    by_email = limits.hit("self_service_email", email)
    account = find_account_by_email(email)
    if not (by_ip.allowed and by_email.allowed):
        _ignore(email, "rate_limited")
        return
    blocked = mail_block_reason(account)
    if blocked or account is None:
        _ignore(email, blocked or "unknown")
        return
    try:
        _issue_and_send(
            account, lifetime=settings().self_service_link_lifetime_seconds, requested_by=None, meta=meta
        )
    except errors.DomainError as exc:
        logger.warning("self-service reset failed", extra={"email": mask_email(email), "code": exc.code})


def _ignore(email: str, reason: str) -> None:
    logger.info("self-service reset not sent", extra={"email": mask_email(email), "reason": reason})
    metrics.add_metric(name="ResetRequestIgnored", unit="Count", value=1)


def request_staff_reset(principal: Principal, account_id: str, *, meta: RequestMeta) -> StaffReset:
    """A firm's owner or team member sends one of the firm's clients a link (ASVS 6.4.6: staff start
    the reset, only the client chooses the password)."""
    if not principal.is_staff:
        raise errors.Forbidden(locale=principal.locale)
    # The target and the caller's firm in one read: staff act only on their own firm's accounts.
    account, firm = account_and_firm(account_id, principal.firm_id)
    # Another firm's account is indistinguishable from a missing one.
    if account is None or account.firm_id != principal.firm_id or account.role != "client":
        raise errors.AccountNotFound(locale=principal.locale)
    if account.status != "active":
        raise errors.AccountArchived(locale=principal.locale)
    sends = limiter().hit("staff_send_account", account.account_id)
    if not sends.allowed:
        raise errors.RateLimited(retry_after=sends.retry_after, locale=principal.locale)
    if account.email_status != "ok":
        # deferred: only an undeliverable address reads the timelines
        from pwreset.delivery.deliveries import undeliverable_diagnosis

        # What SES reported, in the staff member's language: "fix the typo" beats "try again".
        diagnosis = undeliverable_diagnosis(account, locale=principal.locale)
        raise errors.EmailUndeliverable(locale=principal.locale, extra={"diagnosis": diagnosis})
    record = _issue_and_send(
        account,
        lifetime=settings().staff_link_lifetime_seconds,
        requested_by=principal,
        meta=meta,
        firm=firm,
    )
    return StaffReset(
        reset_id=record.reset_id, sent_to=mask_email(account.email), expires_at=record.expires_at
    )


def _issue_and_send(
    account: Account,
    *,
    lifetime: int,
    requested_by: Principal | None,
    meta: RequestMeta,
    firm: Firm | None = None,
) -> ResetToken:
    # deferred: the confirm function never mails
    from pwreset.mail.mailer import render, send_email

    cfg = settings()
    if firm is None or firm.firm_id != account.firm_id:
        firm = Firm.get(account.firm_id)
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
        requested_by=requested_by.account_id if requested_by else SELF_SERVICE,
        requested_by_name=requested_by.name if requested_by else None,
        expires_at=expires_at,
        password_version=account.password_version,
        status="issued",
        ttl=expires_at + timedelta(seconds=cfg.reset_retention_seconds),
    )
    event = _reset_event("reset_requested", record, meta, now, expires_at=iso(expires_at))
    with TransactWrite(connection=aws.dynamodb_connection()) as tx:
        tx.save(record, condition=ResetToken.token_hash.does_not_exist())
        tx.save(event, condition=Event.event_id.does_not_exist())
    metrics.add_metric(name="ResetRequested", unit="Count", value=1)

    mail = render(
        "reset_link",
        account.locale,
        firm_name=firm.name,
        recipient_name=account.name,
        link=f"{cfg.reset_page_url}#token={issued.raw}",
        expires_at=expires_at,
        timezone=account.timezone,
        lifetime_seconds=lifetime,
        requested_by_name=record.requested_by_name,
    )
    try:
        message_id = send_email(
            _ses(),
            sender=cfg.sender_address,
            to=account.email,
            mail=mail,
            configuration_set=cfg.ses_configuration_set,
            tags={"reset_id": record.reset_id, "kind": "reset_link"},
        )
    except Exception as exc:  # botocore errors, throttling, network: all mean "not sent"
        logger.warning(
            "reset mail not sent",
            extra={
                "reset_id": record.reset_id,
                "email": mask_email(account.email),
                "error": type(exc).__name__,
            },
        )
        metrics.add_metric(name="ResetEmailFailed", unit="Count", value=1)
        _mark(record, status="send_failed")
        raise errors.EmailSendFailed(locale=requested_by.locale if requested_by else account.locale) from exc
    record.update(actions=[ResetToken.ses_message_id.set(message_id)])
    metrics.add_metric(name="ResetEmailSent", unit="Count", value=1)
    logger.info(
        "reset mail sent",
        extra={
            "reset_id": record.reset_id,
            "email": mask_email(account.email),
            "staff_sent": requested_by is not None,
        },
    )
    return record


def _reset_event(kind: str, record: ResetToken, meta: RequestMeta, now: datetime, **extra: str) -> Event:
    """The audit event of a reset step: which reset, who asked for it, and the request's facts."""
    return audit_event(
        kind,
        account_id=record.account_id,
        firm_id=record.firm_id,
        meta=meta,
        at=now,
        detail={
            "reset_id": record.reset_id,
            "requested_by": record.requested_by,
            "requested_by_name": record.requested_by_name,
            **extra,
        },
    )


def _mark(record: ResetToken, *, status: str) -> None:
    try:
        record.update(actions=[ResetToken.status.set(status)])
    except Exception:  # the link is already unusable without a sent mail; never mask the real error
        logger.exception("could not mark reset", extra={"reset_id": record.reset_id})


def _ses() -> Any:
    return aws.client("sesv2")


# ---------------------------------------------------------------------------------------- verify


def _load(raw_token: str) -> tuple[ResetToken | None, Account | None]:
    if not default_token_generator.well_formed(raw_token):
        return None, None
    try:
        record = ResetToken.get(default_token_generator.digest(raw_token), consistent_read=True)
    except DoesNotExist:
        return None, None
    return record, get_or_none(Account, record.account_id, consistent_read=True)


_CHECK_ERRORS: dict[TokenCheck, type[errors.DomainError]] = {
    TokenCheck.INVALID: errors.TokenInvalid,
    TokenCheck.EXPIRED: errors.TokenExpired,
    TokenCheck.USED: errors.TokenUsed,
    TokenCheck.ARCHIVED: errors.AccountArchived,
}


def _require_valid(record: ResetToken | None, account: Account | None) -> tuple[ResetToken, Account]:
    result = default_token_generator.check(record, account)
    if result is not TokenCheck.VALID or record is None or account is None:
        metrics.add_metric(name="ResetTokenRejected", unit="Count", value=1)
        raise _CHECK_ERRORS[result](locale=account.locale if account else None)
    return record, account


def _limit(rule: str, meta: RequestMeta) -> None:
    """Per-IP limits on the token routes: tokens cannot be guessed, but a scanner should still
    meet a wall."""
    decision = limiter().hit(rule, meta.source_ip)
    if not decision.allowed:
        raise errors.RateLimited(retry_after=decision.retry_after, locale=meta.locale)


def verify_reset(raw_token: str, *, meta: RequestMeta) -> VerifiedReset:
    """Say whether a link still works, without consuming it."""
    _limit("verify_ip", meta)
    record, account = _require_valid(*_load(raw_token))
    return VerifiedReset(
        email_hint=mask_email(account.email),
        expires_at=record.expires_at,
        locale=account.locale,
        policy=policy().describe(account.locale),
    )


# ---------------------------------------------------------------------------------------- confirm


def confirm_reset(raw_token: str, password: str, *, meta: RequestMeta) -> ConfirmedReset:
    # deferred: the request function never checks a password
    from pwreset.credentials.policy import PolicyContext

    _limit("confirm_ip", meta)
    record, account = _require_valid(*_load(raw_token))
    firm_name = record.firm_name or ""
    pw_policy = policy()
    violations = pw_policy.check(
        password, PolicyContext(email=account.email, name=account.name, firm_name=firm_name)
    )
    if violations:
        metrics.add_metric(name="PasswordRejected", unit="Count", value=1)
        raise errors.PasswordRejected(
            locale=account.locale,
            extra={
                "violations": [{"rule": v.rule, "message": v.message(account.locale)} for v in violations]
            },
        )
    new_hash = hash_password(pw_policy.normalise(password))
    now = _now()
    new_version = int(record.password_version) + 1
    session = new_session(account, password_version=new_version, now=now)
    event = _reset_event("password_changed", record, meta, now, requested_at=record.requested_at)
    try:
        with TransactWrite(connection=aws.dynamodb_connection()) as tx:
            tx.update(
                account,
                actions=[
                    Account.password_hash.set(new_hash),
                    Account.password_version.set(new_version),
                    Account.password_changed_at.set(now),
                ],
                condition=(Account.password_version == record.password_version)
                & (Account.status == "active"),
            )
            tx.update(
                record,
                actions=[ResetToken.status.set("used"), ResetToken.used_at.set(now)],
                condition=ResetToken.status == "issued",
            )
            tx.save(event, condition=Event.event_id.does_not_exist())
            tx.save(session.record, condition=Session.session_hash.does_not_exist())
    except TransactWriteError as exc:
        # Someone else got there first (a concurrent confirm, another reset, an archiving): report
        # what the link is worth now.
        logger.info(
            "confirm lost a race", extra={"reset_id": record.reset_id, "reasons": _cancellation_reasons(exc)}
        )
        _require_valid(*_load(raw_token))
        raise errors.TokenUsed(locale=account.locale) from exc
    metrics.add_metric(name="PasswordChanged", unit="Count", value=1)
    logger.info("password changed", extra={"reset_id": record.reset_id, "account_id": account.account_id})
    return ConfirmedReset(account=account, session=session, redirect_url=settings().portal_url)


def _cancellation_reasons(exc: TransactWriteError) -> list[str]:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [getattr(r, "code", "") or "" for r in reasons if r is not None]
