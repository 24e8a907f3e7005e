"""Accounts tests add to the demo data."""

from __future__ import annotations

from typing import Any

SECOND_OWNER = "acc-berger-owner-2"
SECOND_OWNER_EMAIL = "markus.berger@berger-steuer.example"


def add_account(account_id: str, *, firm_id: str = "firm-berger", **fields: Any) -> None:
    """An account of the firm (the Berger firm unless told), stored as the CRM would leave it."""
    # deferred: pwreset reads its settings on import, after support.environment has set them
    from pwreset.storage.models import Account

    Account(account_id, firm_id=firm_id, **fields).save()


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
