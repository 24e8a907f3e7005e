"""The people a load run acts as: the demo firms' staff and clients (``local/demo_data.json``) and
firms the run provisions itself through the signed provisioning API, as the CRM would, so that
per-account limits and one firm's few clients do not dominate the run.

Staff and most clients of the provisioned firms are invited (``"send_invitation": true``) and set
their first password through the link in the welcome mail, over the API; a few clients stay
without a password (for the staff invitation flow), and each firm has one client at each of SES's
mailbox-simulator addresses (``bounce+…``, ``complaint+…``, ``success+…@simulator.amazonses.com``),
whose mail produces SES events. Some clients of each firm are clients of the next firm too, with
the same address (one login, one password, two accounts: issue #22); their second firm invites them
once they have a password, which mails them that its portal is open (``access_granted``).

The population file holds the passwords the run set: it stays in the run's work directory.
"""

from __future__ import annotations

import json
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.seed import load_demo_data
from load.client import Stack, StackFailed, wait_until

SIMULATOR = "simulator.amazonses.com"
SIMULATOR_SCENARIOS = ("bounce", "complaint", "success")
TOKEN_RE = re.compile(r"#token=([A-Za-z0-9_-]{20,})")


@dataclass(frozen=True)
class Shape:
    firms: int = 4
    owners: int = 2
    members: int = 1
    clients: int = 8  # with a password (invited, then set up)
    without_password: int = 3
    shared: int = 2  # clients of one firm who are clients of the next firm too (one login)


def new_password() -> str:
    """A password the policy accepts: long, random, no e-mail, name or firm name in it."""
    return f"Load-{secrets.token_urlsafe(15)}"


def _mails_after(stack: Stack, after: int) -> list[dict[str, Any]]:
    return list(stack.request("GET", f"/_dev/load/mail?after={after}").json()["messages"])


def _account(account_id: str, email: str, role: str, name: str) -> dict[str, Any]:
    return {"account_id": account_id, "email": email, "role": role, "name": name}


def build(stack: Stack, shape: Shape, *, run: str) -> dict[str, Any]:
    """Provision the firms, invite and set up their accounts, and return the population (also the
    demo firms' accounts with their demo passwords)."""
    mail_mark = int(stack.request("GET", "/_dev/load/mail?after=0").json()["next"])
    firms: list[dict[str, Any]] = []
    invited: list[dict[str, Any]] = []
    puts: list[tuple[str, dict[str, Any]]] = []
    for f in range(1, shape.firms + 1):
        firm_id = f"firm-{run}-{f}"
        firm: dict[str, Any] = {
            "firm_id": firm_id,
            "name": f"Kanzlei Last {run} {f}",
            "staff": [],
            "clients": [],
            "without_password": [],
            "simulator": [],
            "owners": shape.owners,
        }
        answer = stack.signed("PUT", f"/v1/admin/firms/{firm_id}", {"name": firm["name"], "locale": "de"})
        if answer.status not in (200, 201):
            raise StackFailed(f"PUT firm {firm_id}: {answer.status} {answer.text}")
        people = [("owner", n) for n in range(shape.owners)] + [("member", n) for n in range(shape.members)]
        people += [("client", n) for n in range(shape.clients)]
        for role, n in people:
            email = f"{role}{n}.f{f}.{run}@load.example.com"
            account = _account(f"acc-{run}-{f}-{role}-{n}", email, role, f"{role.title()} {n} Firma {f}")
            invited.append({**account, "firm_id": firm_id})
            puts.append((firm_id, {**account, "send_invitation": True}))
        for n in range(shape.without_password):
            email = f"new{n}.f{f}.{run}@load.example.com"
            firm["without_password"].append(
                _account(f"acc-{run}-{f}-new-{n}", email, "client", f"Neu {n} Firma {f}")
            )
        for scenario in SIMULATOR_SCENARIOS:
            email = f"{scenario}+{run}{f}@{SIMULATOR}"
            name = f"Sim {scenario.title()} {f}"
            firm["simulator"].append(_account(f"acc-{run}-{f}-sim-{scenario}", email, "client", name))
        puts += [(firm_id, account) for account in (*firm["without_password"], *firm["simulator"])]
        firms.append(firm)

    def put(item: tuple[str, dict[str, Any]]) -> None:
        firm_id, account = item
        body = {
            "firm_id": firm_id,
            "role": account["role"],
            "email": account["email"],
            "name": account["name"],
            "locale": "de",
            "send_invitation": bool(account.get("send_invitation")),
        }
        answer = stack.signed("PUT", f"/v1/admin/accounts/{account['account_id']}", body)
        if answer.status not in (200, 201):
            raise StackFailed(f"PUT account: {answer.status} {answer.text}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, puts))

    # Every invited account sets its first password through the link in its welcome mail.
    by_email = {account["email"]: account for account in invited}
    links: dict[str, str] = {}

    def all_links_arrived() -> bool:
        for message in _mails_after(stack, mail_mark):
            if message["tags"].get("kind") != "invitation":
                continue
            for link in message["links"]:
                found = TOKEN_RE.search(link)
                for to in message["to"]:
                    if found and to in by_email:
                        links[to] = found.group(1)
        return len(links) == len(by_email)

    if not wait_until(all_links_arrived, timeout=60, interval=0.2):
        raise StackFailed(f"{len(by_email) - len(links)} welcome mails did not arrive")

    def set_up(email: str) -> None:
        password = new_password()
        answer = stack.request(
            "POST", "/v1/password-resets/confirm", {"token": links[email], "password": password}
        )
        if answer.status != 200:
            raise StackFailed(f"setting a first password: {answer.status} {answer.text}")
        by_email[email]["password"] = password

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(set_up, list(by_email)))
    for account in invited:
        firm = next(f for f in firms if f["firm_id"] == account["firm_id"])
        entry = {k: account[k] for k in ("account_id", "email", "password")}
        (firm["staff"] if account["role"] != "client" else firm["clients"]).append(
            {**entry, "role": account["role"]}
        )
    share_clients(stack, firms, shape.shared, run=run)
    return {"firms": [*demo_firms(), *firms]}


def share_clients(stack: Stack, firms: list[dict[str, Any]], count: int, *, run: str) -> None:
    """The first ``count`` clients of each firm become clients of the next firm too (the last's of
    the first), with their address: one login, two accounts. Invited once they have a password, so
    the answer is ``password_already_set`` and the mail says the portal is open."""
    for index, firm in enumerate(firms):
        following = firms[(index + 1) % len(firms)]
        if following is firm:
            return
        for n, client in enumerate(list(firm["clients"][:count])):
            account_id = f"acc-{run}-shared-{index}-{n}"
            body = {
                "firm_id": following["firm_id"],
                "role": "client",
                "email": client["email"],
                "name": f"Geteilt {n} Firma {index}",
                "locale": "de",
                "send_invitation": True,
            }
            answer = stack.signed("PUT", f"/v1/admin/accounts/{account_id}", body)
            invitation = (answer.json() or {}).get("invitation") if answer.status == 201 else None
            if invitation != {"status": "password_already_set"}:
                raise StackFailed(f"sharing a client's login: {answer.status} {answer.text}")
            following["clients"].append({**client, "account_id": account_id})


def demo_firms() -> list[dict[str, Any]]:
    """The demo firms as the population knows them: active staff, active clients with a password,
    and their simulator clients (the archived client is left out: it is nobody's to use)."""
    found: list[dict[str, Any]] = []
    for firm in load_demo_data()["firms"]:
        entry: dict[str, Any] = {
            "firm_id": firm["firm_id"],
            "name": firm["name"],
            "staff": [],
            "clients": [],
            "without_password": [],
            "simulator": [],
            "owners": sum(
                1 for a in firm["accounts"] if a["role"] == "owner" and a.get("status") != "archived"
            ),
        }
        for account in firm["accounts"]:
            if account.get("status", "active") != "active":
                continue
            item = {k: account[k] for k in ("account_id", "email", "password", "role")}
            if account["role"] in ("owner", "member"):
                entry["staff"].append(item)
            elif account["email"].endswith(f"@{SIMULATOR}"):
                entry["simulator"].append({k: account[k] for k in ("account_id", "email", "role", "name")})
            else:
                entry["clients"].append(item)
        found.append(entry)
    return found


def write(population: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(population, indent=1), encoding="utf-8")
    path.chmod(0o600)
    return path
