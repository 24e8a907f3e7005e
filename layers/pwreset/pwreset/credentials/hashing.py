"""argon2id hashing (argon2-cffi) at parameters from configuration (OWASP minimum: t=2, m=19 MiB,
p=1). A hash made under weaker parameters is upgraded at the next successful sign-in."""

from __future__ import annotations

import secrets
from functools import cache
from typing import TYPE_CHECKING

from pwreset.core.config import settings

if TYPE_CHECKING:
    # deferred: the authorizer imports this package but never hashes
    from argon2 import PasswordHasher


@cache
def hasher() -> PasswordHasher:
    # deferred: the authorizer imports this package but never hashes
    from argon2 import PasswordHasher, Type

    cfg = settings()
    return PasswordHasher(
        time_cost=cfg.argon2_time_cost,
        memory_cost=cfg.argon2_memory_kib,
        parallelism=cfg.argon2_parallelism,
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True only for a match. A missing or corrupt hash is a mismatch, never an exception."""
    # deferred: as argon2 above
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    """A hash nobody knows the password of: verifying against it costs what a real check costs,
    so an unknown e-mail address cannot be told from a wrong password by timing."""
    return hasher().hash(secrets.token_urlsafe(32))
