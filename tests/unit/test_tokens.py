"""The token generator of both link kinds, reset links and "It wasn't me" lock links, as the confirm
and lock routes rely on it, judged against an account and its login; what a lock of the login does
to reset links and sessions; and which account of a login a sign-in acts as."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pwreset.credentials.locks import LOCK_LINK_LIFETIME
from pwreset.credentials.sessions import is_live
from pwreset.credentials.tokens import (
    BY_PROVISIONING,
    LockTokenGenerator,
    ResetTokenGenerator,
    TokenCheck,
    TokenGenerator,
)
from pwreset.storage.logins import LoginAccounts
from pwreset.storage.models import (
    LOGIN_ITEM,
    Account,
    LockToken,
    Login,
    Membership,
    ResetToken,
    Session,
    membership_item,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ISSUED = NOW - timedelta(days=1)


class _Frozen:
    """A generator's clock stopped at ``now`` (its ``_now`` seam)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def _now(self) -> datetime:
        return self.now


class FrozenResetGenerator(_Frozen, ResetTokenGenerator):
    pass


class FrozenLockGenerator(_Frozen, LockTokenGenerator):
    pass


def account(**overrides: object) -> Account:
    fields: dict[str, Any] = {
        "firm_id": "f",
        "role": "client",
        "email": "a@example.com",
        "name": "A",
        "status": "active",
        "access_version": 1,
    }
    fields.update(overrides)
    return Account("acc-1", **fields)


def login(**overrides: object) -> Login:
    """The login of account(): the password (its version) and the lock are the login's."""
    fields: dict[str, Any] = {"password_hash": "h", "password_version": 3}
    fields.update(overrides)
    return Login("a@example.com", LOGIN_ITEM, **fields)


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


def lock_record(**overrides: object) -> LockToken:
    fields: dict[str, Any] = {
        "account_id": "acc-1",
        "firm_id": "f",
        "email": "a@example.com",
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


Record = Callable[..., Any]  # reset_record or lock_record
KINDS = [
    pytest.param(FrozenResetGenerator, reset_record, id="reset"),
    pytest.param(FrozenLockGenerator, lock_record, id="lock"),
]


@pytest.mark.parametrize("generator_class", [ResetTokenGenerator, LockTokenGenerator])
def test_tokens_are_256_bit_url_safe_and_unique_and_only_their_digest_is_kept(
    generator_class: type[TokenGenerator[Any]],
) -> None:
    generator = generator_class()
    tokens = [generator.make_token() for _ in range(200)]
    assert len({t.raw for t in tokens}) == 200
    for token in tokens:
        assert len(token.raw) == 43  # 32 bytes, base64url without padding
        assert generator.well_formed(token.raw)
        assert token.digest == hashlib.sha256(token.raw.encode()).hexdigest()
        assert token.raw not in repr(token)


@pytest.mark.parametrize("generator_class", [ResetTokenGenerator, LockTokenGenerator])
@pytest.mark.parametrize("raw", [None, 42, "", "a" * 42, "a" * 44, "a" * 42 + "=", "a" * 42 + "/", "ä" * 43])
def test_malformed_tokens_are_refused_without_raising_or_a_read(
    generator_class: type[TokenGenerator[Any]], raw: object
) -> None:
    assert not generator_class.well_formed(raw)


@pytest.mark.parametrize(("generator_class", "record"), KINDS)
def test_check_gives_the_outcomes_both_kinds_share(
    generator_class: Callable[[], TokenGenerator[Any]], record: Record
) -> None:
    generator = generator_class()
    assert generator.check(record(), account(), login()) is TokenCheck.VALID
    assert generator.check(None, account(), login()) is TokenCheck.INVALID
    assert generator.check(record(), None, login()) is TokenCheck.INVALID
    assert generator.check(record(), account(), None) is TokenCheck.INVALID  # the login is gone
    assert generator.check(record(account_id="acc-2"), account(), login()) is TokenCheck.INVALID
    assert generator.check(record(status="used"), account(), login()) is TokenCheck.USED
    assert generator.check(record(status="send_failed"), account(), login()) is TokenCheck.INVALID
    assert generator.check(record(status="odd"), account(), login()) is TokenCheck.INVALID
    assert generator.check(record(), account(status="archived"), login()) is TokenCheck.ARCHIVED


def test_check_gives_each_outcome_of_a_reset_link() -> None:
    generator = FrozenResetGenerator()
    assert (
        generator.check(reset_record(password_version=2), account(), login()) is TokenCheck.USED
    )  # superseded
    # The login's password changed, through whichever firm: the link is used up too.
    assert generator.check(reset_record(), account(), login(password_version=4)) is TokenCheck.USED
    # The account moved to another address (and login) since: revoked, whatever the versions say.
    moved = account(email="b@example.com")
    assert generator.check(reset_record(), moved, login()) is TokenCheck.REVOKED
    # ... also when the old address's login went with its last account.
    assert generator.check(reset_record(), moved, None) is TokenCheck.REVOKED
    assert generator.check(reset_record(expires_at=NOW), account(), login()) is TokenCheck.EXPIRED


def test_check_gives_each_outcome_of_a_lock_link() -> None:
    generator = FrozenLockGenerator()
    # Being erased: as good as gone.
    assert generator.check(lock_record(), account(status="erasing"), login()) is TokenCheck.INVALID
    # A new address or role since the mail: the link's reader may no longer be the holder.
    assert generator.check(lock_record(), account(access_version=2), login()) is TokenCheck.INVALID


@pytest.mark.parametrize(("generator_class", "record"), KINDS)
def test_expiry_is_decided_in_code_not_by_ttl(
    generator_class: Callable[[datetime], TokenGenerator[Any]], record: Record
) -> None:
    generator = generator_class(NOW)
    assert (
        generator.check(record(expires_at=NOW + timedelta(seconds=1)), account(), login()) is TokenCheck.VALID
    )
    assert (
        generator.check(record(expires_at=NOW - timedelta(seconds=1)), account(), login())
        is TokenCheck.EXPIRED
    )
    assert generator.check(record(expires_at=NOW), account(), login()) is TokenCheck.EXPIRED


def test_a_later_password_change_or_a_lock_already_in_place_leaves_the_link_working() -> None:
    """Whoever changed the password must not be able to kill the lock link by changing it again."""
    generator = FrozenLockGenerator()
    assert generator.check(lock_record(), account(), login(password_version=9)) is TokenCheck.VALID
    assert generator.check(lock_record(), account(), login(locked_at=ISSUED)) is TokenCheck.VALID


def test_seven_days_decided_in_code_not_by_ttl() -> None:
    expires = ISSUED + LOCK_LINK_LIFETIME
    assert expires - ISSUED == timedelta(days=7)
    just_before = FrozenLockGenerator(expires - timedelta(seconds=1))
    at_expiry = FrozenLockGenerator(expires)
    assert just_before.check(lock_record(), account(), login()) is TokenCheck.VALID
    assert at_expiry.check(lock_record(), account(), login()) is TokenCheck.EXPIRED
    # A used link stays "used" after it would have expired; an expired one on an archived account
    # says "expired" (nothing to lock either way, but the link's own state comes first).
    assert at_expiry.check(lock_record(status="used"), account(), login()) is TokenCheck.USED
    assert at_expiry.check(lock_record(), account(status="archived"), login()) is TokenCheck.EXPIRED


@pytest.mark.parametrize(("generator_class", "record"), KINDS)
@pytest.mark.parametrize("odd", [{"expires_at": None}, {"access_version": "many"}, {"status": None}])
def test_check_never_raises_on_a_record_of_an_odd_shape(
    generator_class: Callable[[], TokenGenerator[Any]], record: Record, odd: dict[str, Any]
) -> None:
    stored = record()
    for name, value in odd.items():
        setattr(stored, name, value)
    # A version that is no number differs from the account's, and a reset link issued for other
    # versions is revoked; anything else odd is as good as no record.
    revoked = record is reset_record and "access_version" in odd
    assert generator_class().check(stored, account(), login()) is (
        TokenCheck.REVOKED if revoked else TokenCheck.INVALID
    )


# --------------------------------------------------------------------------- what a lock does elsewhere


@pytest.mark.parametrize(
    ("requested_by", "unlock_code_hash", "expected"),
    [
        # a link staff sent after the lock, with its unlock code: confirming it with the code unlocks
        ("acc-staff", "hmac-of-the-code", TokenCheck.VALID),
        ("acc-staff", None, TokenCheck.REVOKED),  # staff-sent without a code: the mailbox alone
        (None, None, TokenCheck.REVOKED),  # self-service
        (BY_PROVISIONING, None, TokenCheck.REVOKED),  # the CRM's invitation
    ],
)
def test_on_a_locked_account_only_a_staff_sent_unlock_link_works(
    requested_by: str | None, unlock_code_hash: str | None, expected: TokenCheck
) -> None:
    record = reset_record(requested_by=requested_by, unlock_code_hash=unlock_code_hash)
    assert FrozenResetGenerator().check(record, account(), login(locked_at=ISSUED)) is expected
    assert FrozenResetGenerator().check(record, account(), login()) is TokenCheck.VALID


def test_a_link_that_wrong_unlock_codes_ended_is_revoked() -> None:
    record = reset_record(requested_by="acc-staff", unlock_code_hash="h", status="revoked", wrong_codes=5)
    assert FrozenResetGenerator().check(record, account(), login(locked_at=ISSUED)) is TokenCheck.REVOKED


def session() -> Session:
    """A session of login() acting as account(), opened on their current versions."""
    return Session(
        "h",
        email="a@example.com",
        account_id="acc-1",
        firm_id="f",
        role="client",
        password_version=3,
        access_version=1,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )


def test_a_session_of_a_locked_account_is_refused_whatever_its_versions() -> None:
    assert is_live(session(), account(), login(), now=NOW)
    assert not is_live(session(), account(), login(locked_at=ISSUED), now=NOW)


def test_a_session_lives_on_the_logins_password_and_its_accounts_access() -> None:
    """One login, several accounts: a change of the login's password ends the sessions of every
    account; a revocation of one account (a new role, archiving) ends only those acting as it."""
    assert is_live(session(), account(), login(), now=NOW)
    assert not is_live(session(), account(), login(password_version=4), now=NOW)
    assert not is_live(session(), account(access_version=2), login(), now=NOW)
    assert not is_live(session(), account(status="archived"), login(), now=NOW)
    assert not is_live(session(), account(), login(), now=NOW + timedelta(hours=1))


# --------------------------------------------------------------------------- which account a login acts as


def membership(firm_id: str, account_id: str, status: str = "active", role: str = "client") -> Membership:
    return Membership(
        "a@example.com",
        membership_item(firm_id),
        account_id=account_id,
        firm_id=firm_id,
        role=role,
        status=status,
    )


def two_firms(last: str | None = None, *, archived: str | None = None) -> LoginAccounts:
    members = (
        membership("firm-a", "acc-a", "archived" if archived == "acc-a" else "active"),
        membership("firm-b", "acc-b", "archived" if archived == "acc-b" else "active", role="owner"),
    )
    return LoginAccounts(email="a@example.com", login=login(last_account_id=last), memberships=members)


def test_a_named_firm_picks_the_logins_active_account_there_and_nothing_elsewhere() -> None:
    accounts = two_firms(last="acc-a")
    assert accounts.acting("firm-b").account_id == "acc-b"  # type: ignore[union-attr]
    assert accounts.acting("firm-unknown") is None
    assert two_firms(archived="acc-b").acting("firm-b") is None


def test_without_a_firm_the_last_used_active_account_else_the_first_active_one() -> None:
    assert two_firms(last="acc-b").acting().account_id == "acc-b"  # type: ignore[union-attr]
    assert two_firms(last=None).acting().account_id == "acc-a"  # type: ignore[union-attr]
    assert two_firms(last="acc-b", archived="acc-b").acting().account_id == "acc-a"  # type: ignore[union-attr]
    assert two_firms(last="acc-gone").acting().account_id == "acc-a"  # type: ignore[union-attr]
    everything_archived = LoginAccounts(
        email="a@example.com", login=login(), memberships=(membership("firm-a", "acc-a", "archived"),)
    )
    assert everything_archived.acting() is None and everything_archived.active == []
