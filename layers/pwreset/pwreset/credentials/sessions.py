"""Portal sessions: opaque random tokens, stored by SHA-256 digest, checked on every request.

A session is valid only while the account is active and its ``password_version`` and
``access_version`` are the ones the session was opened with, so a password change or a revocation
ends every older session at once, in the same write, with no per-session write; the dead ones leave
the table by TTL when they would have expired anyway.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pwreset.core import errors
from pwreset.core.config import settings
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.core.request import Principal, RequestMeta
from pwreset.credentials.hashing import hash_password, needs_rehash, verify_password
from pwreset.credentials.ratelimit import client_network, limiter
from pwreset.mail.addresses import InvalidEmail, normalise_email
from pwreset.storage.accounts import account_fields, find_account_by_email, get_or_none
from pwreset.storage.models import Account, Session

_SESSION_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
# How long every attempt on an account waits once it is over its account-wide failure count.
SLOWDOWN_SECONDS = 1.0


@dataclass(frozen=True)
class IssuedSession:
    raw: str  # handed to the client once; never stored or logged
    record: Session

    def __repr__(self) -> str:
        return f"IssuedSession(account_id={self.record.account_id!r})"

    @property
    def expires_at(self) -> datetime:
        return self.record.expires_at


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session: IssuedSession


def _now() -> datetime:
    return datetime.now(UTC)


def session_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_session(account: Account, *, password_version: int, now: datetime | None = None) -> IssuedSession:
    """Build (not save) a session, so it can join the confirm transaction."""
    now = now or _now()
    raw = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings().session_lifetime_seconds)
    record = Session(
        session_digest(raw),
        account_id=account.account_id,
        firm_id=account.firm_id,
        role=account.role,
        password_version=password_version,
        access_version=account.access_version,
        created_at=now,
        expires_at=expires_at,
        ttl=expires_at,
    )
    return IssuedSession(raw=raw, record=record)


def resolve_session(raw: str | None) -> tuple[Principal, Account] | None:
    """The caller behind a session token, or None for anything not currently valid. Never raises on
    bad input."""
    if not raw or _SESSION_SHAPE.fullmatch(raw) is None:
        return None
    # Strongly consistent, both: a sign-out, a reset or a revocation ends access at once.
    record = get_or_none(Session, session_digest(raw), consistent_read=True)
    if record is None:
        return None
    account = get_or_none(Account, record.account_id, consistent_read=True)
    if account is None or not is_live(record, account, now=_now()):
        return None
    principal = Principal(
        account_id=account.account_id,
        firm_id=account.firm_id,
        role=account.role,
        name=account.name,
        locale=account.locale,
        session_hash=record.session_hash,
    )
    return principal, account


def is_live(record: Session, account: Account, *, now: datetime) -> bool:
    """Whether a session still signs its holder in: not expired, the account active and not
    locked, and neither a password change nor a revocation since it was opened."""
    return (
        record.expires_at > now
        and account.status == "active"
        # A lock bumps password_version too; this refuses a locked account whatever a session says.
        and not account.is_locked
        and account.password_version == record.password_version
        and account.access_version == record.access_version
    )


def live_sessions(account: Account) -> list[Session]:
    """The account's sessions that would sign in right now (for counting what a revocation ends)."""
    now = _now()
    return [s for s in Session.by_account.query(account.account_id) if is_live(s, account, now=now)]


def sign_in(email: str, password: str, *, meta: RequestMeta) -> SignedIn:
    """Check the password (:func:`check_password`) and open a session."""
    account = check_password(email, password, meta=meta)
    session = new_session(account, password_version=int(account.password_version))
    session.record.save(condition=Session.session_hash.does_not_exist())
    metrics.add_metric(name="SignIn", unit="Count", value=1)
    logger.info("signed in", extra={"account_id": account.account_id})
    return SignedIn(account=account, session=session)


def check_password(
    email: str, password: str, *, meta: RequestMeta, account: Account | None = None
) -> Account:
    """The account when ``password`` is its password; else ``401 invalid_credentials`` (or ``429``).

    Sign-in and a change of password while signed in both check through here, under the same
    limits. Unknown address, archived account, account without a password and wrong password give
    the same error after the same work (an argon2 verification, against a dummy hash when there is
    nothing to verify), so the answer enumerates nothing. ``account``: already known (the signed-in
    caller's), else found by ``email``.

    The right password for a locked account ("It wasn't me") is ``403 account_locked``.

    The limits count failures only (NIST 800-63B 5.2.2), and they count before the password is
    checked, atomically: each attempt adds itself to its counters first, so guesses arriving
    together are checked at most up to the limit; a success takes its counts back. Hard limits are
    per (account, client network) and per client network, so failures from one place never lock
    the rightful user out from another; account-wide failures only slow every attempt down.
    """
    # deferred: the authorizer never checks a password
    from pwreset.credentials.policy import PasswordPolicy

    try:
        address = normalise_email(email)
    except InvalidEmail:
        address = ""
    limits = limiter()
    network = client_network(meta.source_ip)
    hard = [
        limits.hit("sign_in_account_ip", f"{address}|{network}" if address else ""),
        limits.hit("sign_in_ip", network),
    ]
    account_wide = limits.hit("sign_in_account", address)
    blocked = [d for d in hard if not d.allowed]
    if blocked:
        metrics.add_metric(name="SignInRateLimited", unit="Count", value=1)
        raise errors.RateLimited(retry_after=max(d.retry_after for d in blocked), locale=meta.locale)
    if not account_wide.allowed:
        metrics.add_metric(name="SignInSlowedDown", unit="Count", value=1)
        _slow_down(SLOWDOWN_SECONDS)
    if account is None and address:
        account = find_account_by_email(address)
    candidate = PasswordPolicy.normalise(password)
    usable = account is not None and account.status == "active"
    ok = verify_password(account.password_hash if usable and account else None, candidate)
    if not ok or account is None:
        metrics.add_metric(name="SignInFailed", unit="Count", value=1)
        logger.info("sign-in failed", extra={"email": mask_email(address)})
        raise errors.InvalidCredentials(locale=meta.locale)
    for decision in (*hard, account_wide):
        limits.refund(decision)
    if account.is_locked:
        # Only the right password learns of the lock (a wrong one got the 401 above, after the
        # same work): it is the holder, or whoever changed the password, who must ask the firm.
        metrics.add_metric(name="SignInLocked", unit="Count", value=1)
        logger.info("sign-in refused: account locked", extra={"account_id": account.account_id})
        raise errors.AccountLocked(locale=account.locale)
    if account.password_hash and needs_rehash(account.password_hash):
        _upgrade_hash(account, hash_password(candidate))
    return account


def _slow_down(seconds: float) -> None:
    """The account-wide brake: every attempt on an account under attack waits, the rightful
    user's included, but nobody is locked out. (A seam for tests.)"""
    time.sleep(seconds)


def _upgrade_hash(account: Account, new_hash: str) -> None:
    """Re-hash under raised parameters; skipped if the password changed meanwhile."""
    try:
        account.update(
            actions=[Account.password_hash.set(new_hash)],
            condition=Account.password_version == account.password_version,
        )
        logger.info("password hash upgraded", extra={"account_id": account.account_id})
    except Exception:  # the old hash still works; try again at the next sign-in
        logger.warning("password hash upgrade skipped", extra={"account_id": account.account_id})


def current_account(principal: Principal) -> Account:
    account = get_or_none(Account, principal.account_id)
    if account is None:
        raise errors.Unauthorized(locale=principal.locale)
    return account


def sign_out(principal: Principal) -> None:
    if principal.session_hash:
        Session(principal.session_hash).delete()
    logger.info("signed out", extra={"account_id": principal.account_id})


def account_view(account: Account) -> dict[str, str]:
    return account_fields(account, "account_id", "firm_id", "role", "name", "email", "locale")
