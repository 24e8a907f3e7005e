"""The tokens of the links we mail, in the manner of Django's ``contrib/auth/tokens.py``: reset links
(and invitations) and "It wasn't me" lock links.

Unlike Django's HMAC tokens these are opaque random values: 256 bits from :mod:`secrets`, shown to
the client once (in the mail) and stored only as their SHA-256 digest, so a leaked table cannot be
turned into working links. One generator makes, shapes and judges both kinds
(:class:`TokenGenerator`); what a stored record is worth against its account is each kind's own:

* a reset link (:class:`ResetTokenGenerator`) is issued for one ``password_version`` of the login
  (and one ``access_version`` of its account), so any later password change of the login kills
  every older link of every account of it without touching them;
* a lock link (:class:`LockTokenGenerator`) does not die when the password changes again: whoever
  changed the password could otherwise kill the holder's lock link by changing it once more.

The two kinds live in different tables (reset tokens, lock tokens), so one can never pass for the
other; :func:`load_token` reads a token's record, by its digest, with its account and login.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pwreset.storage.accounts import get_login, get_or_none, read_together
from pwreset.storage.models import Account, Firm, LockToken, Login, ResetToken

# token_urlsafe(32): 32 random bytes -> 43 URL-safe characters, no padding.
TOKEN_BYTES = 32
# ``requested_by`` of a link the CRM asked for through provisioning (not a person of the firm).
BY_PROVISIONING = "provisioning"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


class TokenCheck(StrEnum):
    """What a token is worth; the values are the contract's error codes. A lock link is never
    ``REVOKED``: one whose holder may have changed is as good as none (``INVALID``)."""

    VALID = "valid"
    INVALID = "token_invalid"
    EXPIRED = "token_expired"
    USED = "token_used"
    REVOKED = "token_revoked"
    ARCHIVED = "account_archived"


@dataclass(frozen=True)
class IssuedToken:
    raw: str  # goes into the link, never into storage or logs
    digest: str

    def __repr__(self) -> str:  # keep the raw value out of tracebacks and debug logs
        return f"IssuedToken(digest={self.digest[:8]}...)"


class TokenGenerator[R: (ResetToken, LockToken)]:
    """Makes tokens and judges a stored token of kind ``R`` against its account and login."""

    def make_token(self) -> IssuedToken:
        raw = secrets.token_urlsafe(TOKEN_BYTES)
        return IssuedToken(raw=raw, digest=self.digest(raw))

    @staticmethod
    def digest(raw: str) -> str:
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    @staticmethod
    def well_formed(raw: object) -> bool:
        """Cheap shape check, so garbage never costs a database read."""
        return isinstance(raw, str) and _TOKEN_SHAPE.fullmatch(raw) is not None

    def check(
        self, record: R | None, account: Account | None, login: Login | None, *, now: datetime | None = None
    ) -> TokenCheck:
        """What a token is worth right now. Never raises: unknown or odd input is INVALID, so a
        route answers a bad link with the contract's error, never a 500. ``login``: the login of
        the address the link went to (``None``: gone with its last account)."""
        if record is None or account is None or record.account_id != account.account_id:
            return TokenCheck.INVALID
        try:
            return self._judge(record, account, login, now or self._now())
        except Exception:  # a record of an unexpected shape is as good as none
            return TokenCheck.INVALID

    def _judge(self, record: R, account: Account, login: Login | None, now: datetime) -> TokenCheck:
        """What ``record`` (of ``account`` and ``login``) is worth at ``now``: each kind's own rules."""
        raise NotImplementedError

    def _now(self) -> datetime:
        """Seam for tests."""
        return datetime.now(UTC)


class ResetTokenGenerator(TokenGenerator[ResetToken]):
    """Reset and invitation links."""

    def _judge(self, record: ResetToken, account: Account, login: Login | None, now: datetime) -> TokenCheck:
        """A link issued before the login's latest password change counts as used: the reset it
        offered has happened, just by another route (maybe through another firm). A link issued
        before the account's access was ended without a password change (a new address or role,
        archiving) is revoked: the person it went to may no longer be the account's holder, and so
        is one that five wrong unlock codes ended. While the login is locked ("It wasn't me") only
        a link a staff member sent to the locked login works, since only that one carries an
        unlock code (confirming it with the code unlocks); any other is revoked."""
        if record.status == "used":
            return TokenCheck.USED
        if record.status == "revoked":  # a later invitation, or the fifth wrong unlock code
            return TokenCheck.REVOKED
        if record.access_version != account.access_version or record.email != account.email:
            return TokenCheck.REVOKED  # also when the address's login went with it
        if login is None:
            return TokenCheck.INVALID
        if record.password_version != login.password_version:
            return TokenCheck.USED
        if record.status != "issued":
            return TokenCheck.INVALID
        if now >= record.expires_at:
            return TokenCheck.EXPIRED
        if account.status != "active":
            return TokenCheck.ARCHIVED
        if login.is_locked and not (staff_sent(record) and record.unlock_code_hash):
            return TokenCheck.REVOKED
        return TokenCheck.VALID


class LockTokenGenerator(TokenGenerator[LockToken]):
    """ "It wasn't me" links. Single use, bound to the change they report; they die when used, when
    they expire, or when the account is archived (or given a new address or role, which like
    archiving bumps ``access_version``) or erased."""

    def _judge(self, record: LockToken, account: Account, login: Login | None, now: datetime) -> TokenCheck:
        """A later password change does not matter (see the module's docstring), nor does a lock
        already in place: a second link of another change may lock again."""
        if account.status not in ("active", "archived") or login is None:  # being erased: as good as gone
            return TokenCheck.INVALID
        if record.status == "used":
            return TokenCheck.USED
        if record.status != "issued":
            return TokenCheck.INVALID
        if now >= record.expires_at:
            return TokenCheck.EXPIRED
        if account.status == "archived":
            return TokenCheck.ARCHIVED
        if int(record.access_version) != int(account.access_version):
            # A new address or role since the mail: the link went to someone who may no longer be
            # the account's holder.
            return TokenCheck.INVALID
        return TokenCheck.VALID


def staff_sent(record: ResetToken) -> bool:
    """Whether a person of the firm sent the link (not the holder by self-service, not the CRM)."""
    return record.requested_by is not None and record.requested_by != BY_PROVISIONING


def load_token[R: (ResetToken, LockToken)](
    generator: TokenGenerator[R], model: type[R], raw: str
) -> tuple[R | None, Account | None, Login | None]:
    """The stored record of token ``raw`` (of ``generator``'s kind, in ``model``'s table), its
    account and the login of the address the link went to, all read consistently, so a use, a
    change or a revocation a moment ago counts: two round trips, the record, then the account and
    the login in one batch. ``(None, None, None)`` for a token that is not well formed (it never
    costs a read)."""
    record, account, login, _firm = _load(generator, model, raw, with_firm=False)
    return record, account, login


def load_token_and_firm[R: (ResetToken, LockToken)](
    generator: TokenGenerator[R], model: type[R], raw: str
) -> tuple[R | None, Account | None, Login | None, Firm | None]:
    """:func:`load_token` with the firm the token was issued for, read in the same batch (whose look
    the hosted page shows, where a confirm lands): no round trip of its own."""
    return _load(generator, model, raw, with_firm=True)


def _load[R: (ResetToken, LockToken)](
    generator: TokenGenerator[R], model: type[R], raw: str, *, with_firm: bool
) -> tuple[R | None, Account | None, Login | None, Firm | None]:
    if not generator.well_formed(raw):
        return None, None, None, None
    record = get_or_none(model, generator.digest(raw), consistent_read=True)
    if record is None:
        return None, None, None, None
    firms = [record.firm_id] if with_firm else []
    if not record.email:  # a lock link from before logins: the address only comes with the account
        found = read_together(accounts=[record.account_id], firms=firms)
        account = found.accounts.get(record.account_id)
        login = get_login(account.email) if account is not None else None
        return record, account, login, found.firms.get(record.firm_id)
    found = read_together(accounts=[record.account_id], logins=[record.email], firms=firms)
    return (
        record,
        found.accounts.get(record.account_id),
        found.logins.get(record.email),
        found.firms.get(record.firm_id),
    )


default_token_generator = ResetTokenGenerator()
default_lock_token_generator = LockTokenGenerator()
