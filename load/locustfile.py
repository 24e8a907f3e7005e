"""The load run's users (locust, headless; ``python -m load`` starts it, see ``load.run``).

A realistic mix of every route of the API, from the population ``load.population`` built:

* ``SelfServiceUser``: "forgot password" for known clients (the link comes from the dev mailbox,
  then verify, confirm; now and then the link is confirmed a second time, or twice at once, which
  must succeed exactly once) and for unknown addresses; a made-up token on verify.
* ``StaffUser``: a firm's owner or team member, signed in: sends clients reset links (most are then
  used by the client), invitations to clients without a password (the client sets the first one),
  sends to SES mailbox-simulator addresses (bounce, complaint, success: SES events reach the
  webhook), reads delivery timelines and its own session.
* ``PortalUser``: a client signs in (at the firm of the account it acts as), reads the session,
  switches to its login's other firm when it has one, changes the password while signed in (the
  old session must end), signs out; sign-in with a wrong password.
* ``CrmUser``: the CRM's backend, SigV4-signed: firm updates, new clients (some invited), the same
  PUT again, reads, erasure of a throwaway account.
* ``PageUser``: the hosted reset page, its assets, the OpenAPI document.

Every answer is classified against the contract as it arrives (``load.contract``) and written, one
JSON line each, to the journal the run reads afterwards; so are the flows' facts the invariant
checks need (which link was confirmed, which request found no link). Raw tokens and passwords are
never written: a link is named by the SHA-256 digest of its token, as the service stores it.

Configuration comes from the JSON file named by ``LOAD_CONFIG``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import re
import secrets
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gevent
from gevent.event import Event
from locust import FastHttpUser, between, events, task

from load.contract import Answer, error_code, violations
from load.population import new_password

CONFIG: dict[str, Any] = (
    json.loads(Path(os.environ["LOAD_CONFIG"]).read_text()) if "LOAD_CONFIG" in os.environ else {}
)
LINK_WAIT_S = float(CONFIG.get("link_wait_s", 30))
TOKEN_RE = re.compile(r"#token=([A-Za-z0-9_-]{20,})")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------- journal
class Journal:
    def __init__(self, path: str | None) -> None:
        self._file = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115 - lives with the process

    def write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")

    def flow(self, event: str, **fields: Any) -> None:
        self.write({"type": "flow", "event": event, "at": time.time(), **fields})

    def wrong_answer(self, route: str, status: int, why: str, answers: list[tuple[int, Any, str]]) -> None:
        """An answer the contract allows but the state contradicts, found by a follow-up request
        (``answers``: the requests that gave it)."""
        self.flow("wrong_answer", route=route, status=status, why=why, rids=[rid for _, _, rid in answers])

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()


JOURNAL = Journal(CONFIG.get("journal"))


@events.request.add_listener
def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    response: Any = None,
    exception: Any = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    body = ""
    if status >= 300 or status == 0:
        try:
            body = response.text or ""
        except Exception:  # a body that is not text
            body = ""
    elif name == "POST /v1/password-resets":
        body = response.text or ""
    answer = Answer(
        route=name, status=status, body=body, retry_after=headers.get("Retry-After"), ms=float(response_time)
    )
    found = violations(answer) if status else ["no_answer"]
    record: dict[str, Any] = {
        "type": "req",
        "route": name,
        "status": status,
        "ms": round(float(response_time), 1),
        "at": start_time or time.time(),
        "rid": headers.get("x-amzn-RequestId"),
    }
    if status >= 400:
        record["code"] = error_code(body)
    if found:
        record["violations"] = found
        record["body"] = body[:400]
        record["retry_after"] = headers.get("Retry-After")
        if exception is not None and not status:
            record["exception"] = type(exception).__name__
    JOURNAL.write(record)


@events.quitting.add_listener
def _on_quit(**_: Any) -> None:
    JOURNAL.close()


# ---------------------------------------------------------------------------------------- mailbox
class Mailbox:
    """The dev mailbox as the users see it: one greenlet follows ``/_dev/load/mail`` (long poll)
    and wakes whoever waits for a mail to an address."""

    def __init__(self) -> None:
        self.next = int(CONFIG.get("mail_start", 0))
        self.base_url = ""
        self.by_address: dict[str, list[dict[str, Any]]] = {}
        self.changed = Event()
        self._follower: gevent.Greenlet | None = None
        self.used: set[str] = set()  # digests of links a user has taken

    def start(self, base_url: str) -> None:
        if self._follower is None:
            self.base_url = base_url
            self._follower = gevent.spawn(self._follow, base_url)

    def _follow(self, base_url: str) -> None:
        """Not through the users' client: the mailbox is no route of the API, and not measured."""
        while True:
            try:
                url = f"{base_url}/_dev/load/mail?after={self.next}&wait=5"
                with urllib.request.urlopen(url, timeout=30) as response:
                    document = json.loads(response.read())
            except Exception:
                gevent.sleep(0.5)  # the stack is stopping, or busy: ask again
                continue
            for message in document.get("messages", []):
                for to in message["to"]:
                    self.by_address.setdefault(to, []).append(message)
            self.next = int(document.get("next", self.next))
            if document.get("messages"):
                changed, self.changed = self.changed, Event()
                changed.set()

    def mark(self) -> int:
        """How many mails the stack has sent so far (asked now: the follower may lag behind)."""
        url = f"{self.base_url}/_dev/load/status"
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(json.loads(response.read())["mail"])

    def wait_link(
        self, address: str, after: int, kinds: tuple[str, ...], timeout: float = LINK_WAIT_S
    ) -> str | None:
        """The token of the first not yet taken link mail of ``kinds`` to ``address`` numbered
        ``after`` or later, waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self.changed
            for message in self.by_address.get(address, []):
                if message["seq"] < after or message["tags"].get("kind") not in kinds:
                    continue
                for link in message["links"]:
                    found = TOKEN_RE.search(link)
                    if found and digest(found.group(1)) not in self.used:
                        self.used.add(digest(found.group(1)))
                        return found.group(1)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            changed.wait(min(remaining, 5.0))


MAILBOX = Mailbox()


# ---------------------------------------------------------------------------------------- people
class Pools:
    """Accounts are used by one user at a time, so that one flow's link or session is never ended
    by another's password change (a real client has one browser, not twenty). A person with
    accounts at several firms is one login: while one of their accounts is in use none of the others
    is handed out, and a password set through one is the password of all."""

    def __init__(self, population: dict[str, Any]) -> None:
        self.firms = population.get("firms", [])
        self.clients: dict[str, deque[dict[str, Any]]] = {}
        self.without_password: dict[str, deque[dict[str, Any]]] = {}
        self.simulator: dict[str, list[dict[str, Any]]] = {}
        self.busy: set[str] = set()  # addresses (logins) a user holds
        self.passwords: dict[str, str] = {}  # each login's password as the run last set it
        self.accounts_of: dict[str, int] = {}  # how many accounts each address has
        for firm in self.firms:
            self.clients[firm["firm_id"]] = deque(random.sample(firm["clients"], len(firm["clients"])))
            self.without_password[firm["firm_id"]] = deque(firm["without_password"])
            self.simulator[firm["firm_id"]] = list(firm["simulator"])
            for client in firm["clients"]:
                self.passwords.setdefault(client["email"], client["password"])
                self.accounts_of[client["email"]] = self.accounts_of.get(client["email"], 0) + 1
        self._staff_turn = 0

    def shared(self, client: dict[str, Any]) -> bool:
        """Whether the client's login has accounts at several firms."""
        return self.accounts_of.get(client["email"], 1) > 1

    def take_client(self, firm_id: str | None = None) -> dict[str, Any] | None:
        firm_ids = [firm_id] if firm_id else random.sample(list(self.clients), len(self.clients))
        for fid in firm_ids:
            queue = self.clients.get(fid) or deque()
            for _ in range(len(queue)):
                client = queue.popleft()
                if client["email"] in self.busy:  # the same person, at another firm, is in use
                    queue.append(client)
                    continue
                self.busy.add(client["email"])
                password = self.passwords.get(client["email"], client.get("password"))
                return {**client, "firm_id": fid, "password": password}
        return None

    def give_back(self, client: dict[str, Any]) -> None:
        self.busy.discard(client["email"])
        if client.get("password"):
            self.passwords[client["email"]] = client["password"]
        target = self.clients if client.get("password") else self.without_password
        target.setdefault(client["firm_id"], deque()).append(client)

    def take_without_password(self, firm_id: str) -> dict[str, Any] | None:
        found = self.without_password.get(firm_id)
        if not found:
            return None
        client = found.popleft()
        self.busy.add(client["email"])
        return {**client, "firm_id": firm_id}

    def next_staff(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(firm, staff member), round robin over the firms and their staff."""
        with_staff = [f for f in self.firms if f["staff"]]
        firm = with_staff[self._staff_turn % len(with_staff)]
        staff = firm["staff"][(self._staff_turn // len(with_staff)) % len(firm["staff"])]
        self._staff_turn += 1
        return firm, staff


POOLS = Pools(
    json.loads(Path(CONFIG["population"]).read_text()) if CONFIG.get("population") else {"firms": []}
)


# ---------------------------------------------------------------------------------------- flows
VERIFY = "/v1/password-resets/verify"
CONFIRM = "/v1/password-resets/confirm"
CURRENT_SESSION = "/v1/sessions/current"


class ApiUser(FastHttpUser):
    abstract = True
    wait_time = between(0.2, 1.0)
    connection_timeout = 30.0
    network_timeout = 60.0

    def on_start(self) -> None:
        MAILBOX.start(str(self.host))
        self.user_agent = random.choice(USER_AGENTS)

    def call(
        self, method: str, path: str, body: Any = None, *, name: str | None = None, token: str | None = None
    ) -> tuple[int, Any, str]:
        """One request to the API as a browser or portal makes it; ``name`` (the route, for a path
        with an id in it) defaults to the method and path."""
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.answered(method, path, name or f"{method} {path}", headers=headers, json=body)

    def answered(self, method: str, path: str, name: str, **request: Any) -> tuple[int, Any, str]:
        """(status, the JSON body or None, the request id) of one request."""
        with self.client.request(method, path, name=name, catch_response=True, **request) as response:
            status = int(response.status_code or 0)
            text = response.text or ""
            rid = (response.headers or {}).get("x-amzn-RequestId")
            # Locust's own pass/fail is not the judge here (load.contract is); keep its counts honest.
            if status == 0 or status >= 500:
                response.failure(f"{status}")
            else:
                response.success()
        try:
            document = json.loads(text) if text else None
        except ValueError:
            document = None
        return status, document, rid or ""

    # -------------------------------------------------------------- using a link
    def verify(self, token: str) -> int:
        return self.call("POST", VERIFY, {"token": token})[0]

    def confirm(self, token: str, password: str) -> tuple[int, Any, str]:
        return self.call("POST", CONFIRM, {"token": token, "password": password})

    def use_link(self, client: dict[str, Any], token: str, *, source: str) -> None:
        """Verify, then confirm with a new password; sometimes confirm again, or twice at once."""
        if self.verify(token) != 200:
            return
        password = new_password()
        twice_at_once = random.random() < 0.05
        if twice_at_once:
            calls = [gevent.spawn(self.confirm, token, password) for _ in range(2)]
            gevent.joinall(calls)
            outcomes = [c.value for c in calls]
        else:
            outcomes = [self.confirm(token, password)]
        won = [o for o in outcomes if o[0] == 200]
        for _ in won:
            JOURNAL.flow("confirmed", digest=digest(token), account_id=client["account_id"], source=source)
        if won:
            client["password"] = password
        if len(won) > 1:
            JOURNAL.wrong_answer(f"POST {CONFIRM}", 200, "two confirms of one link both succeeded", won)
        for status, _, rid in outcomes:
            if status == 410 and not won:
                self.check_still_valid(token, rid)
        if won and random.random() < 0.1:
            again = self.confirm(token, new_password())
            if again[0] == 200:
                JOURNAL.flow(
                    "confirmed", digest=digest(token), account_id=client["account_id"], source=source
                )
                JOURNAL.wrong_answer(f"POST {CONFIRM}", 200, "a used link was confirmed again", [again])

    def check_still_valid(self, token: str, rid: str) -> None:
        """A confirm said 410 and no confirm of this link succeeded: does the link still work?"""
        if self.verify(token) == 200:
            why = "confirm answered 410 but the link still verifies as valid"
            JOURNAL.wrong_answer(f"POST {CONFIRM}", 410, why, [(410, None, rid)])

    def wait_for_link(
        self, client: dict[str, Any], mark: int, kinds: tuple[str, ...], source: str
    ) -> str | None:
        started = time.monotonic()
        token = MAILBOX.wait_link(client["email"], mark, kinds)
        if token is None:
            JOURNAL.flow(
                "no_link",
                account_id=client["account_id"],
                source=source,
                waited_s=round(time.monotonic() - started, 1),
            )
        else:
            JOURNAL.flow(
                "link",
                account_id=client["account_id"],
                source=source,
                digest=digest(token),
                after_s=round(time.monotonic() - started, 2),
            )
        return token


def with_a_client(flow: Callable[[Any, dict[str, Any]], None]) -> Callable[[Any], None]:
    """A task that acts as a client no other user holds (skipped when none is free), given back to
    the pool after, however the task ends."""

    @functools.wraps(flow)
    def run(user: Any) -> None:
        client = POOLS.take_client()
        if client is None:
            return
        try:
            flow(user, client)
        finally:
            POOLS.give_back(client)

    return run


class SelfServiceUser(ApiUser):
    weight = 6

    @task(5)
    @with_a_client
    def known_address(self, client: dict[str, Any]) -> None:
        mark = MAILBOX.mark()
        body = {"email": client["email"], "locale": random.choice(("de", "en"))}
        # A firm's own portal names its firm; a person with accounts at several firms is always
        # asked through one, so the link is for the account this user holds.
        if POOLS.shared(client) or random.random() < 0.5:
            body["firm_id"] = client["firm_id"]
        status, _, rid = self.call("POST", "/v1/password-resets", body)
        JOURNAL.flow("self_service", account_id=client["account_id"], status=status, rid=rid)
        if status != 202:
            return
        token = self.wait_for_link(client, mark, ("reset_link", "invitation"), "self_service")
        if token:
            self.use_link(client, token, source="self_service")

    @task(2)
    def unknown_address(self) -> None:
        address = f"nobody-{secrets.token_hex(6)}@unknown.example.net"
        status, _, rid = self.call("POST", "/v1/password-resets", {"email": address})
        JOURNAL.flow("self_service", account_id=None, status=status, rid=rid)

    @task(1)
    def made_up_token(self) -> None:
        self.verify(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class StaffLink:
    """What a staff member asks for a client: a reset link or an invitation."""

    route: str  # after /v1/accounts/{account_id}/
    flow: str  # the journal's name for the request
    id_key: str  # the answer's id of the link
    kinds: tuple[str, ...]  # the mails that may carry it
    source: str  # whose link it is, for the journal
    followed: float  # how often the client uses it

    def path(self, account_id: str) -> str:
        return f"/v1/accounts/{account_id}/{self.route}"


RESET_LINK = StaffLink("password-reset", "staff_send", "reset_id", ("reset_link", "invitation"), "staff", 0.7)
INVITATION = StaffLink("invitation", "staff_invitation", "invitation_id", ("invitation",), "invitation", 1.0)


class StaffUser(ApiUser):
    weight = 7

    def on_start(self) -> None:
        super().on_start()
        self.firm, self.staff = POOLS.next_staff()
        self.session: str | None = None

    def signed_in(self) -> str | None:
        if self.session is None:
            status, document, _ = self.call(
                "POST", "/v1/sessions", {"email": self.staff["email"], "password": self.staff["password"]}
            )
            if status == 201:
                self.session = document["session"]["token"]
        return self.session

    def staff_call(self, method: str, path: str, name: str) -> tuple[int, Any, str]:
        token = self.signed_in()
        if token is None:
            return 0, None, ""
        status, document, rid = self.call(method, path, name=name, token=token)
        if status == 401:
            self.session = None
        return status, document, rid

    def ask_for(self, link: StaffLink, account_id: str, **journal: Any) -> int:
        """Ask for ``link`` for the account; the request goes into the journal as ``link.flow``."""
        status, document, rid = self.staff_call(
            "POST", link.path(account_id), f"POST {link.path('{account_id}')}"
        )
        reset_id = (document or {}).get(link.id_key) if status == 202 else None
        JOURNAL.flow(link.flow, account_id=account_id, status=status, rid=rid, reset_id=reset_id, **journal)
        return status

    def send_and_follow(self, link: StaffLink, client: dict[str, Any]) -> None:
        """Ask for ``link``, wait for its mail and (mostly) use it as the client would."""
        try:
            mark = MAILBOX.mark()
            if self.ask_for(link, client["account_id"]) != 202:
                return
            token = self.wait_for_link(client, mark, link.kinds, link.source)
            if token and (link.followed >= 1 or random.random() < link.followed):
                self.use_link(client, token, source=link.source)
        finally:
            POOLS.give_back(client)

    def deliveries_of(self, account_id: str) -> None:
        path = f"/v1/accounts/{account_id}/password-reset/deliveries"
        self.staff_call("GET", path, "GET /v1/accounts/{account_id}/password-reset/deliveries")

    @task(4)
    def send_reset(self) -> None:
        client = POOLS.take_client(self.firm["firm_id"])
        if client is not None:
            self.send_and_follow(RESET_LINK, client)

    @task(1)
    def invite(self) -> None:
        client = POOLS.take_without_password(self.firm["firm_id"])
        if client is None:
            client = POOLS.take_client(self.firm["firm_id"])  # has a password: 409 password_already_set
        if client is not None:
            self.send_and_follow(INVITATION, client)

    @task(1)
    def send_to_simulator(self) -> None:
        """Mail to SES's mailbox simulator: a bounce marks the address undeliverable (the next send
        answers 409 with a diagnosis), a complaint marks it complained; the timeline shows it."""
        simulated = POOLS.simulator.get(self.firm["firm_id"]) or []
        if not simulated:
            return
        target = random.choice(simulated)
        self.ask_for(RESET_LINK, target["account_id"], simulator=True)
        self.deliveries_of(target["account_id"])

    @task(2)
    def deliveries(self) -> None:
        clients = self.firm["clients"] or self.firm["simulator"]
        if clients:
            self.deliveries_of(random.choice(clients)["account_id"])

    @task(1)
    def who_am_i(self) -> None:
        self.staff_call("GET", CURRENT_SESSION, f"GET {CURRENT_SESSION}")


class PortalUser(ApiUser):
    weight = 3

    @task(4)
    @with_a_client
    def sign_in_change_sign_out(self, client: dict[str, Any]) -> None:
        body = {"email": client["email"], "password": client["password"], "firm_id": client["firm_id"]}
        status, document, _ = self.call("POST", "/v1/sessions", body)
        if status != 201:
            return
        session = document["session"]["token"]
        self.call("GET", CURRENT_SESSION, token=session)
        others = [a for a in document.get("accounts", []) if a.get("account_id") != client["account_id"]]
        if others:
            # The login's other firm, and back: the change below then acts as this user's account.
            switch = "/v1/sessions/current/account"
            self.call("PUT", switch, {"account_id": random.choice(others)["account_id"]}, token=session)
            self.call("PUT", switch, {"account_id": client["account_id"]}, token=session)
        if random.random() < 0.5:
            session = self.change_password(client, session)
        self.call("DELETE", CURRENT_SESSION, token=session)

    def change_password(self, client: dict[str, Any], session: str) -> str:
        """Change the password while signed in; returns the session to go on with (the new one)."""
        password = new_password()
        change = "/v1/sessions/current/password"
        body = {"current_password": client["password"], "new_password": password}
        status, document, rid = self.call("POST", change, body, token=session)
        if status == 200:
            client["password"] = password
            JOURNAL.flow("changed_in_portal", account_id=client["account_id"])
            old, session = session, document["session"]["token"]
            answer = self.call("GET", CURRENT_SESSION, token=old)
            if answer[0] == 200:
                why = "the session before a password change still works"
                JOURNAL.wrong_answer(f"GET {CURRENT_SESSION}", 200, why, [answer])
        elif status == 401 and self.call("GET", CURRENT_SESSION, token=session)[0] == 200:
            why = "the change answered 401 but the session still works"
            JOURNAL.wrong_answer(f"POST {change}", 401, why, [(status, document, rid)])
        return session

    @task(1)
    def wrong_password(self) -> None:
        address = f"nobody-{secrets.token_hex(4)}@unknown.example.net"
        self.call("POST", "/v1/sessions", {"email": address, "password": new_password()})


class CrmUser(ApiUser):
    weight = 2

    def on_start(self) -> None:
        super().on_start()
        from devstack.seed import key_pair, load_demo_data

        self.key = key_pair(load_demo_data())
        self.firms = POOLS.firms

    def signed(self, method: str, path: str, name: str, body: Any = None) -> tuple[int, Any, str]:
        from devstack.seed import signed_headers

        raw = json.dumps(body).encode("utf-8") if body is not None else b""
        extra = {"Content-Type": "application/json"} if body is not None else {}
        headers = signed_headers(self.key, method, f"{self.host}{path}", raw, extra)
        return self.answered(method, path, name, data=raw.decode("utf-8") or None, headers=headers)

    def account(self, method: str, account_id: str, body: Any = None) -> int:
        """The CRM's call of ``method`` on the account ``account_id``; its status."""
        path = f"/v1/admin/accounts/{account_id}"
        return self.signed(method, path, f"{method} /v1/admin/accounts/{{account_id}}", body)[0]

    def new_account(self, account_id: str, name: str, **fields: Any) -> tuple[dict[str, Any], int]:
        """A new client of a firm the CRM picks: (the PUT's body, the PUT's status)."""
        body = {
            "firm_id": random.choice(self.firms)["firm_id"],
            "role": "client",
            "email": f"{account_id}@crm.load.example.com",
            "name": name,
            **fields,
        }
        return body, self.account("PUT", account_id, body)

    @task(2)
    def update_firm(self) -> None:
        firm = random.choice(self.firms)
        self.signed(
            "PUT",
            f"/v1/admin/firms/{firm['firm_id']}",
            "PUT /v1/admin/firms/{firm_id}",
            {"name": firm["name"], "locale": "de"},
        )

    @task(3)
    def new_client(self) -> None:
        account_id = f"acc-crm-{secrets.token_hex(5)}"
        body, status = self.new_account(
            account_id,
            f"Neukunde {account_id[-5:]}",
            locale=random.choice(("de", "en")),
            send_invitation=random.random() < 0.5,
        )
        if status == 201:
            self.account("PUT", account_id, body)
            self.account("GET", account_id)
            POOLS.without_password.setdefault(body["firm_id"], deque()).append(
                {"account_id": account_id, "email": body["email"], "role": "client"}
            )

    @task(1)
    def erase_throwaway(self) -> None:
        account_id = f"acc-gone-{secrets.token_hex(5)}"
        body, status = self.new_account(account_id, "Wird Geloescht")
        if status == 201:
            # A new address first: the CRM hears of it (EmailChanged), then of nothing more.
            self.account("PUT", account_id, {**body, "email": f"{account_id}@moved.load.example.com"})
            self.account("DELETE", account_id)
            self.account("GET", account_id)


class PageUser(ApiUser):
    weight = 2
    assets: ClassVar[list[str]] = []

    def page(self, path: str, name: str | None = None) -> str:
        with self.client.get(path, name=name or f"GET {path}", catch_response=True) as response:
            text = response.text or ""
            response.success()
        return text

    @task(3)
    def reset_page(self) -> None:
        text = self.page("/reset")
        if not PageUser.assets:
            PageUser.assets = sorted(set(re.findall(r"/?reset/assets/([A-Za-z0-9._-]+)", text))) or [
                "reset.js"
            ]
        for name in PageUser.assets:
            self.page(f"/reset/assets/{name}", "GET /reset/assets/{name}")

    @task(1)
    def openapi(self) -> None:
        self.page("/v1/openapi.json")
