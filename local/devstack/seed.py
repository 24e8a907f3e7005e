"""Loads demo or test data (``local/demo_data.json``'s shape) into the tables, passwords hashed as
the service hashes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEMO_DATA_PATH = Path(__file__).resolve().parents[1] / "demo_data.json"


def load_demo_data(path: Path = DEMO_DATA_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def seed(data: dict[str, Any]) -> None:
    from pwreset.credentials.hashing import hash_password
    from pwreset.credentials.policy import PasswordPolicy
    from pwreset.mail.addresses import normalise_email
    from pwreset.storage.models import Account, Firm

    for firm in data["firms"]:
        Firm(firm["firm_id"], name=firm["name"], timezone=firm.get("timezone", "Europe/Berlin")).save()
        for acc in firm["accounts"]:
            Account(
                acc["account_id"],
                firm_id=firm["firm_id"],
                role=acc["role"],
                email=normalise_email(acc["email"]),
                name=acc["name"],
                locale=acc.get("locale", "de"),
                timezone=acc.get("timezone", firm.get("timezone", "Europe/Berlin")),
                status=acc.get("status", "active"),
                password_hash=hash_password(PasswordPolicy.normalise(acc["password"])),
                password_version=0,
            ).save()


def accounts_by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        acc["account_id"]: {**acc, "firm_id": firm["firm_id"], "firm_name": firm["name"]}
        for firm in data["firms"]
        for acc in firm["accounts"]
    }
