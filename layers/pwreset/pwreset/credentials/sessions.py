"""Portal sessions: opaque random tokens, stored by SHA-256 digest, checked on every request.

A session belongs to a login (its address) and acts as one account of it: the account's firm and
role are the session's rights. It is valid only while that account is active and the login's
``password_version`` and the account's ``access_version`` are the ones the session was opened with,
so a password change or a lock (of the login) or a revocation (of the account) ends every older
session at once, in the same write, with no per-session write; the dead ones leave the table by
TTL when they would have expired anyway. A switch (:func:`switch_account`) moves a session to
another active account of the same login.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pwreset.core import errors
from pwreset.core.config import settings
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.core.request import Principal, RequestMeta
from pwreset.core.transient import cancellation_codes, is_transient
from pwreset.credentials.hashing import hash_password, needs_rehash, verify_password
from pwreset.credentials.ratelimit import client_network, limiter
from pwreset.mail.addresses import InvalidEmail, normalise_email
from pwreset.storage.accounts import account_fields, get_or_none, holds_address, read_together
from pwreset.storage.logins import (
    LoginAccounts,
    accounts_of_login,
    clear_failed_sign_ins,
    count_failed_sign_in,
)
from pwreset.storage.models import Account, Firm, Login, Membership, Session
from pwreset.storage.transactions import TransactWriteError, transaction

_SESSION_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
# How long every attempt on an account waits once it is over its account-wide failure count.
SLOWDOWN_SECONDS = 1.0
# Wrong passwords in a row for one login, from anywhere, after which its password signs nobody in
# (the right one neither) until a confirmed reset link changes it (docs/security.md).
CONSECUTIVE_FAILURE_LIMIT = 100


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
class ActingAs:
    """The account a session acts as, and every active account of its login (``accounts`` in the
    contract's shape: account id, firm, the firm's name, role)."""

    account: Account
    accounts: list[dict[str, str]]


@dataclass(frozen=True)
class SignedIn:
    account: Account
    accounts: list[dict[str, str]]
    session: IssuedSession


def _now() -> datetime:
    return datetime.now(UTC)


def session_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_session(
    account: Account, login: Login, *, password_version: int | None = None, now: datetime | None = None
) -> IssuedSession:
    """Build (not save) a session of ``login`` acting as ``account``, so it can join a transaction;
    ``password_version``: the login's after the change the session is opened by."""
    now = now or _now()
    raw = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings().session_lifetime_seconds)
    record = Session(
        session_digest(raw),
        email=login.email,
        account_id=account.account_id,
        firm_id=account.firm_id,
        role=account.role,
        password_version=int(login.password_version) if password_version is None else password_version,
        access_version=account.access_version,
        created_at=now,
        expires_at=expires_at,
        ttl=expires_at,
    )
    return IssuedSession(raw=raw, record=record)


def resolve_session(raw: str | None) -> tuple[Principal, Account] | None:
    """The caller behind a session token, or None for anything not currently valid. Never raises on
    bad input. Two round trips: the session, then its account and its login in one batch."""
    if not raw or _SESSION_SHAPE.fullmatch(raw) is None:
        return None
    # Strongly consistent, all: a sign-out, a reset, a lock or a revocation ends access at once.
    record = get_or_none(Session, session_digest(raw), consistent_read=True)
    if record is None or not record.email:
        return None
    found = read_together(accounts=[record.account_id], logins=[record.email])
    account, login = found.accounts.get(record.account_id), found.logins.get(record.email)
    if account is None or login is None or account.email != record.email:
        return None
    if not is_live(record, account, login, now=_now()):
        return None
    principal = Principal(
        account_id=account.account_id,
        firm_id=account.firm_id,
        role=account.role,
        name=account.name,
        locale=account.locale,
        session_hash=record.session_hash,
        email=login.email,
    )
    return principal, account


def is_live(record: Session, account: Account, login: Login, *, now: datetime) -> bool:
    """Whether a session still signs its holder in: not expired, the account active, the login not
    locked, and neither a password change (of the login) nor a revocation (of the account) since
    it was opened or switched to the account."""
    return (
        record.expires_at > now
        and account.status == "active"
        # A lock bumps password_version too; this refuses a locked login whatever a session says.
        and not login.is_locked
        and login.password_version == record.password_version
        and account.access_version == record.access_version
    )


def live_sessions(account: Account, login: Login | None) -> list[Session]:
    """The sessions acting as the account that would sign in right now (for counting what a
    revocation ends)."""
    if login is None:
        return []
    now = _now()
    return [s for s in Session.by_account.query(account.account_id) if is_live(s, account, login, now=now)]


# ---------------------------------------------------------------------------------------- sign in


def sign_in(email: str, password: str, *, meta: RequestMeta, firm_id: str | None = None) -> SignedIn:
    """Check the password (:func:`check_password`) and open a session acting as the login's account
    in ``firm_id`` (without a firm: the one used last)."""
    accounts, acting = check_password(email, password, meta=meta, firm_id=firm_id)
    login = accounts.login
    assert login is not None  # check_password returns only a login whose password matched
    found = read_together(accounts=[acting.account_id], firms=[m.firm_id for m in accounts.active])
    account = found.accounts.get(acting.account_id)
    if account is None or account.status != "active" or account.email != login.email:
        # A membership whose account is not (any more) the login's: as good as none.
        raise errors.InvalidCredentials(locale=meta.locale)
    session = new_session(account, login)
    try:
        _open(session, login, account)
    except _AccountGone as exc:
        raise errors.InvalidCredentials(locale=meta.locale) from exc  # erased or moved meanwhile
    metrics.add_metric(name="SignIn", unit="Count", value=1)
    logger.info("signed in", extra={"account_id": account.account_id, "accounts": len(accounts.active)})
    return SignedIn(account=account, accounts=account_list(accounts, found.firms), session=session)


class _AccountGone(Exception):
    """The account no longer has the login's address (erased or moved) since it was read."""


def _open(session: IssuedSession, login: Login, account: Account) -> None:
    """Save the new session on the condition that its account still has the address (an erasure
    would not find a session written after its tombstone: pwreset.accounts.provisioning); when it
    acts as another account than the login's last one, remember this one for the next sign-in
    without a firm, in the same write. That is a preference: when the transaction meets another
    writer of the login item, the session is saved without it."""
    remember = login.last_account_id != account.account_id
    try:
        _save_session(session, account, login if remember else None)
    except TransactWriteError as exc:
        if not remember:
            raise
        logger.info("last account not remembered", extra={"error": type(exc).__name__})
        _save_session(session, account, None)


def _save_session(session: IssuedSession, account: Account, remember_in: Login | None) -> None:
    try:
        with transaction() as tx:
            tx.condition_check(Account, account.account_id, condition=holds_address(account))
            tx.save(session.record, condition=Session.session_hash.does_not_exist())
            if remember_in is not None:
                tx.update(
                    remember_in,
                    actions=[Login.last_account_id.set(account.account_id)],
                    condition=Login.email.exists(),
                )
    except TransactWriteError as exc:
        if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            raise _AccountGone() from exc
        raise


def account_list(accounts: LoginAccounts, firms: dict[str, Firm]) -> list[dict[str, str]]:
    """Every active account of the login, as the contract lists them, in firm order."""
    return [
        {
            "account_id": m.account_id,
            "firm_id": m.firm_id,
            "firm_name": firms[m.firm_id].name if m.firm_id in firms else "",
            "role": m.role,
        }
        for m in accounts.active
    ]


def _address(email: str) -> str:
    try:
        return normalise_email(email)
    except InvalidEmail:
        return ""


def check_password(
    email: str, password: str, *, meta: RequestMeta, firm_id: str | None = None
) -> tuple[LoginAccounts, Membership]:
    """The login of ``email`` and the membership a sign-in acts as (:meth:`LoginAccounts.acting`),
    when ``password`` is the login's; else ``401 invalid_credentials`` (or ``429``).

    Unknown address, no active account (in ``firm_id`` when one is named, else at all), no
    password yet and wrong password give the same error after the same work (one ``Query`` by the
    address and an argon2 verification, against a dummy hash when there is nothing to verify), so
    the answer enumerates nothing. See :func:`attempt` for the limits; the right password for a
    locked login is ``403 account_locked``."""
    address = _address(email)
    chosen: list[tuple[LoginAccounts, Membership]] = []

    def read() -> Login | None:
        accounts = accounts_of_login(address) if address else LoginAccounts(email="", login=None)
        acting = accounts.acting(firm_id)
        if accounts.login is None or acting is None:
            return None
        chosen.append((accounts, acting))
        return accounts.login

    def acting_locale() -> str | None:
        # Only for the right password on a locked login: the answer in the account's language.
        account = get_or_none(Account, chosen[0][1].account_id) if chosen else None
        return account.locale if account is not None else None

    attempt(address, password, meta=meta, read=read, locale=acting_locale)
    return chosen[0]


def check_current_password(login: Login, password: str, *, meta: RequestMeta, locale: str) -> None:
    """A change while signed in proves the current password as a sign-in does (:func:`attempt`)."""
    attempt(login.email, password, meta=meta, read=lambda: login, locale=lambda: locale)


def attempt(
    address: str,
    password: str,
    *,
    meta: RequestMeta,
    read: Callable[[], Login | None],
    locale: Callable[[], str | None],
) -> Login:
    """One password attempt on the login ``read()`` returns (``None``: nothing that may sign in);
    ``locale()``: the language of the ``403 account_locked`` a right password on a locked login
    gets (the account's).

    The limits count failures only (NIST 800-63B 5.2.2), and they count before the password is
    checked, atomically: each attempt adds itself to its counters first, so guesses arriving
    together are checked at most up to the limit; a success takes its counts back. Hard limits are
    per (address, client network) and per client network, so failures from one place never lock
    the rightful user out from another; address-wide failures only slow every attempt down.

    On top, the login counts its wrong passwords in a row from anywhere (on the login item, after
    the check); at :data:`CONSECUTIVE_FAILURE_LIMIT` its password signs nobody in until a change
    by a confirmed link (self-service stays open, so the holder is never stuck), and the answer
    stays ``401 invalid_credentials``: anything else would tell a guesser the limit, or the
    right guess. A right password below it ends the run.
    """
    # deferred: the authorizer never checks a password
    from pwreset.credentials.policy import PasswordPolicy

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
    login: Login | None = read()
    candidate = PasswordPolicy.normalise(password)
    ok = verify_password(login.password_hash if login is not None else None, candidate)
    # Over the run-of-failures limit even the right password is a failure, after the same work and
    # with the same calls as a wrong one, so the answer tells neither that the guess was right
    # nor that the limit was reached.
    exhausted = login is not None and login.consecutive_failures >= CONSECUTIVE_FAILURE_LIMIT
    if not ok or login is None or exhausted:
        if address:
            count_failed_sign_in(address)
        metrics.add_metric(
            name="SignInRefusedAfterFailures" if exhausted else "SignInFailed", unit="Count", value=1
        )
        logger.info("sign-in failed", extra={"email": mask_email(address), "exhausted": exhausted})
        raise errors.InvalidCredentials(locale=meta.locale)
    for decision in (*hard, account_wide):
        limits.refund(decision)
    if login.consecutive_failures:
        clear_failed_sign_ins(login)
    if login.is_locked:
        # Only the right password learns of the lock (a wrong one got the 401 above, after the
        # same work): it is the holder, or whoever changed the password, who must ask a firm.
        metrics.add_metric(name="SignInLocked", unit="Count", value=1)
        logger.info("sign-in refused: login locked", extra={"email": mask_email(address)})
        raise errors.AccountLocked(locale=locale())
    if login.password_hash and needs_rehash(login.password_hash):
        _upgrade_hash(login, hash_password(candidate))
    return login


def _slow_down(seconds: float) -> None:
    """The address-wide brake: every attempt on a login under attack waits, the rightful
    user's included, but nobody is locked out. (A seam for tests.)"""
    time.sleep(seconds)


def _upgrade_hash(login: Login, new_hash: str) -> None:
    """Re-hash under raised parameters; skipped if the password changed meanwhile."""
    try:
        login.update(
            actions=[Login.password_hash.set(new_hash)],
            condition=Login.password_version == login.password_version,
        )
        logger.info("password hash upgraded", extra={"email": mask_email(login.email)})
    except Exception:  # the old hash still works; try again at the next sign-in
        logger.warning("password hash upgrade skipped", extra={"email": mask_email(login.email)})


# ---------------------------------------------------------------------------------------- the session


def acting_as(principal: Principal) -> ActingAs:
    """``GET /v1/sessions/current``: the account the session acts as and the login's accounts."""
    accounts = accounts_of_login(principal.email)
    found = read_together(accounts=[principal.account_id], firms=[m.firm_id for m in accounts.active])
    account = found.accounts.get(principal.account_id)
    if account is None:
        raise errors.Unauthorized(locale=principal.locale)
    return ActingAs(account=account, accounts=account_list(accounts, found.firms))


def switch_account(principal: Principal, account_id: str) -> ActingAs:
    """``PUT /v1/sessions/current/account``: the session acts as another active account of its login
    from now on (staff rights follow it), and a sign-in without a firm will too. Anything but an
    active account of this login is ``404 account_not_found``, with nothing written."""
    accounts = accounts_of_login(principal.email)
    login, target = accounts.login, accounts.active_account(account_id)
    if login is None or target is None or not principal.session_hash:
        raise errors.AccountNotFound(locale=principal.locale)
    found = read_together(accounts=[account_id], firms=[m.firm_id for m in accounts.active])
    account = found.accounts.get(account_id)
    if account is None or account.status != "active" or account.email != login.email:
        raise errors.AccountNotFound(locale=principal.locale)
    version = int(login.password_version)
    try:
        with transaction() as tx:
            # Erased meanwhile: a session moved onto it now would escape erasure's sweeps. (A
            # transaction sends its condition checks first: its reason is the first.)
            tx.condition_check(Account, account.account_id, condition=holds_address(account))
            tx.update(
                Session(principal.session_hash),
                actions=[
                    Session.account_id.set(account.account_id),
                    Session.firm_id.set(account.firm_id),
                    Session.role.set(account.role),
                    Session.access_version.set(account.access_version),
                ],
                # The session still exists, is this login's and was opened on this password.
                condition=(Session.email == login.email) & (Session.password_version == version),
            )
            tx.update(
                login,
                actions=[Login.last_account_id.set(account.account_id)],
                condition=Login.password_version == version,
            )
    except TransactWriteError as exc:
        if is_transient(exc):
            raise
        if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            raise errors.AccountNotFound(locale=principal.locale) from exc
        # Signed out, or the password changed, since the authorizer let the request in.
        raise errors.Unauthorized(locale=principal.locale) from exc
    metrics.add_metric(name="SessionSwitched", unit="Count", value=1)
    logger.info("session switched", extra={"from_account": principal.account_id, "account_id": account_id})
    return ActingAs(account=account, accounts=account_list(accounts, found.firms))


def sign_out(principal: Principal) -> None:
    if principal.session_hash:
        Session(principal.session_hash).delete()
    logger.info("signed out", extra={"account_id": principal.account_id})


def account_view(account: Account) -> dict[str, str]:
    return account_fields(account, "account_id", "firm_id", "role", "name", "email", "locale")
