"""The unlock code of a staff link to a locked login ("It wasn't me" in the HTTP contract).

A lock says that whoever changed the password may hold the mailbox, so a link mailed there cannot
lift the lock alone. A staff member who sends a reset to a locked login gets six digits in the
answer and reads them to the client over the phone, after checking who is calling (the owners'
lock mail says so); the link's confirm needs them.

* The code comes from :mod:`secrets` and is shown once, to the staff member. The link's record keeps
  only an HMAC-SHA-256 of it keyed with the link's raw token: the token itself is never stored (only
  its SHA-256 digest is), so a copy of the table cannot test the million possible codes offline.
* A confirm compares in constant time (:func:`hmac.compare_digest`).
* Wrong codes are counted on the link's record by a conditional update, so concurrent guesses
  cannot share an attempt: the first :data:`MAX_WRONG_CODES` - 1 each answer ``422 code_invalid``,
  the one that makes :data:`MAX_WRONG_CODES` marks the link ``revoked`` (``410 token_revoked``).
  Six digits with five tries: one chance in 200,000 per link, and each link needs a staff member.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pwreset.core import errors
from pwreset.core.observability import logger, metrics
from pwreset.storage.links import count_wrong_code
from pwreset.storage.models import ResetToken

CODE_DIGITS = 6
# The fifth wrong code ends the link (the contract).
MAX_WRONG_CODES = 5
# Separates this use of the token as a key from any other.
_CONTEXT = b"pwreset unlock code v1\x00"


def new_code() -> str:
    """Six decimal digits, uniformly from the CSPRNG (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(raw_token: str, code: str) -> str:
    """What the link's record keeps of ``code``: useless without the raw token, which is never stored."""
    return hmac.new(raw_token.encode("utf-8"), _CONTEXT + code.encode("utf-8"), hashlib.sha256).hexdigest()


def normalise(code: str) -> str:
    """What the client typed, as it is compared: the digits as read over the phone, with any spaces
    or hyphens they grouped them with dropped ("123 456")."""
    return "".join(code.split()).replace("-", "")


class LinkClosed(Exception):
    """The link was used or revoked while a wrong code was being counted: the caller reads it again
    and says what it is worth now."""


def require_code(record: ResetToken, raw_token: str, code: str | None, *, locale: str) -> None:
    """Pass when ``code`` is the link's unlock code; else ``422 code_invalid`` (a missing code is
    no guess and counts nothing), and on the fifth wrong one ``410 token_revoked``: the link is
    then marked ``revoked`` and no code opens it any more. Raises :class:`LinkClosed` when the
    link ended meanwhile."""
    if code is None or not code.strip():
        raise errors.CodeInvalid(locale=locale)
    stored = record.unlock_code_hash or ""
    if stored and hmac.compare_digest(code_digest(raw_token, normalise(code)), stored):
        return
    metrics.add_metric(name="UnlockCodeRejected", unit="Count", value=1)
    if _count_wrong(record):
        raise errors.CodeInvalid(locale=locale)
    logger.warning("unlock link revoked after wrong codes", extra={"reset_id": record.reset_id})
    metrics.add_metric(name="UnlockLinkRevoked", unit="Count", value=1)
    raise errors.UnlockCodeExhausted(locale=locale)


def _count_wrong(record: ResetToken) -> bool:
    """Count one wrong code (see :func:`pwreset.storage.links.count_wrong_code`); ``False`` when it
    was the last one allowed. Raises :class:`LinkClosed` for a link no longer open."""
    outcome = count_wrong_code(record, MAX_WRONG_CODES)
    if outcome is None:
        raise LinkClosed
    return outcome
