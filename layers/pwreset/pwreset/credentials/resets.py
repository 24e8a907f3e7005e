"""Requesting, verifying and confirming password links (resets and invitations).

The flows, in the order a client meets them:

* a firm's staff member, the CRM (provisioning) or the client asks for a link: a token is issued
  (digest stored, with the ``reset_requested`` event, in one transaction) and mailed through SES
  (:mod:`pwreset.credentials.links`); a login without a password gets an invitation, one with a
  password a reset link;
* the hosted page verifies the token (nothing is consumed: mail scanners open links too); the first
  verify of a link marks its mail opened, the deliveries view's proof that the mail was found;
* the client sets a password: :func:`pwreset.credentials.changes.commit` changes the login's hash,
  bumps its ``password_version``, consumes the token, records the event and opens the new session
  in one transaction. Every other link and session of every account of the login dies with the
  version bump.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from pwreset.core import aws, errors
from pwreset.core.config import settings
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.core.request import Principal, RequestMeta
from pwreset.core.transient import cancellation_codes, is_transient
from pwreset.credentials import changes, unlock_codes
from pwreset.credentials.links import (
    INVITATION,
    Purpose,
    Requester,
    is_unlock,
    issue_link,
    load_link,
    load_link_and_firm,
    purpose_for,
    require_valid,
)
from pwreset.credentials.ratelimit import client_network, limiter
from pwreset.credentials.sessions import IssuedSession
from pwreset.mail.brand import page_firm, portal_url_for
from pwreset.storage.accounts import account_and_firm, get_login, mail_block_reason, read_together
from pwreset.storage.deliveries import mark_link_opened
from pwreset.storage.idempotency import Guard, guard
from pwreset.storage.logins import accounts_of_login
from pwreset.storage.models import Account, Firm, Login, ResetToken
from pwreset.storage.transactions import TransactWriteError

# What verify calls a link that needs an unlock code (pwreset.credentials.links.is_unlock).
UNLOCK = "unlock"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SentLink:
    reset_id: str
    sent_to: str  # masked
    expires_at: datetime
    # An unlock link's code, for the staff member to read to the client (never stored as such).
    unlock_code: str | None = None


@dataclass(frozen=True)
class VerifiedReset:
    purpose: str  # reset | invitation | unlock (its confirm needs the unlock code)
    email_hint: str
    expires_at: datetime
    locale: str
    policy: dict[str, Any]
    # Whose brand the page shows (pwreset.accounts.firms.page_firm); None: the neutral look.
    firm: dict[str, Any] | None = None


@dataclass(frozen=True)
class ConfirmedReset:
    account: Account
    session: IssuedSession
    redirect_url: str


# ---------------------------------------------------------------------------------------- request


class SelfServiceRequest(BaseModel):
    """A self-service request as the HTTP handler queues it for SelfServiceResetFunction: the
    (normalised) address, the firm whose portal asked (``None``: no firm named), and the facts of
    the request the link's audit event records."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    request_id: Annotated[str, Field(min_length=1, max_length=64)]
    email: Annotated[str, Field(min_length=3, max_length=320)]
    firm_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    requested_at: datetime
    meta: dict[str, str] = Field(default_factory=dict)

    def request_meta(self) -> RequestMeta:
        known = {k: v for k, v in self.meta.items() if k in RequestMeta.__dataclass_fields__}
        return RequestMeta(**known, received_at=self.requested_at)


def request_self_service_reset(
    email: str, *, locale: str | None, meta: RequestMeta, firm_id: str | None = None
) -> None:
    """``POST /v1/password-resets``: count the limits and queue the request, the same two writes
    and one message for every address, known or not, in ``firm_id`` or not, so neither the answer
    nor its timing says which addresses exist where. Whether there is an account to mail is decided
    by the queue's function
    (:func:`send_self_service_link`). A request over a limit is dropped here (the limits count the
    address and the client, not whether the address exists). A queue that cannot take the request
    is a 503 for every address alike: nothing is lost silently."""
    limits = limiter()
    by_ip = limits.hit("self_service_ip", client_network(meta.source_ip))
    by_email = limits.hit("self_service_email", email)
    if not (by_ip.allowed and by_email.allowed):
        _ignore(email, "rate_limited")
        return
    request = SelfServiceRequest(
        request_id=uuid.uuid4().hex,
        email=email,
        firm_id=firm_id,
        requested_at=meta.received_at,
        meta={**meta.as_detail(), "locale": locale or meta.locale},
    )
    try:
        aws.client("sqs").send_message(
            QueueUrl=settings().self_service_queue_url, MessageBody=request.model_dump_json()
        )
    except Exception as exc:  # after botocore's retries: SQS is down for now
        logger.warning("self-service request not queued", extra={"error": type(exc).__name__})
        raise errors.UpstreamUnavailable(locale=locale or meta.locale, headers={"Retry-After": "30"}) from exc
    # The request id follows the request into SelfServiceResetFunction's log.
    logger.info("self-service request queued", extra={"self_service_request": request.request_id})
    metrics.add_metric(name="ResetRequestQueued", unit="Count", value=1)


# In-place attempts of a queued request before SQS's own retry (see send_self_service_link).
SELF_SERVICE_ATTEMPTS = 3
SELF_SERVICE_RETRY_PAUSE_S = 0.1
# A queued request older than this sends nothing. The person asked for a link to use now; SQS's own
# retries end within it (five receives, three minutes apart), so only a redrive from the dead-letter
# queue, hours or days later, brings an older one, when the mailbox may have changed hands and the
# person long since asked again or given up.
SELF_SERVICE_MAX_AGE = timedelta(minutes=15)


def send_self_service_link(request: SelfServiceRequest) -> str:
    """The queue's side: mail a link when the address's login has an active account (in the
    request's firm, when one is named; else the one a sign-in without a firm acts as), a login
    without a password gets the invitation again; otherwise nothing. Once per request, however
    often SQS delivers it; a failure to send raises, so the message is retried and, after its last
    try, kept in the dead-letter queue. A request older than ``SELF_SERVICE_MAX_AGE`` sends nothing.
    Returns what happened (for the log)."""
    requested_at = request.requested_at
    if requested_at.tzinfo is None:
        requested_at = requested_at.replace(tzinfo=UTC)
    age = _now() - requested_at
    if age > SELF_SERVICE_MAX_AGE:
        logger.warning(
            "self-service request too old, nothing sent",
            extra={"email": mask_email(request.email), "age_seconds": int(age.total_seconds())},
        )
        metrics.add_metric(name="ResetRequestExpired", unit="Count", value=1)
        return "expired"
    for attempt in range(1, SELF_SERVICE_ATTEMPTS + 1):
        try:
            outcome: str = _self_service_guard().run(request=request)
            return outcome
        except Exception as exc:
            # Throttling or a conflicting transaction: tried again here at once, since the queue
            # would bring the message back only after its visibility timeout (minutes) while the
            # client waits for the mail. Anything else, or the last attempt, goes to the queue.
            if attempt == SELF_SERVICE_ATTEMPTS or not is_transient(exc):
                raise
            logger.warning(
                "self-service link not sent yet, trying again",
                extra={"attempt": attempt, "error": type(exc).__name__},
            )
            time.sleep(SELF_SERVICE_RETRY_PAUSE_S * attempt)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


@cache
def _self_service_guard() -> Guard:
    return guard(
        _send_self_service_link,
        data_keyword_argument="request",
        key_jmespath="request_id",
        key_prefix="self_service_request",
        # SQS keeps a request a day; the key outlives every redelivery.
        expires_after_seconds=2 * 24 * 3600,
    )


def _send_self_service_link(*, request: SelfServiceRequest) -> str:
    accounts = accounts_of_login(request.email)
    login, acting = accounts.login, accounts.acting(request.firm_id)
    account: Account | None = None
    firm: Firm | None = None
    if login is not None and acting is not None:
        found = read_together(accounts=[acting.account_id], firms=[acting.firm_id])
        account, firm = found.accounts.get(acting.account_id), found.firms.get(acting.firm_id)
    # A locked login gets nothing: only a link from a firm may lift the lock.
    blocked = mail_block_reason(account, login, self_service=True)
    if blocked or account is None or login is None or firm is None:
        _ignore(request.email, blocked or "unknown")
        return blocked or "unknown"
    # A send that fails raises EmailSendFailed: the message is retried with a new link (the
    # failed one is marked send_failed and nobody has its token).
    issue_link(
        account,
        login,
        firm,
        purpose=purpose_for(login),
        lifetime=settings().self_service_link_lifetime_seconds,
        requested_by=None,
        meta=request.request_meta(),
        firm_bound=request.firm_id is not None,
    )
    return "sent"


def _ignore(email: str, reason: str) -> None:
    logger.info("self-service reset not sent", extra={"email": mask_email(email), "reason": reason})
    metrics.add_metric(name="ResetRequestIgnored", unit="Count", value=1)


def register_lambda_context(context: Any) -> None:
    """An in-progress record left by a timed-out invocation expires when that invocation would
    have ended."""
    _self_service_guard().register_lambda_context(context)


def reset_guards() -> None:
    """Forget the built idempotency guard (tests switch moto mocks between cases)."""
    _self_service_guard.cache_clear()


def request_staff_reset(principal: Principal, account_id: str, *, meta: RequestMeta) -> SentLink:
    """A firm's owner or team member sends one of the firm's clients a link (ASVS 6.4.6: staff start
    the reset, only the client chooses the password). A client whose login has no password yet gets
    the invitation instead, which sets the first one."""
    account, login, firm = _staff_target(principal, account_id)
    return _send(
        account,
        login,
        firm,
        principal,
        purpose=purpose_for(login),
        lifetime=settings().staff_link_lifetime_seconds,
        meta=meta,
    )


def request_staff_invitation(principal: Principal, account_id: str, *, meta: RequestMeta) -> SentLink:
    """``POST /v1/accounts/{account_id}/invitation``: the welcome mail with a link to set the first
    password; ``409 password_already_set`` once the login has one (a reset link is what helps
    then)."""
    account, login, firm = _staff_target(principal, account_id, invitation=True)
    return _send(
        account,
        login,
        firm,
        principal,
        purpose=INVITATION,
        lifetime=settings().invitation_lifetime_seconds,
        meta=meta,
    )


def _staff_target(
    principal: Principal, account_id: str, *, invitation: bool = False
) -> tuple[Account, Login, Firm]:
    """The client a staff member may send a link to, with its login, or the contract's error for
    why not. Staff act for the firm their session acts as: another firm's account of the same
    person is another firm's."""
    if not principal.is_staff:
        raise errors.Forbidden(locale=principal.locale)
    # The target and the caller's firm in one read: staff act only on their own firm's accounts.
    account, firm = account_and_firm(account_id, principal.firm_id)
    # Another firm's account is indistinguishable from a missing one.
    if account is None or firm is None or account.firm_id != principal.firm_id or account.role != "client":
        raise errors.AccountNotFound(locale=principal.locale)
    if account.status != "active":
        raise errors.AccountArchived(locale=principal.locale)
    # Has a password, is locked, what SES said of the address: the login's (its key came with the
    # account, so it cannot join the first read).
    login = get_login(account.email)
    if login is None:
        raise errors.AccountNotFound(locale=principal.locale)
    if invitation and login.has_password:
        raise errors.PasswordAlreadySet(locale=principal.locale)
    sends = limiter().hit("staff_send_account", account.account_id)
    if not sends.allowed:
        raise errors.RateLimited(retry_after=sends.retry_after, locale=principal.locale)
    if login.email_status != "ok":
        # deferred: only an undeliverable address reads the timelines
        from pwreset.delivery.deliveries import undeliverable_diagnosis

        # What SES reported, in the staff member's language: "fix the typo" beats "try again".
        diagnosis = undeliverable_diagnosis(account, login, locale=principal.locale)
        raise errors.EmailUndeliverable(locale=principal.locale, extra={"diagnosis": diagnosis})
    return account, login, firm


def _send(
    account: Account,
    login: Login,
    firm: Firm,
    principal: Principal,
    *,
    purpose: Purpose,
    lifetime: int,
    meta: RequestMeta,
) -> SentLink:
    requester = Requester(account_id=principal.account_id, name=principal.name, locale=principal.locale)
    # A locked login: whoever changed its password may hold the mailbox, so the link alone must not
    # lift the lock; the staff member reads the code to the client after checking who they are.
    code = unlock_codes.new_code() if is_unlock(login, requester) else None
    record = issue_link(
        account,
        login,
        firm,
        purpose=purpose,
        lifetime=lifetime,
        requested_by=requester,
        meta=meta,
        unlock_code=code,
    )
    return SentLink(
        reset_id=record.reset_id,
        sent_to=mask_email(account.email),
        expires_at=record.expires_at,
        unlock_code=code,
    )


# ---------------------------------------------------------------------------------------- verify


def _limit(rule: str, meta: RequestMeta) -> None:
    """Per-client-network limits on the token routes: tokens cannot be guessed, but a scanner
    should still meet a wall, and hopping addresses inside one IPv6 /64 must not move it."""
    decision = limiter().hit(rule, client_network(meta.source_ip))
    if not decision.allowed:
        raise errors.RateLimited(retry_after=decision.retry_after, locale=meta.locale)


def verify_reset(raw_token: str, *, meta: RequestMeta) -> VerifiedReset:
    """Say whether a link still works, and what for, without consuming it."""
    _limit("verify_ip", meta)
    record, account, login, firm = load_link_and_firm(raw_token)
    record, account, _login = require_valid(record, account, login)
    _note_opened(record)
    return VerifiedReset(
        purpose=UNLOCK if record.unlock_code_hash else record.purpose,
        email_hint=mask_email(account.email),
        expires_at=record.expires_at,
        locale=account.locale,
        policy=changes.policy().describe(account.locale),
        firm=page_firm(firm),
    )


def _note_opened(record: ResetToken) -> None:
    """The hosted page opened the link: its mail reached the client, which SES cannot tell (a mail
    filtered into a spam folder or a quarantine is "delivered" too). One conditional write, which
    changes something only the first time; it never costs the client the page."""
    try:
        if mark_link_opened(record.reset_id, _now()):
            metrics.add_metric(name="LinkOpened", unit="Count", value=1)
    except Exception as exc:  # throttled or unreachable: the page works without it
        logger.warning(
            "link opening not recorded", extra={"reset_id": record.reset_id, "error": type(exc).__name__}
        )


# ---------------------------------------------------------------------------------------- confirm


def confirm_reset(
    raw_token: str, password: str, *, meta: RequestMeta, code: str | None = None
) -> ConfirmedReset:
    """Set the password a link offers (the login's: every account of it opens with it) and sign in
    as the account the link was issued for (see :func:`pwreset.credentials.changes.commit`): the
    one a staff member or the CRM sent it for, or for a self-service link the login's account in
    the firm that asked, else the one a sign-in without a firm acted as when it was issued. An
    unlock link needs its unlock ``code`` first (:func:`pwreset.credentials.unlock_codes.require_code`);
    only then is the password judged, and the lock lifted with the change."""
    _limit("confirm_ip", meta)
    record, account, login, firm = load_link_and_firm(raw_token)
    record, account, login = require_valid(record, account, login)
    if record.unlock_code_hash:
        try:
            unlock_codes.require_code(record, raw_token, code, locale=account.locale)
        except unlock_codes.LinkClosed as exc:
            require_valid(*load_link(raw_token))  # what it is worth now: used or revoked
            raise errors.TokenUsed(locale=account.locale) from exc
    normalised = changes.acceptable_password(password, account, firm_name=record.firm_name or "")
    detail = {
        "reset_id": record.reset_id,
        "requested_by": record.requested_by,
        "requested_by_name": record.requested_by_name,
        "requested_at": record.requested_at,
    }
    change = changes.CHANGED_BY_INVITATION if record.purpose == INVITATION else changes.CHANGED_BY_RESET
    try:
        done = changes.commit(
            account, login, normalised, meta=meta, change=change, detail=detail, link=record
        )
    except TransactWriteError as exc:
        if is_transient(exc):
            raise  # another writer or throttling, not our condition: nothing happened, try again
        # Someone else got there first (a concurrent confirm, another reset, a revocation): report
        # what the link is worth now.
        logger.info(
            "confirm lost a race",
            extra={"reset_id": record.reset_id, "reasons": cancellation_codes(exc)},
        )
        require_valid(*load_link(raw_token))
        raise errors.TokenUsed(locale=account.locale) from exc
    logger.info("link used", extra={"reset_id": record.reset_id, "account_id": account.account_id})
    # Where the client lands is the link's firm's portal (never the request's); a self-service
    # link asked for without a firm lands on the configured portal, which asks which firm.
    landing = portal_url_for(firm if record.firm_bound else None)
    return ConfirmedReset(account=account, session=done.session, redirect_url=landing)
