"""Requesting, verifying and confirming password links (resets and invitations).

The flows, in the order a client meets them:

* a firm's staff member, the CRM (provisioning) or the client asks for a link: a token is issued
  (digest stored, with the ``reset_requested`` event, in one transaction) and mailed through SES
  (:mod:`pwreset.credentials.links`); an account without a password gets an invitation, one with a
  password a reset link;
* the hosted page verifies the token (nothing is consumed: mail scanners open links too);
* the client sets a password: :func:`pwreset.credentials.changes.commit` changes the hash, bumps
  ``password_version``, consumes the token, records the event and opens the new session in one
  transaction. Every other link and session of the account dies with the version bump.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from pwreset.core import errors
from pwreset.core.config import settings
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.core.request import Principal, RequestMeta
from pwreset.credentials import changes
from pwreset.credentials.links import (
    INVITATION,
    Purpose,
    Requester,
    issue_link,
    load_link,
    purpose_for,
    require_valid,
)
from pwreset.credentials.ratelimit import limiter
from pwreset.credentials.sessions import IssuedSession
from pwreset.storage.accounts import account_and_firm, find_account_by_email, get_or_none, mail_block_reason
from pwreset.storage.models import Account, Firm


@dataclass(frozen=True)
class SentLink:
    reset_id: str
    sent_to: str  # masked
    expires_at: datetime


@dataclass(frozen=True)
class VerifiedReset:
    purpose: str
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
    firm = get_or_none(Firm, account.firm_id) if account is not None and not blocked else None
    if blocked or account is None or firm is None:
        _ignore(email, blocked or "unknown")
        return
    try:
        # An account without a password (invited, never set up) gets the invitation again.
        issue_link(
            account,
            firm,
            purpose=purpose_for(account),
            lifetime=settings().self_service_link_lifetime_seconds,
            requested_by=None,
            meta=meta,
        )
    except errors.DomainError as exc:
        logger.warning("self-service reset failed", extra={"email": mask_email(email), "code": exc.code})


def _ignore(email: str, reason: str) -> None:
    logger.info("self-service reset not sent", extra={"email": mask_email(email), "reason": reason})
    metrics.add_metric(name="ResetRequestIgnored", unit="Count", value=1)


def request_staff_reset(principal: Principal, account_id: str, *, meta: RequestMeta) -> SentLink:
    """A firm's owner or team member sends one of the firm's clients a link (ASVS 6.4.6: staff start
    the reset, only the client chooses the password). A client without a password yet gets the
    invitation instead, which sets the first one."""
    account, firm = _staff_target(principal, account_id)
    return _send(
        account,
        firm,
        principal,
        purpose=purpose_for(account),
        lifetime=settings().staff_link_lifetime_seconds,
        meta=meta,
    )


def request_staff_invitation(principal: Principal, account_id: str, *, meta: RequestMeta) -> SentLink:
    """``POST /v1/accounts/{account_id}/invitation``: the welcome mail with a link to set the first
    password; ``409 password_already_set`` once there is one (a reset link is what helps then)."""
    account, firm = _staff_target(principal, account_id, invitation=True)
    return _send(
        account,
        firm,
        principal,
        purpose=INVITATION,
        lifetime=settings().invitation_lifetime_seconds,
        meta=meta,
    )


def _staff_target(principal: Principal, account_id: str, *, invitation: bool = False) -> tuple[Account, Firm]:
    """The client a staff member may send a link to, or the contract's error for why not."""
    if not principal.is_staff:
        raise errors.Forbidden(locale=principal.locale)
    # The target and the caller's firm in one read: staff act only on their own firm's accounts.
    account, firm = account_and_firm(account_id, principal.firm_id)
    # Another firm's account is indistinguishable from a missing one.
    if account is None or firm is None or account.firm_id != principal.firm_id or account.role != "client":
        raise errors.AccountNotFound(locale=principal.locale)
    if account.status != "active":
        raise errors.AccountArchived(locale=principal.locale)
    if invitation and account.has_password:
        raise errors.PasswordAlreadySet(locale=principal.locale)
    sends = limiter().hit("staff_send_account", account.account_id)
    if not sends.allowed:
        raise errors.RateLimited(retry_after=sends.retry_after, locale=principal.locale)
    if account.email_status != "ok":
        # deferred: only an undeliverable address reads the timelines
        from pwreset.delivery.deliveries import undeliverable_diagnosis

        # What SES reported, in the staff member's language: "fix the typo" beats "try again".
        diagnosis = undeliverable_diagnosis(account, locale=principal.locale)
        raise errors.EmailUndeliverable(locale=principal.locale, extra={"diagnosis": diagnosis})
    return account, firm


def _send(
    account: Account, firm: Firm, principal: Principal, *, purpose: Purpose, lifetime: int, meta: RequestMeta
) -> SentLink:
    requester = Requester(account_id=principal.account_id, name=principal.name, locale=principal.locale)
    record = issue_link(account, firm, purpose=purpose, lifetime=lifetime, requested_by=requester, meta=meta)
    return SentLink(reset_id=record.reset_id, sent_to=mask_email(account.email), expires_at=record.expires_at)


# ---------------------------------------------------------------------------------------- verify


def _limit(rule: str, meta: RequestMeta) -> None:
    """Per-IP limits on the token routes: tokens cannot be guessed, but a scanner should still
    meet a wall."""
    decision = limiter().hit(rule, meta.source_ip)
    if not decision.allowed:
        raise errors.RateLimited(retry_after=decision.retry_after, locale=meta.locale)


def verify_reset(raw_token: str, *, meta: RequestMeta) -> VerifiedReset:
    """Say whether a link still works, and what for, without consuming it."""
    _limit("verify_ip", meta)
    record, account = require_valid(*load_link(raw_token))
    return VerifiedReset(
        purpose=record.purpose,
        email_hint=mask_email(account.email),
        expires_at=record.expires_at,
        locale=account.locale,
        policy=changes.policy().describe(account.locale),
    )


# ---------------------------------------------------------------------------------------- confirm


def confirm_reset(raw_token: str, password: str, *, meta: RequestMeta) -> ConfirmedReset:
    """Set the password a link offers and sign in (see :func:`pwreset.credentials.changes.commit`)."""
    _limit("confirm_ip", meta)
    record, account = require_valid(*load_link(raw_token))
    normalised = changes.acceptable_password(password, account, firm_name=record.firm_name or "")
    detail = {
        "reset_id": record.reset_id,
        "requested_by": record.requested_by,
        "requested_by_name": record.requested_by_name,
        "requested_at": record.requested_at,
    }
    change = changes.CHANGED_BY_INVITATION if record.purpose == INVITATION else changes.CHANGED_BY_RESET
    try:
        done = changes.commit(account, normalised, meta=meta, change=change, detail=detail, link=record)
    except TransactWriteError as exc:
        # Someone else got there first (a concurrent confirm, another reset, a revocation): report
        # what the link is worth now.
        logger.info(
            "confirm lost a race",
            extra={"reset_id": record.reset_id, "reasons": changes.cancellation_reasons(exc)},
        )
        require_valid(*load_link(raw_token))
        raise errors.TokenUsed(locale=account.locale) from exc
    logger.info("link used", extra={"reset_id": record.reset_id, "account_id": account.account_id})
    return ConfirmedReset(account=account, session=done.session, redirect_url=settings().portal_url)
