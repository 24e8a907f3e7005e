""" "It wasn't me" links: lock tokens, in the manner of Django's ``contrib/auth/tokens.py``.

Every mail that tells a client their password changed carries ``{RESET_PAGE_URL}#lock={token}``.
The token is 256 bits from :mod:`secrets`, shown once (in the mail) and stored only as its SHA-256
digest in the lock-tokens table, never among the reset tokens, so one can never pass for the other.
It is single use, lives :data:`LOCK_LINK_LIFETIME`, and is bound to the change it reports (the
``password_changed`` event and its facts).

Unlike a reset link it does not die when the password changes again: whoever changed the password
could otherwise kill the holder's lock link by changing it once more. It dies when used, when it
expires, or when the account is archived (or given a new address or role, which like archiving
bumps ``access_version``) or erased.

This module lives in ``storage`` because the notification function (``mail``) issues the tokens;
using one is ``credentials.locks``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pynamodb.exceptions import DoesNotExist

from pwreset.core import public_urls
from pwreset.storage.accounts import get_or_none
from pwreset.storage.models import Account, LockToken

if TYPE_CHECKING:
    from pwreset.storage.events import PasswordChangedEvent

LOCK_LINK_LIFETIME = timedelta(days=7)
# Kept a while after expiry, so a late click hears "expired" rather than "not valid".
RETENTION_AFTER_EXPIRY = timedelta(days=30)
TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
_FACTS = ("source_ip", "user_agent", "country", "country_name", "region", "city")


class LockCheck(StrEnum):
    VALID = "valid"
    INVALID = "token_invalid"
    EXPIRED = "token_expired"
    USED = "token_used"
    ARCHIVED = "account_archived"


@dataclass(frozen=True)
class IssuedLockToken:
    raw: str  # goes into the mail's link, never into storage or logs
    digest: str

    def __repr__(self) -> str:  # keep the raw value out of tracebacks and debug logs
        return f"IssuedLockToken(digest={self.digest[:8]}...)"


class LockTokenGenerator:
    """Makes lock tokens and judges a stored one against its account."""

    def make_token(self) -> IssuedLockToken:
        raw = secrets.token_urlsafe(TOKEN_BYTES)
        return IssuedLockToken(raw=raw, digest=self.digest(raw))

    @staticmethod
    def digest(raw: str) -> str:
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    @staticmethod
    def well_formed(raw: object) -> bool:
        """Cheap shape check, so garbage never costs a database read."""
        return isinstance(raw, str) and _TOKEN_SHAPE.fullmatch(raw) is not None

    def check(
        self, record: LockToken | None, account: Account | None, *, now: datetime | None = None
    ) -> LockCheck:
        """What a lock token is worth right now. Never raises: unknown or odd input is INVALID.

        A later password change does not matter (see the module's docstring), nor does a lock
        already in place: a second link of another change may lock again."""
        try:
            return self._check(record, account, now or self._now())
        except Exception:  # a record of an unexpected shape is as good as none
            return LockCheck.INVALID

    @staticmethod
    def _check(record: LockToken | None, account: Account | None, now: datetime) -> LockCheck:
        if record is None or account is None or record.account_id != account.account_id:
            return LockCheck.INVALID
        if account.status not in ("active", "archived"):  # being erased: as good as gone
            return LockCheck.INVALID
        if record.status == "used":
            return LockCheck.USED
        if record.status != "issued":
            return LockCheck.INVALID
        if now >= record.expires_at:
            return LockCheck.EXPIRED
        if account.status == "archived":
            return LockCheck.ARCHIVED
        if int(record.access_version) != int(account.access_version):
            # A new address or role since the mail: the link went to someone who may no longer be
            # the account's holder.
            return LockCheck.INVALID
        return LockCheck.VALID

    def _now(self) -> datetime:
        """Seam for tests."""
        return datetime.now(UTC)


default_lock_token_generator = LockTokenGenerator()


def lock_link(raw: str) -> str:
    """The page that asks before it locks; the URL comes from configuration, never a request."""
    return f"{public_urls.reset_page_url()}#lock={raw}"


def issue_lock_token(holder: Account, change: PasswordChangedEvent, *, now: datetime | None = None) -> str:
    """Store a lock token for the change ``change`` reports and return the link for the holder's
    mail. Issued when that mail is sent: a token from an attempt whose mail then failed was never
    seen by anyone, and expires unused."""
    issued = default_lock_token_generator.make_token()
    now = now or datetime.now(UTC)
    expires_at = now + LOCK_LINK_LIFETIME
    facts = change.detail.model_dump(include=set(_FACTS))
    LockToken(
        issued.digest,
        account_id=holder.account_id,
        firm_id=holder.firm_id,
        change_event_id=change.event_id,
        change=change.detail.change,
        changed_at=change.at,
        change_facts={k: v for k, v in facts.items() if v},
        created_at=now,
        expires_at=expires_at,
        access_version=int(holder.access_version),
        status="issued",
        ttl=expires_at + RETENTION_AFTER_EXPIRY,
    ).save(condition=LockToken.token_hash.does_not_exist())
    return lock_link(issued.raw)


def load_lock_token(raw: str) -> tuple[LockToken | None, Account | None]:
    """The record and its account, read consistently; ``(None, None)`` for a token that is not
    well formed (it never costs a read)."""
    if not default_lock_token_generator.well_formed(raw):
        return None, None
    try:
        record = LockToken.get(default_lock_token_generator.digest(raw), consistent_read=True)
    except DoesNotExist:
        return None, None
    return record, get_or_none(Account, record.account_id, consistent_read=True)
