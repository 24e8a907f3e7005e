"""The "It wasn't me" lock-token generator, as the lock route relies on it; and what a lock does to
reset links and sessions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pwreset.credentials.sessions import is_live
from pwreset.credentials.tokens import BY_PROVISIONING, ResetTokenGenerator, TokenCheck
from pwreset.storage.lock_tokens import LOCK_LINK_LIFETIME, LockCheck, LockTokenGenerator
from pwreset.storage.models import Account, LockToken, ResetToken, Session

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ISSUED = NOW - timedelta(days=1)


class FrozenGenerator(LockTokenGenerator):
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def _now(self) -> datetime:
        return self.now


def account(**overrides: object) -> Account:
    fields: dict[str, Any] = {
        "firm_id": "f",
        "role": "client",
        "email": "a@example.com",
        "name": "A",
        "status": "active",
        "password_version": 3,
        "access_version": 1,
    }
    fields.update(overrides)
    return Account("acc-1", **fields)


def lock_record(**overrides: object) -> LockToken:
    fields: dict[str, Any] = {
        "account_id": "acc-1",
        "firm_id": "f",
        "change_event_id": "evt-1",
        "change": "reset",
        "changed_at": ISSUED,
        "created_at": ISSUED,
        "expires_at": ISSUED + LOCK_LINK_LIFETIME,
        "access_version": 1,
        "status": "issued",
    }
    fields.update(overrides)
    return LockToken("digest", **fields)


def test_lock_tokens_are_256_bit_url_safe_and_unique_and_only_their_digest_is_kept() -> None:
    generator = LockTokenGenerator()
    tokens = [generator.make_token() for _ in range(200)]
    assert len({t.raw for t in tokens}) == 200
    for token in tokens:
        assert len(token.raw) == 43  # 32 bytes, base64url without padding
        assert generator.well_formed(token.raw)
        assert token.digest == hashlib.sha256(token.raw.encode()).hexdigest()
        assert token.raw not in repr(token)


@pytest.mark.parametrize("raw", [None, 42, "", "a" * 42, "a" * 44, "a" * 42 + "=", "ä" * 43])
def test_malformed_lock_tokens_are_refused_without_a_read(raw: object) -> None:
    assert not LockTokenGenerator.well_formed(raw)


def test_check_gives_each_outcome() -> None:
    generator = FrozenGenerator()
    assert generator.check(lock_record(), account()) is LockCheck.VALID
    assert generator.check(None, account()) is LockCheck.INVALID
    assert generator.check(lock_record(), None) is LockCheck.INVALID
    assert generator.check(lock_record(account_id="acc-2"), account()) is LockCheck.INVALID
    assert generator.check(lock_record(status="used"), account()) is LockCheck.USED
    assert generator.check(lock_record(status="odd"), account()) is LockCheck.INVALID
    assert generator.check(lock_record(), account(status="archived")) is LockCheck.ARCHIVED
    # Being erased: as good as gone.
    assert generator.check(lock_record(), account(status="erasing")) is LockCheck.INVALID
    # A new address or role since the mail: the link's reader may no longer be the holder.
    assert generator.check(lock_record(), account(access_version=2)) is LockCheck.INVALID


def test_a_later_password_change_or_a_lock_already_in_place_leaves_the_link_working() -> None:
    """Whoever changed the password must not be able to kill the lock link by changing it again."""
    generator = FrozenGenerator()
    assert generator.check(lock_record(), account(password_version=9)) is LockCheck.VALID
    assert generator.check(lock_record(), account(locked_at=ISSUED)) is LockCheck.VALID


def test_seven_days_decided_in_code_not_by_ttl() -> None:
    expires = ISSUED + LOCK_LINK_LIFETIME
    assert expires - ISSUED == timedelta(days=7)
    just_before = FrozenGenerator(expires - timedelta(seconds=1))
    at_expiry = FrozenGenerator(expires)
    assert just_before.check(lock_record(), account()) is LockCheck.VALID
    assert at_expiry.check(lock_record(), account()) is LockCheck.EXPIRED
    # A used link stays "used" after it would have expired; an expired one on an archived account
    # says "expired" (nothing to lock either way, but the link's own state comes first).
    assert at_expiry.check(lock_record(status="used"), account()) is LockCheck.USED
    assert at_expiry.check(lock_record(), account(status="archived")) is LockCheck.EXPIRED


@pytest.mark.parametrize(
    "odd",
    [
        {"expires_at": None},
        {"access_version": "many"},
        {"status": None},
    ],
)
def test_check_never_raises_on_a_record_of_an_odd_shape(odd: dict[str, Any]) -> None:
    record = lock_record()
    for name, value in odd.items():
        setattr(record, name, value)
    assert FrozenGenerator().check(record, account()) is LockCheck.INVALID


# --------------------------------------------------------------------------- what a lock does elsewhere


def reset_record(**overrides: object) -> ResetToken:
    fields: dict[str, Any] = {
        "reset_id": "r",
        "account_id": "acc-1",
        "firm_id": "f",
        "email": "a@example.com",
        "requested_at": "2026-11-26T11:00:00Z",
        "expires_at": NOW + timedelta(minutes=5),
        "password_version": 3,
        "access_version": 1,
        "status": "issued",
    }
    fields.update(overrides)
    return ResetToken("digest", **fields)


class FrozenResetGenerator(ResetTokenGenerator):
    def _now(self) -> datetime:
        return NOW


@pytest.mark.parametrize(
    ("requested_by", "expected"),
    [
        ("acc-staff", TokenCheck.VALID),  # a link staff sent after the lock: confirming it unlocks
        (None, TokenCheck.REVOKED),  # self-service
        (BY_PROVISIONING, TokenCheck.REVOKED),  # the CRM's invitation
    ],
)
def test_on_a_locked_account_only_a_staff_sent_link_works(
    requested_by: str | None, expected: TokenCheck
) -> None:
    locked = account(locked_at=ISSUED)
    assert FrozenResetGenerator().check(reset_record(requested_by=requested_by), locked) is expected
    assert (
        FrozenResetGenerator().check(reset_record(requested_by=requested_by), account()) is TokenCheck.VALID
    )


def test_a_session_of_a_locked_account_is_refused_whatever_its_versions() -> None:
    session = Session(
        "h",
        account_id="acc-1",
        firm_id="f",
        role="client",
        password_version=3,
        access_version=1,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )
    assert is_live(session, account(), now=NOW)
    assert not is_live(session, account(locked_at=ISSUED), now=NOW)
