"""Loads demo or test data (``local/demo_data.json``'s shape) through the provisioning API.

Firms and accounts are created as the CRM would create them: signed ``PUT`` requests to
``/v1/admin/firms/{id}`` and ``/v1/admin/accounts/{id}``, so every start of ``make dev`` (and every
integration test's data) proves that path; an address that has accounts at several firms is one
login. A firm's white-label addresses (``portal_url``, ``brand.logo_url``) are written in the data
as paths (``/_dev/brand/berger.png``) and provisioned as URLs on the site that serves the reset
page (the local stack's, which also serves the logos; the tests' configured one), so the demo
firms' portals and logos live on whichever stack runs.

The demo passwords are then written straight onto the logins: no route sets a password for
someone else (ASVS 6.4.6), on purpose, and the demo needs accounts that can sign in. That step
exists only here, in dev-only code. Accounts of one address must give the same password (it is
their login's).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from devstack.sigv4 import SERVICE, KeyPair

DEMO_DATA_PATH = Path(__file__).resolve().parents[1] / "demo_data.json"

# (method, path, JSON body) -> (status, JSON answer)
Provision = Callable[[str, str, dict[str, Any]], tuple[int, Any]]


class SeedError(RuntimeError):
    """The provisioning API refused a demo firm or account."""


def load_demo_data(path: Path = DEMO_DATA_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def key_pair(data: dict[str, Any]) -> KeyPair:
    """The SigV4 key pair the local stack accepts on its ``AWS_IAM`` routes."""
    found = data["provisioning"]
    return KeyPair(
        access_key_id=found["access_key_id"],
        secret_access_key=found["secret_access_key"],
        region=found["region"],
    )


def signed_headers(
    key: KeyPair, method: str, url: str, body: bytes, headers: dict[str, str] | None = None
) -> dict[str, str]:
    """``headers`` plus the SigV4 ones botocore adds for ``execute-api`` (as the CRM signs)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), SERVICE, key.region).add_auth(request)
    return dict(request.headers.items())


def stack_site() -> str:
    """The origin of the configured reset page (``RESET_PAGE_URL``): where the demo firms' portals
    and logos are."""
    parts = urlsplit(os.environ.get("RESET_PAGE_URL", "https://portal.example.com/reset"))
    return f"{parts.scheme}://{parts.netloc}"


def firm_body(firm: dict[str, Any], site: str) -> dict[str, Any]:
    """The ``PUT /v1/admin/firms/{id}`` body of a firm of the data (its paths as URLs on ``site``)."""
    body: dict[str, Any] = {
        "name": firm["name"],
        "locale": firm.get("locale", "de"),
        "time_zone": firm.get("timezone"),
    }
    if firm.get("portal_url"):
        body["portal_url"] = urljoin(site, firm["portal_url"])
    for key in ("sender_name", "contact"):
        if key in firm:
            body[key] = firm[key]
    if "brand" in firm:
        brand = dict(firm["brand"])
        if brand.get("logo_url"):
            brand["logo_url"] = urljoin(site, brand["logo_url"])
        body["brand"] = brand
    return body


def provisioning_requests(
    data: dict[str, Any], site: str | None = None
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The PUTs that create the data's firms and then their accounts."""
    for firm in data["firms"]:
        yield "PUT", f"/v1/admin/firms/{firm['firm_id']}", firm_body(firm, site or stack_site())
    for firm in data["firms"]:
        for acc in firm["accounts"]:
            body = {
                "firm_id": firm["firm_id"],
                "role": acc["role"],
                "email": acc["email"],
                "name": acc["name"],
                "locale": acc.get("locale"),
                "time_zone": acc.get("timezone"),
                "status": acc.get("status", "active"),
            }
            yield "PUT", f"/v1/admin/accounts/{acc['account_id']}", {k: v for k, v in body.items() if v}


def seed(data: dict[str, Any], provision: Provision) -> None:
    """Provision the data through ``provision``, then give its accounts their demo passwords."""
    for method, path, body in provisioning_requests(data):
        status, answer = provision(method, path, body)
        if status not in (200, 201):
            raise SeedError(f"{method} {path} answered {status}: {answer}")
    set_demo_passwords(data)


def demo_passwords(data: dict[str, Any]) -> dict[str, str]:
    """Each demo login's password, by address; refuses two passwords for one address (one login)."""
    passwords: dict[str, str] = {}
    for firm in data["firms"]:
        for acc in firm["accounts"]:
            if not acc.get("password"):
                continue
            address = acc["email"].strip().lower()
            if passwords.setdefault(address, acc["password"]) != acc["password"]:
                raise SeedError(f"{acc['account_id']}: another password for {address}, which is one login")
    return passwords


def set_demo_passwords(data: dict[str, Any]) -> None:
    """Dev only: write each demo login's password hash directly (see the module's docstring)."""
    # deferred: the layer is on the path only once the stack has set it up
    from pwreset.storage.models import LOGIN_ITEM, Login

    for address, password in demo_passwords(data).items():
        Login(address, LOGIN_ITEM).update(
            actions=[Login.password_hash.set(_hash(password))], condition=Login.email.exists()
        )


@cache
def _hash(password: str) -> str:
    """One argon2id hash per demo password per process: the integration tests seed for every test."""
    # deferred: as above
    from pwreset.credentials.hashing import hash_password
    from pwreset.credentials.policy import PasswordPolicy

    return hash_password(PasswordPolicy.normalise(password))


def accounts_by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        acc["account_id"]: {**acc, "firm_id": firm["firm_id"], "firm_name": firm["name"]}
        for firm in data["firms"]
        for acc in firm["accounts"]
    }
