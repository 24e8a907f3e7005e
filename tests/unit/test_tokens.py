"""The reset-token generator, as the confirm flow relies on it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pwreset.credentials.tokens import ResetTokenGenerator, TokenCheck
from pwreset.storage.models import Account, ResetToken

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class FrozenGenerator(ResetTokenGenerator):
    def _now(self) -> datetime:
        return NOW


def account(**overrides: object) -> Account:
    fields: dict[str, Any] = {
        "firm_id": "f",
        "role": "client",
        "email": "a@example.com",
        "name": "A",
        "status": "active",
        "password_version": 3,
    }
    fields.update(overrides)
    return Account("acc-1", **fields)


def record(**overrides: object) -> ResetToken:
    fields: dict[str, Any] = {
        "reset_id": "r",
        "account_id": "acc-1",
        "firm_id": "f",
        "email": "a@example.com",
        "requested_at": "2026-11-26T11:00:00Z",
        "expires_at": NOW + timedelta(minutes=5),
        "password_version": 3,
        "status": "issued",
    }
    fields.update(overrides)
    return ResetToken("digest", **fields)


def test_tokens_are_256_bit_url_safe_and_unique() -> None:
    generator = ResetTokenGenerator()
    tokens = [generator.make_token() for _ in range(200)]
    assert len({t.raw for t in tokens}) == 200
    for token in tokens:
        assert len(token.raw) == 43  # 32 bytes, base64url without padding
        assert generator.well_formed(token.raw)
        assert token.digest == hashlib.sha256(token.raw.encode()).hexdigest()
        assert token.raw not in repr(token)


@pytest.mark.parametrize("raw", [None, 42, "", "a" * 42, "a" * 44, "a" * 42 + "=", "a" * 42 + "/", "ä" * 43])
def test_malformed_tokens_are_refused_without_raising(raw: object) -> None:
    assert not ResetTokenGenerator.well_formed(raw)


def test_check_gives_each_outcome() -> None:
    generator = FrozenGenerator()
    assert generator.check(record(), account()) is TokenCheck.VALID
    assert generator.check(None, account()) is TokenCheck.INVALID
    assert generator.check(record(), None) is TokenCheck.INVALID
    assert generator.check(record(account_id="acc-2"), account()) is TokenCheck.INVALID
    assert generator.check(record(status="used"), account()) is TokenCheck.USED
    assert generator.check(record(password_version=2), account()) is TokenCheck.USED  # superseded
    assert generator.check(record(status="send_failed"), account()) is TokenCheck.INVALID
    assert generator.check(record(expires_at=NOW), account()) is TokenCheck.EXPIRED
    assert generator.check(record(), account(status="archived")) is TokenCheck.ARCHIVED


def test_expiry_is_decided_in_code_not_by_ttl() -> None:
    generator = FrozenGenerator()
    assert generator.check(record(expires_at=NOW + timedelta(seconds=1)), account()) is TokenCheck.VALID
    assert generator.check(record(expires_at=NOW - timedelta(seconds=1)), account()) is TokenCheck.EXPIRED
