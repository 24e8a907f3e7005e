"""Reset-link tokens, in the manner of Django's ``contrib/auth/tokens.py``.

Unlike Django's HMAC tokens these are opaque random values: 256 bits from :mod:`secrets`, shown to
the client once (in the mail) and stored only as their SHA-256 digest, so a leaked table cannot be
turned into working links. Because the stored record says which ``password_version`` the link was
issued for, any later password change kills every older link without touching them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pwreset.storage.models import Account, ResetToken

# token_urlsafe(32): 32 random bytes -> 43 URL-safe characters, no padding.
TOKEN_BYTES = 32
# ``requested_by`` of a link the CRM asked for through provisioning (not a person of the firm).
BY_PROVISIONING = "provisioning"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


class TokenCheck(StrEnum):
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


class ResetTokenGenerator:
    """Makes tokens and judges a stored token against its account."""

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
        self, record: ResetToken | None, account: Account | None, *, now: datetime | None = None
    ) -> TokenCheck:
        """What a token is worth right now. Never raises: unknown or odd input is INVALID.

        A link issued before the latest password change counts as used: the reset it offered has
        happened, just by another route. A link issued before access was ended without a password
        change (a new address or role, archiving) is revoked: the person it went to may no longer
        be the account's holder. While the account is locked ("It wasn't me") only a link a
        staff member sent works (confirming it unlocks); any other is revoked.
        """
        if record is None or account is None or record.account_id != account.account_id:
            return TokenCheck.INVALID
        if record.status == "used":
            return TokenCheck.USED
        if record.access_version != account.access_version:
            return TokenCheck.REVOKED
        if record.password_version != account.password_version:
            return TokenCheck.USED
        if record.status != "issued":
            return TokenCheck.INVALID
        if (now or self._now()) >= record.expires_at:
            return TokenCheck.EXPIRED
        if account.status != "active":
            return TokenCheck.ARCHIVED
        if account.is_locked and not staff_sent(record):
            return TokenCheck.REVOKED
        return TokenCheck.VALID

    def _now(self) -> datetime:
        """Seam for tests."""
        return datetime.now(UTC)


def staff_sent(record: ResetToken) -> bool:
    """Whether a person of the firm sent the link (not the holder by self-service, not the CRM)."""
    return record.requested_by is not None and record.requested_by != BY_PROVISIONING


default_token_generator = ResetTokenGenerator()
