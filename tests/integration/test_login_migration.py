"""The migration of issue #22 under moto: accounts as a deployment before logins left them (the
credential on the account) become logins and memberships; the same passwords sign in, links mailed
before keep working, a lock stays a lock, and running it again changes nothing."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from argon2 import PasswordHasher

from pwreset.accounts.migration import MOVED, Report, main, migrate
from support.api import Api
from support.sent_mail import TOKEN_IN_LINK

ANNA_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
KARL_PASSWORD = "Mandant-Demo-Karl-2026-alt"
LOCKED_PASSWORD = "Ein gesperrtes Konto bleibt gesperrt"
STAMP = "2026-10-01T09:00:00.000000+0000"
OLD_SESSION = "s" * 43  # a session Anna opened before logins existed


def table(env: str) -> str:
    return os.environ[env]


def old_account(account_id: str, email: str, *, firm_id: str = "firm-berger", **extra: Any) -> dict[str, Any]:
    """An account item as the service wrote it before logins existed."""
    item: dict[str, Any] = {
        "account_id": {"S": account_id},
        "firm_id": {"S": firm_id},
        "role": {"S": "client"},
        "email": {"S": email},
        "name": {"S": account_id.title()},
        "locale": {"S": "de"},
        "timezone": {"S": "Europe/Berlin"},
        "status": {"S": "active"},
        "access_version": {"N": "0"},
        "revision": {"N": "3"},
        "password_version": {"N": "0"},
        "email_status": {"S": "ok"},
    }
    item.update(extra)
    return item


@pytest.fixture
def before_logins(api: Api) -> dict[str, dict[str, Any]]:
    """Two firms and five accounts the way a pre-#22 deployment keeps them, a link mailed to Anna
    and a session Anna opened then."""
    from pwreset.storage.models import ResetToken, Session

    for firm_id, name in (("firm-berger", "Steuerkanzlei Berger"), ("firm-hartmann", "Hartmann Tax")):
        assert api.signed("PUT", f"/v1/admin/firms/{firm_id}", {"name": name}).status == 201
    hasher = PasswordHasher()
    accounts = {
        "anna": old_account(
            "acc-anna",
            "anna@example.com",
            password_hash={"S": hasher.hash(ANNA_PASSWORD)},
            password_version={"N": "2"},
            password_changed_at={"S": STAMP},
        ),
        "karl": old_account(
            "acc-karl",
            "karl@example.com",
            firm_id="firm-hartmann",
            status={"S": "archived"},
            password_hash={"S": hasher.hash(KARL_PASSWORD)},
            email_status={"S": "undeliverable"},
        ),
        "locked": old_account(
            "acc-locked",
            "locked@example.com",
            password_hash={"S": hasher.hash(LOCKED_PASSWORD)},
            password_version={"N": "5"},
            locked_at={"S": STAMP},
            lock_event_id={"S": "evt-lock"},
        ),
        "new": old_account("acc-new", "new@example.com"),
        "erasing": old_account("acc-erasing", "erased-acc-erasing@erased.invalid", status={"S": "erasing"}),
    }
    dynamodb = boto3.client("dynamodb")
    for item in accounts.values():
        dynamodb.put_item(TableName=table("ACCOUNTS_TABLE"), Item=item)
    now = datetime.now(UTC)
    ResetToken(
        "d" * 64,
        reset_id="reset-before",
        account_id="acc-anna",
        firm_id="firm-berger",
        email="anna@example.com",
        requested_at=now.isoformat(),
        expires_at=now + timedelta(hours=1),
        password_version=2,
        access_version=0,
        status="issued",
    ).save()
    Session(
        hashlib.sha256(OLD_SESSION.encode()).hexdigest(),
        account_id="acc-anna",
        firm_id="firm-berger",
        role="client",
        password_version=2,
        created_at=now,
        expires_at=now + timedelta(hours=1),
    ).save()
    return accounts


def run() -> Report:
    return migrate(
        boto3.client("dynamodb"), accounts_table=table("ACCOUNTS_TABLE"), logins_table=table("LOGINS_TABLE")
    )


def logins_table() -> dict[tuple[str, str], dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=table("LOGINS_TABLE"), ConsistentRead=True)["Items"]
    return {(i["email"]["S"], i["item"]["S"]): i for i in items}


def test_accounts_become_logins_and_memberships_and_lose_their_credential(
    api: Api, before_logins: dict[str, dict[str, Any]]
) -> None:
    report = run()
    assert report == Report(accounts=5, migrated=4, already=0, erasing=1, conflicts=0)
    logins = logins_table()
    assert set(logins) == {
        (email, item)
        for email, firm in (
            ("anna@example.com", "firm-berger"),
            ("karl@example.com", "firm-hartmann"),
            ("locked@example.com", "firm-berger"),
            ("new@example.com", "firm-berger"),
        )
        for item in ("login", f"firm#{firm}")
    }
    anna = logins[("anna@example.com", "login")]
    assert anna["password_hash"] == before_logins["anna"]["password_hash"]
    assert (anna["password_version"], anna["account_count"]) == ({"N": "2"}, {"N": "1"})
    assert anna["last_account_id"] == {"S": "acc-anna"}
    assert logins[("karl@example.com", "login")]["email_status"] == {"S": "undeliverable"}
    assert logins[("karl@example.com", "firm#firm-hartmann")]["status"] == {"S": "archived"}
    assert logins[("locked@example.com", "login")]["lock_event_id"] == {"S": "evt-lock"}
    assert "password_hash" not in logins[("new@example.com", "login")]
    # No account keeps what moved: the hash lives on the login alone.
    stored = boto3.client("dynamodb").scan(TableName=table("ACCOUNTS_TABLE"), ConsistentRead=True)["Items"]
    for item in stored:
        if item["status"]["S"] != "erasing":
            assert not set(MOVED) & set(item), item["account_id"]


def test_after_the_migration_the_same_passwords_sign_in_links_work_and_a_lock_stays(
    api: Api, before_logins: dict[str, dict[str, Any]]
) -> None:
    run()
    assert api.post("/v1/sessions", {"email": "anna@example.com", "password": ANNA_PASSWORD}).status == 201
    locked = api.post("/v1/sessions", {"email": "locked@example.com", "password": LOCKED_PASSWORD})
    assert (locked.status, locked.error_code) == (403, "account_locked")
    archived = api.post("/v1/sessions", {"email": "karl@example.com", "password": KARL_PASSWORD})
    assert archived.status == 401
    # A session from before logins carries no address: it ends (everyone signs in once more).
    assert api.get("/v1/sessions/current", token=OLD_SESSION).status == 401
    # The link mailed before the migration carries the password version the login took over.
    from pwreset.credentials.links import require_valid
    from pwreset.storage.accounts import read_together
    from pwreset.storage.models import ResetToken

    record = ResetToken.get("d" * 64)
    found = read_together(accounts=["acc-anna"], logins=["anna@example.com"])
    require_valid(record, found.accounts["acc-anna"], found.logins["anna@example.com"])
    # And a new link by self-service now goes out for her.
    assert api.post("/v1/password-resets", {"email": "anna@example.com"}).status == 202
    from support.sent_mail import sent_messages

    assert TOKEN_IN_LINK.search(str(sent_messages()[-1].body))


def test_running_it_again_changes_nothing(api: Api, before_logins: dict[str, dict[str, Any]]) -> None:
    run()
    first = logins_table()
    accounts_after = boto3.client("dynamodb").scan(TableName=table("ACCOUNTS_TABLE"), ConsistentRead=True)[
        "Items"
    ]
    again = run()
    assert again == Report(accounts=5, migrated=0, already=4, erasing=1, conflicts=0)
    assert logins_table() == first
    assert (
        boto3.client("dynamodb").scan(TableName=table("ACCOUNTS_TABLE"), ConsistentRead=True)["Items"]
        == accounts_after
    )


def test_the_command_line_runs_it_and_prints_the_report(
    api: Api, before_logins: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--accounts-table",
            table("ACCOUNTS_TABLE"),
            "--logins-table",
            table("LOGINS_TABLE"),
            "--region",
            "eu-central-1",
        ]
    )
    assert code == 0
    assert '"migrated": 4' in capsys.readouterr().out
