"""Accounts tests add to the demo data."""

from __future__ import annotations

from typing import Any

SECOND_OWNER = "acc-berger-owner-2"
SECOND_OWNER_EMAIL = "markus.berger@berger-steuer.example"
# What belongs to a login, not to an account (see pwreset.storage.models.Login).
LOGIN_FIELDS = ("password_hash", "password_version", "locked_at", "lock_event_id", "email_status")


def add_account(account_id: str, *, firm_id: str = "firm-berger", **fields: Any) -> None:
    """An account of the firm (the Berger firm unless told), stored as the CRM would leave it: the
    account, its membership of its address's login, and the login (made or counted up). Login
    fields among ``fields`` (a hash, a verdict of SES) go onto the login."""
    # deferred: pwreset reads its settings on import, after support.environment has set them
    from pwreset.storage.accounts import get_login
    from pwreset.storage.models import LOGIN_ITEM, Account, Login, Membership, membership_item

    on_login = {name: fields.pop(name) for name in LOGIN_FIELDS if name in fields}
    account = Account(account_id, firm_id=firm_id, **fields)
    account.save()
    Membership(
        account.email,
        membership_item(firm_id),
        account_id=account_id,
        firm_id=firm_id,
        role=account.role,
        status=account.status,
    ).save()
    login = get_login(account.email) or Login(account.email, LOGIN_ITEM, last_account_id=account_id)
    login.account_count = int(login.account_count) + 1
    for name, value in on_login.items():
        setattr(login, name, value)
    login.save()


def login_of(email: str) -> Any:
    """The login of an address as stored now (``None`` when there is none)."""
    # deferred: as above
    from pwreset.storage.accounts import get_login

    return get_login(email)


def add_second_owner() -> None:
    """Markus Berger, a second owner of the Berger firm (the demo data has one), who reads English
    in Tokyo: a firm's mails go to every owner, each in their own language and time zone."""
    add_account(
        SECOND_OWNER,
        role="owner",
        email=SECOND_OWNER_EMAIL,
        name="Markus Berger",
        locale="en",
        timezone="Asia/Tokyo",
    )


def set_login(email: str, **fields: Any) -> None:
    """Set attributes of an address's login as a flow would leave them (``locked_at``,
    ``email_status``, a ``password_hash`` of other parameters, ...)."""
    # deferred: as above
    from pwreset.storage.models import LOGIN_ITEM, Login

    Login(email, LOGIN_ITEM).update(
        actions=[getattr(Login, name).set(value) for name, value in fields.items()],
        condition=Login.email.exists(),
    )


def password_hash(password: str) -> str:
    """The argon2id hash the service would store for ``password``."""
    # deferred: as above
    from pwreset.credentials.hashing import hash_password
    from pwreset.credentials.policy import PasswordPolicy

    return hash_password(PasswordPolicy.normalise(password))
