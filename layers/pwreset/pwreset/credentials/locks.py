""" "It wasn't me": the holder locks their login from the lock link of a password-changed mail.

Every mail that tells a client their password changed carries ``{RESET_PAGE_URL}#lock={token}``
(:func:`issue_lock_token`). The token (:class:`pwreset.credentials.tokens.LockTokenGenerator`) is
shown once, in the mail, and stored only as its digest in the lock-tokens table. It is single use,
lives :data:`LOCK_LINK_LIFETIME`, and is bound to the change it reports (the ``password_changed``
event and its facts).

``POST /v1/account-locks`` with the link's token makes one transaction:

* the login is locked (``locked_at``, kept from the first lock, and this lock's event id): the
  password is the login's, so whoever changed it could use it at every firm where the login has an
  account, and the lock ends that everywhere; the condition is that the link's account is still
  active (an archived account has nothing to lock);
* the login's ``password_version`` is bumped: every session and every open reset or invitation link
  of every account of the login carries the version, so all of them end in this very write,
  whoever holds them;
* the token is marked used (condition: still ``issued``: one lock per token, however many clicks);
* an ``account_locked`` event records the lock request's IP, browser and location and the change
  the link reported; its stream mails the owners of every firm where the login has an active
  account and confirms to the holder.

A locked login refuses sign-in with the right password (``403 account_locked``), its sessions,
self-service links and every link but one a staff member sends (of any of its firms); confirming
such a link sets a new password and lifts the lock (:func:`pwreset.credentials.changes.commit`). A
second valid lock link on a locked login locks again (the firms hear of that change too).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pwreset.core import errors, public_urls
from pwreset.core.observability import logger, metrics
from pwreset.core.request import RequestMeta
from pwreset.core.times import iso
from pwreset.core.transient import cancellation_codes, is_transient
from pwreset.credentials.ratelimit import client_network, limiter
from pwreset.credentials.tokens import TokenCheck, default_lock_token_generator, load_token
from pwreset.storage.accounts import holds_address
from pwreset.storage.events import PasswordChangedEvent, audit_event
from pwreset.storage.models import Account, Event, LockToken, Login
from pwreset.storage.transactions import TransactWriteError, transaction

LOCK_LINK_LIFETIME = timedelta(days=7)
# Kept a while after expiry, so a late click hears "expired" rather than "not valid".
RETENTION_AFTER_EXPIRY = timedelta(days=30)
_FACTS = ("source_ip", "user_agent", "country", "country_name", "region", "city")
# A transaction that lost to a concurrent writer (not to a condition) is tried again this often.
MAX_ATTEMPTS = 3

_CHECK_ERRORS: dict[TokenCheck, type[errors.DomainError]] = {
    TokenCheck.INVALID: errors.LockTokenInvalid,
    TokenCheck.EXPIRED: errors.LockTokenExpired,
    TokenCheck.USED: errors.LockTokenUsed,
    TokenCheck.ARCHIVED: errors.LockAccountArchived,
}


def _now() -> datetime:
    return datetime.now(UTC)


def lock_link(raw: str) -> str:
    """The page that asks before it locks; the URL comes from configuration, never a request."""
    return f"{public_urls.reset_page_url()}#lock={raw}"


def issue_lock_token(holder: Account, change: PasswordChangedEvent, *, now: datetime | None = None) -> str:
    """Store a lock token for the change ``change`` reports and return the link for the holder's
    mail. Issued when that mail is sent: a token from an attempt whose mail then failed was never
    seen by anyone, and expires unused."""
    issued = default_lock_token_generator.make_token()
    now = now or _now()
    expires_at = now + LOCK_LINK_LIFETIME
    facts = change.detail.model_dump(include=set(_FACTS))
    record = LockToken(
        issued.digest,
        account_id=holder.account_id,
        firm_id=holder.firm_id,
        email=holder.email,
        change_event_id=change.event_id,
        change=change.detail.change,
        changed_at=change.at,
        change_facts={k: v for k, v in facts.items() if v},
        created_at=now,
        expires_at=expires_at,
        access_version=int(holder.access_version),
        status="issued",
        ttl=expires_at + RETENTION_AFTER_EXPIRY,
    )
    try:
        with transaction() as tx:
            # Erased since the mail's event was read: no lock link (erasure would not see it).
            tx.condition_check(Account, holder.account_id, condition=holds_address(holder))
            tx.save(record, condition=LockToken.token_hash.does_not_exist())
    except TransactWriteError as exc:
        if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            raise errors.AccountNotFound(locale=holder.locale) from exc
        raise
    return lock_link(issued.raw)


def load_lock_token(raw: str) -> tuple[LockToken | None, Account | None, Login | None]:
    """The lock link's record, its account and its login (:func:`pwreset.credentials.tokens.load_token`)."""
    return load_token(default_lock_token_generator, LockToken, raw)


def lock_account(raw_token: str, *, meta: RequestMeta) -> Account:
    """Lock the login a lock link belongs to (see the module's docstring); returns the link's account
    as read before the lock. Every refusal is one of the contract's errors, never a 5xx."""
    decision = limiter().hit("lock_ip", client_network(meta.source_ip))
    if not decision.allowed:
        raise errors.RateLimited(retry_after=decision.retry_after, locale=meta.locale)
    lost: TransactWriteError | None = None
    for _attempt in range(MAX_ATTEMPTS):
        record, account, login = _require_valid(raw_token)
        try:
            _commit(record, account, login, meta=meta)
        except TransactWriteError as exc:
            # A condition failed (used meanwhile, archived, erased) or a concurrent write won:
            # read again and say why, or try once more.
            logger.info("lock lost a race", extra={"reasons": cancellation_codes(exc)})
            lost = exc
            continue
        metrics.add_metric(name="AccountLocked", unit="Count", value=1)
        logger.info(
            "account locked",
            extra={
                "account_id": account.account_id,
                "change_event_id": record.change_event_id,
                "already_locked": login.is_locked,
            },
        )
        return account
    # Writers kept racing on this account: what the link is worth now, or "used" (a lock won).
    _require_valid(raw_token)
    if lost is not None and is_transient(lost):
        raise lost  # throttled or conflicting to the end: a 503 with Retry-After, nothing claimed
    raise errors.LockTokenUsed(locale=meta.locale)


def _require_valid(raw_token: str) -> tuple[LockToken, Account, Login]:
    record, account, login = load_lock_token(raw_token)
    result = default_lock_token_generator.check(record, account, login)
    if result is not TokenCheck.VALID or record is None or account is None or login is None:
        metrics.add_metric(name="LockTokenRejected", unit="Count", value=1)
        raise _CHECK_ERRORS[result](locale=account.locale if account else None)
    return record, account, login


def _commit(record: LockToken, account: Account, login: Login, *, meta: RequestMeta) -> None:
    now = _now()
    event = audit_event(
        "account_locked",
        account_id=account.account_id,
        firm_id=account.firm_id,
        meta=meta,
        at=now,
        detail={
            "reported_event_id": record.change_event_id,
            "reported_change": record.change,
            "reported_at": iso(record.changed_at),
            "reported": dict(record.change_facts.as_dict() if record.change_facts else {}),
            "already_locked": login.is_locked,
        },
    )
    with transaction() as tx:
        tx.update(
            login,
            actions=[
                Login.locked_at.set(Login.locked_at | now),  # the first lock's time stays
                Login.lock_event_id.set(event.event_id),
                Login.password_version.add(1),
            ],
            condition=Login.email.exists(),
        )
        tx.condition_check(
            Account,
            account.account_id,
            condition=(Account.status == "active") & (Account.email == login.email),
        )
        tx.update(
            record,
            actions=[LockToken.status.set("used"), LockToken.used_at.set(now)],
            condition=LockToken.status == "issued",
        )
        tx.save(event, condition=Event.event_id.does_not_exist())
