"""Changing a password, by whatever route: a reset or invitation link, or the holder signed in.

The password is the login's, so a change acts on every account that shares it. Every route ends in
:func:`commit`, one transaction that writes the new hash on the login, bumps its
``password_version`` (every older session and link of every account of the login ends with it),
records the ``password_changed`` event of the account the change came through (its stream sends the
notifications) and opens the replacement session, and, for a link, consumes it (an unlock link,
confirmed with its unlock code, also lifts the lock). The conditions make concurrent changes safe:
the login must carry the version and lock state the change was computed on (a lock bumps
``password_version``, so a change computed before it fails), and the account must still be active
with its access version; the link must still be open (a fifth wrong code revokes it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from pwreset.core import errors
from pwreset.core.config import settings
from pwreset.core.observability import logger, metrics
from pwreset.core.request import Principal, RequestMeta
from pwreset.core.transient import cancellation_codes, is_transient
from pwreset.credentials.hashing import hash_password
from pwreset.credentials.ratelimit import Decision, limiter
from pwreset.credentials.sessions import IssuedSession, check_current_password, new_session
from pwreset.storage.accounts import get_or_none, read_together
from pwreset.storage.events import audit_event
from pwreset.storage.models import Account, Event, Firm, Login, ResetToken, Session
from pwreset.storage.transactions import Action, TransactWriteError, transaction

if TYPE_CHECKING:
    from pwreset.credentials.policy import PasswordPolicy

# How a change came about, as the notifications word it.
CHANGED_BY_RESET = "reset"
CHANGED_BY_INVITATION = "invitation"
CHANGED_IN_PORTAL = "portal"


def _now() -> datetime:
    return datetime.now(UTC)


@cache
def policy() -> PasswordPolicy:
    # deferred: the request function never checks a password
    from pwreset.credentials.policy import PasswordPolicy

    cfg = settings()
    return PasswordPolicy(min_length=cfg.password_min_length, max_length=cfg.password_max_length)


def acceptable_password(password: str, account: Account, *, firm_name: str) -> str:
    """``password`` normalised as it will be hashed, or ``422 password_rejected`` with every broken
    rule, in the account's language. Only a password the local rules accept is looked up in known
    breaches (a network call: ``pwreset.credentials.breached``)."""
    # deferred: the request function never checks a password
    from pwreset.credentials import breached  # deferred: only a new password is looked up
    from pwreset.credentials.policy import PolicyContext

    checker = policy()
    violations = checker.check(
        password, PolicyContext(email=account.email, name=account.name, firm_name=firm_name)
    ) or breached.violations(checker.normalise(password))
    if violations:
        metrics.add_metric(name="PasswordRejected", unit="Count", value=1)
        raise errors.PasswordRejected(
            locale=account.locale,
            extra={
                "violations": [{"rule": v.rule, "message": v.message(account.locale)} for v in violations]
            },
        )
    return checker.normalise(password)


@dataclass(frozen=True)
class Changed:
    account: Account
    session: IssuedSession


def commit(
    account: Account,
    login: Login,
    password: str,
    *,
    meta: RequestMeta,
    change: str,
    detail: Mapping[str, object],
    link: ResetToken | None = None,
) -> Changed:
    """Write the change in one transaction (see the module's docstring). Raises
    ``TransactWriteError`` when the login, the account or the link changed meanwhile; the caller
    says why."""
    new_hash = hash_password(password)
    now = _now()
    new_version = int(login.password_version) + 1
    session = new_session(account, login, password_version=new_version, now=now)
    # A locked login only gets here with an unlock link whose code was right (credentials.tokens
    # and credentials.unlock_codes say so): a firm checked who the holder is, so the new password
    # lifts the lock in the same write.
    unlock = link is not None and login.is_locked and bool(link.unlock_code_hash)
    event = audit_event(
        "password_changed",
        account_id=account.account_id,
        firm_id=account.firm_id,
        meta=meta,
        at=now,
        detail={"change": change, **detail, **({"unlocked": True} if unlock else {})},
    )
    actions: list[Action] = [
        Login.password_hash.set(new_hash),
        Login.password_version.set(new_version),
        Login.password_changed_at.set(now),
        # A new password ends a run of failed sign-ins (credentials.sessions.attempt): this is how
        # a login over the limit signs in again.
        Login.failed_sign_ins.remove(),
    ]
    if unlock:
        actions += [Login.locked_at.remove(), Login.lock_event_id.remove()]
    lock_as_read = Login.locked_at.exists() if login.is_locked else Login.locked_at.does_not_exist()
    with transaction() as tx:
        tx.update(
            login,
            actions=actions,
            condition=(Login.password_version == login.password_version) & lock_as_read,
        )
        tx.condition_check(
            Account,
            account.account_id,
            condition=(Account.access_version == account.access_version)
            & (Account.status == "active")
            & (Account.email == login.email),
        )
        if link is not None:
            tx.update(
                link,
                actions=[ResetToken.status.set("used"), ResetToken.used_at.set(now)],
                condition=ResetToken.status == "issued",
            )
        tx.save(event, condition=Event.event_id.does_not_exist())
        tx.save(session.record, condition=Session.session_hash.does_not_exist())
    metrics.add_metric(name="PasswordChanged", unit="Count", value=1)
    logger.info(
        "password changed", extra={"account_id": account.account_id, "change": change, "unlocked": unlock}
    )
    return Changed(account=account, session=session)


def _count_change(login: Login, *, locale: str) -> Decision:
    """Count a change of the login's password while signed in (``password_change_login``, per
    login, so across all its accounts and firms), or ``429 rate_limited`` with nothing changed: each
    change mails every owner of every firm of the login. Counted after every other check and taken
    back when the change is not made (a refusal's too), so the counter holds only changes made."""
    limits = limiter()
    allowance = limits.hit("password_change_login", login.email)
    if not allowance.allowed:
        limits.refund(allowance)
        metrics.add_metric(name="PasswordChangeRateLimited", unit="Count", value=1)
        raise errors.RateLimited(retry_after=allowance.retry_after, locale=locale)
    return allowance


def change_password(principal: Principal, current: str, new: str, *, meta: RequestMeta) -> Changed:
    """``POST /v1/sessions/current/password``: the current password is checked like a sign-in (same
    limits, same work), the new one against the policy; then :func:`commit`. Every session of the
    login ends, the caller's too; the one returned replaces it."""
    # Every key comes with the session: one read for the account, its login and the firm's name
    # (the policy).
    found = read_together(
        accounts=[principal.account_id], firms=[principal.firm_id], logins=[principal.email]
    )
    account, login = found.accounts.get(principal.account_id), found.logins.get(principal.email)
    if account is None or login is None:
        raise errors.Unauthorized(locale=principal.locale)
    firm = found.firms.get(account.firm_id) or get_or_none(Firm, account.firm_id)
    check_current_password(login, current, meta=meta, locale=account.locale)
    normalised = acceptable_password(new, account, firm_name=firm.name if firm else "")
    allowance = _count_change(login, locale=account.locale)
    try:
        return commit(account, login, normalised, meta=meta, change=CHANGED_IN_PORTAL, detail={})
    except Exception as exc:
        limiter().refund(allowance)  # no change made: it does not count
        if not isinstance(exc, TransactWriteError):
            raise
        if is_transient(exc):
            raise  # another writer or throttling, not our condition: the session still stands
        # Another change won (a reset confirmed, a second tab, a revocation): this session is over.
        logger.info("password change lost a race", extra={"reasons": cancellation_codes(exc)})
        raise errors.Unauthorized(locale=principal.locale) from exc
