"""Changing a password, by whatever route: a reset or invitation link, or the holder signed in.

Every route ends in :func:`commit`, one transaction that writes the new hash, bumps
``password_version`` (every older session and link ends with it), records the ``password_changed``
event (its stream sends the notifications) and opens the replacement session, and, for a link,
consumes it (a staff-sent link on a locked account also lifts the lock). The conditions make
concurrent changes safe: the account must still be active and carry the versions the change was
computed on (a lock bumps ``password_version``, so a change computed before it fails).
"""

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
from pwreset.credentials.sessions import IssuedSession, check_password, new_session
from pwreset.storage.accounts import account_and_firm, get_or_none
from pwreset.storage.events import audit_event
from pwreset.storage.models import Account, Event, Firm, ResetToken, Session
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
    password: str,
    *,
    meta: RequestMeta,
    change: str,
    detail: Mapping[str, object],
    link: ResetToken | None = None,
) -> Changed:
    """Write the change in one transaction (see the module's docstring). Raises
    ``TransactWriteError`` when the account or the link changed meanwhile; the caller says why."""
    new_hash = hash_password(password)
    now = _now()
    new_version = int(account.password_version) + 1
    session = new_session(account, password_version=new_version, now=now)
    # A locked account only gets here with a staff-sent link (credentials.tokens says so): the firm
    # vouched for the holder, so the new password lifts the lock in the same write.
    unlock = link is not None and account.is_locked
    event = audit_event(
        "password_changed",
        account_id=account.account_id,
        firm_id=account.firm_id,
        meta=meta,
        at=now,
        detail={"change": change, **detail, **({"unlocked": True} if unlock else {})},
    )
    actions: list[Action] = [
        Account.password_hash.set(new_hash),
        Account.password_version.set(new_version),
        Account.password_changed_at.set(now),
    ]
    if unlock:
        actions += [Account.locked_at.remove(), Account.lock_event_id.remove()]
    with transaction() as tx:
        tx.update(
            account,
            actions=actions,
            condition=(Account.password_version == account.password_version)
            & (Account.access_version == account.access_version)
            & (Account.status == "active"),
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


def change_password(principal: Principal, current: str, new: str, *, meta: RequestMeta) -> Changed:
    """``POST /v1/sessions/current/password``: the current password is checked like a sign-in (same
    limits, same work), the new one against the policy; then :func:`commit`. The caller's session
    ends with every other one; the one returned replaces it."""
    # Both keys come with the session: one read for the account and the firm's name (the policy).
    account, firm = account_and_firm(principal.account_id, principal.firm_id)
    if account is None:
        raise errors.Unauthorized(locale=principal.locale)
    if firm is not None and firm.firm_id != account.firm_id:
        firm = get_or_none(Firm, account.firm_id)  # moved since the session began
    check_password(account.email, current, meta=meta, account=account)
    normalised = acceptable_password(new, account, firm_name=firm.name if firm else "")
    try:
        return commit(account, normalised, meta=meta, change=CHANGED_IN_PORTAL, detail={})
    except TransactWriteError as exc:
        if is_transient(exc):
            raise  # another writer or throttling, not our condition: the session still stands
        # Another change won (a reset confirmed, a second tab, a revocation): this session is over.
        logger.info("password change lost a race", extra={"reasons": cancellation_codes(exc)})
        raise errors.Unauthorized(locale=principal.locale) from exc
