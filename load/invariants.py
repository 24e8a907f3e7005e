"""What must hold after a load run, checked from the stack's own state: moto's tables and queues
(read with boto3 on ``--moto-port``) and the dev mailbox, plus what the load users wrote down
(which links they confirmed, which self-service requests were accepted).

:func:`collect` takes a :class:`Snapshot`; :func:`check` runs every check over it and returns one
:class:`CheckResult` each. The checks are pure functions of the snapshot, so a test can plant a
violation in a real snapshot (or in the tables it is read from) and see the check catch it.

The checks rely on what the service writes, not on how it gets there: the accounts and the logins
their addresses share (a login's password version, lock and address verdict; its memberships say
which firms it has active accounts at), a token per link (status
``issued``/``used``/``send_failed``, a ``reset_id``), a ``reset_requested`` and a
``password_changed`` event per link and per change, mails tagged ``kind`` and ``reset_id`` (every
mail to an account holder: links, and the holder's notices) and ``event_id`` (notices), one
delivery timeline per ``reset_id``, and on the CRM's event bus (as ``GET /_dev/events.json`` lists
it) one event per change, its ``detail.event_id`` the audit event's id. Whether links are issued in
the HTTP handler
or by a queue-triggered function later makes no difference to them; :func:`settle` waits until the
stack has finished what it started (no invocation running, no queue holding a message, no
simulated SES event in flight, no new mail) before anything is read.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from devstack.template import SamTemplate
from load.client import Stack

OWNER_MAIL = "password_changed_owner"  # pwreset.credentials.notifications
HOLDER_MAIL = "password_changed_holder"
# An owner hears of one login's changes at most once in this long (the same module's
# OWNER_MAIL_COALESCE_SECONDS): a change inside it sends that owner no mail of its own.
OWNER_MAIL_COALESCE_S = 600
LINK_KINDS = ("reset_link", "invitation")  # pwreset.credentials.links.MAIL_TEMPLATES
SIMULATOR = "simulator.amazonses.com"
# The tokens these checks are about; any other purpose (say, an "it wasn't me" lock link) is not.
LINK_PURPOSES = ("reset", "invitation")
QUIET_S = 3.0  # the stream poller looks every 0.25 s: this many quiet seconds mean it found nothing
# The CRM's event for each audit event it hears of (pwreset.crm.events); an account_provisioned
# only when it changed the address of an account that existed.
CRM_DETAIL_TYPES = {
    "password_changed": "PasswordChanged",
    "account_locked": "AccountLocked",
    "email_undeliverable": "EmailUndeliverable",
    "account_provisioned": "EmailChanged",
}


# ---------------------------------------------------------------------------------------- snapshot
@dataclass
class DeadLetter:
    queue: str  # logical id of the dead-letter queue
    message_id: str
    body: Any  # parsed JSON when it is JSON, else the text
    # For a stream's on-failure record: the records of the batch, read back from the stream
    # (None when they could not be read).
    stream_records: list[dict[str, Any]] | None = None
    # "stream" (a stream batch's position), "queue" (an event-source queue's message) or "event"
    # (an event for the CRM the bus kept refusing, parked as its PutEvents entry)
    source: str = ""


@dataclass
class Snapshot:
    accounts: dict[str, dict[str, Any]]
    tokens: list[dict[str, Any]]
    events: list[dict[str, Any]]
    timelines: dict[str, dict[str, Any]]
    mails: list[dict[str, Any]]  # oldest first: id, to, tags, sent_at
    dead_letters: list[DeadLetter] = field(default_factory=list)
    queues_left: dict[str, int] = field(default_factory=dict)  # event-source queues -> messages
    flows: list[dict[str, Any]] = field(default_factory=list)  # what the users wrote down
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: bool = False  # whether the run injected faults
    # The logins table: the credential items by address, and each address's memberships.
    logins: dict[str, dict[str, Any]] = field(default_factory=dict)
    memberships: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # What reached the CRM's event bus (``GET /_dev/events.json``), oldest first.
    crm_events: list[dict[str, Any]] = field(default_factory=list)

    # -------------------------------------------------------------- derived views
    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    def mails_tagged(self, name: str, *, kinds: Iterable[str] = ()) -> dict[str, list[dict[str, Any]]]:
        """The mails carrying tag ``name``, by its value; only those of ``kinds`` (their ``kind``
        tag) when given."""
        wanted = set(kinds)
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for mail in self.mails:
            tags = mail.get("tags") or {}
            value = tags.get(name)
            if value and (not wanted or tags.get("kind") in wanted):
                found[str(value)].append(mail)
        return found

    def account_by_email(self) -> dict[str, dict[str, Any]]:
        """One account per address (any, where a login has several)."""
        return {str(a.get("email")): a for a in self.accounts.values()}

    def email_status(self, address: str) -> str:
        """What SES said of an address: its login's verdict (``ok`` without a login)."""
        return str((self.logins.get(address) or {}).get("email_status", "ok"))

    def firms_of(self, address: str) -> set[str]:
        """The firms where the address's login has an active account."""
        return {
            str(m.get("firm_id"))
            for m in self.memberships.get(address, [])
            if m.get("status", "active") == "active"
        }

    def dead_lettered_events(self) -> set[str]:
        """Event ids whose stream records a dead-letter queue holds."""
        found: set[str] = set()
        for letter in self.dead_letters:
            for record in letter.stream_records or []:
                image = (record.get("dynamodb") or {}).get("NewImage") or {}
                event_id = (image.get("event_id") or {}).get("S")
                if event_id:
                    found.add(str(event_id))
        return found

    def parked_crm_events(self) -> set[str]:
        """Event ids of the events for the CRM parked as their entries (``source == "event"``)."""
        return {
            str(letter.body.get("event_id"))
            for letter in self.dead_letters
            if letter.source == "event" and isinstance(letter.body, dict)
        }

    def crm_changes(self) -> dict[str, dict[str, Any]]:
        """The audit events the CRM must hear of, by event id (see :data:`CRM_DETAIL_TYPES`)."""
        found: dict[str, dict[str, Any]] = {}
        for event in self.events:
            kind = str(event.get("type"))
            if kind not in CRM_DETAIL_TYPES:
                continue
            detail = event.get("detail") or {}
            if kind == "account_provisioned" and (
                "email" not in (detail.get("fields") or []) or detail.get("created")
            ):
                continue
            found[str(event["event_id"])] = event
        return found


def _plain(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            items.append(_plain({k: deserializer.deserialize(v) for k, v in item.items()}))
    return items


def dead_letter_queues(template: SamTemplate) -> dict[str, str]:
    """Logical id -> "stream" or "queue": every queue the template names as a stream mapping's
    on-failure destination or as an event-source queue's redrive target."""
    found: dict[str, str] = {}
    for sub in template.stream_subscriptions():
        if sub.on_failure is not None and sub.on_failure.type == "SQS":
            found[sub.on_failure.resource] = "stream"
    for queue_sub in template.queue_subscriptions():
        dead = template.dead_letter_queue(queue_sub.queue)
        if dead:
            found.setdefault(dead, "queue")
    return found


def source_queues(template: SamTemplate) -> list[str]:
    return sorted({sub.queue for sub in template.queue_subscriptions()})


def drain_budget(template: SamTemplate) -> float:
    """The longest an event-source queue can take to give up on a message: each receive that
    fails makes it wait out the visibility timeout, ``maxReceiveCount`` times, before SQS moves it
    to the dead-letter queue. Settling must be allowed at least that long."""
    longest = 0.0
    for queue in source_queues(template):
        attributes = template.queue_attributes(queue)
        visibility = float(attributes.get("VisibilityTimeout", 30))
        receives = int(json.loads(attributes.get("RedrivePolicy", "{}")).get("maxReceiveCount", 1))
        longest = max(longest, visibility * receives)
    return longest


def _queue_count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def peek(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message in a queue, left there as found (visible again at once)."""
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen.setdefault(message["MessageId"], message)
            handles.append(message["ReceiptHandle"])
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return list(seen.values())


def stream_batch(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The records of a stream batch an on-failure record names (``DDBStreamBatchInfo``), read
    back from the stream: what a redrive hands the function again."""
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
        end = int(info["endSequenceNumber"])
        records: list[dict[str, Any]] = []
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=100)
            page = response.get("Records", [])
            for record in page:
                if int(record["dynamodb"]["SequenceNumber"]) > end:
                    return records
                records.append(record)
            if not page:
                return records
            iterator = response.get("NextShardIterator")
        return records
    except Exception:  # the range is gone (trimmed) or malformed: not redrivable
        return None


def _delivered(
    template: SamTemplate, dead_letter_queue: str, records: list[dict[str, Any]] | None
) -> list[dict[str, Any]] | None:
    """Of a batch's sequence range, the records the mapping that dead-lettered it delivers: its
    ``FilterCriteria`` drop the rest (a range spans every item written meanwhile)."""
    from devstack.filters import matches_any, parse_patterns
    from devstack.streams import as_delivered

    if records is None:
        return None
    patterns = [
        parse_patterns(sub.filter_patterns)
        for sub in template.stream_subscriptions()
        if sub.on_failure is not None and sub.on_failure.resource == dead_letter_queue
    ]
    if not patterns or not all(patterns):
        return records
    return [r for r in records if any(matches_any(p, as_delivered(r)) for p in patterns)]


def collect(
    stack: Stack, template: SamTemplate, *, journal: Iterable[dict[str, Any]] = (), faults: bool = False
) -> Snapshot:
    """Read everything the checks look at. Faults must be off by now (the harness turns them off
    first), or the reads themselves would be faulted."""
    dynamodb, sqs, streams = stack.aws("dynamodb"), stack.aws("sqs"), stack.aws("dynamodbstreams")
    name = template.physical_name
    accounts = {a["account_id"]: a for a in scan(dynamodb, name("AccountsTable"))}
    logins: dict[str, dict[str, Any]] = {}
    memberships: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in scan(dynamodb, name("LoginsTable")):
        if item.get("item") == "login":
            logins[str(item["email"])] = item
        else:
            memberships[str(item["email"])].append(item)
    timelines = {t["reset_id"]: t for t in scan(dynamodb, name("DeliveryEventsTable"))}
    mails = [
        {"id": m["id"], "to": m["to"], "tags": m.get("tags") or {}, "sent_at": m.get("sent_at")}
        for m in stack.mail()
    ]
    letters: list[DeadLetter] = []
    for logical_id, source in dead_letter_queues(template).items():
        url = sqs.get_queue_url(QueueName=name(logical_id))["QueueUrl"]
        for message in peek(sqs, url):
            try:
                body: Any = json.loads(message["Body"])
            except ValueError:
                body = message["Body"]
            info = body.get("DDBStreamBatchInfo") if isinstance(body, dict) else None
            parked_entry = isinstance(body, dict) and "entry" in body and not info
            letters.append(
                DeadLetter(
                    queue=logical_id,
                    message_id=message["MessageId"],
                    body=body,
                    stream_records=_delivered(template, logical_id, stream_batch(streams, info))
                    if info
                    else None,
                    source="event" if parked_entry else source,
                )
            )
    queues_left = {
        q: _queue_count(sqs, sqs.get_queue_url(QueueName=name(q))["QueueUrl"])
        for q in source_queues(template)
    }
    entries = list(journal)
    return Snapshot(
        accounts=accounts,
        tokens=[
            t for t in scan(dynamodb, name("ResetTokensTable")) if t.get("purpose", "reset") in LINK_PURPOSES
        ],
        events=scan(dynamodb, name("EventsTable")),
        timelines=timelines,
        mails=mails,
        dead_letters=letters,
        queues_left=queues_left,
        flows=[e for e in entries if e.get("type") == "flow"],
        requests=[e for e in entries if e.get("type") == "req"],
        faults=faults,
        logins=logins,
        memberships=dict(memberships),
        crm_events=list(reversed(stack.request("GET", "/_dev/events.json").json()["events"])),
    )


def read_journal(*paths: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for path in paths:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    entries.append(json.loads(line))
    return entries


# ---------------------------------------------------------------------------------------- settle
@dataclass
class Settled:
    ok: bool
    waited_s: float
    pending: str  # what was still going on when the wait gave up ("" when settled)


def settle(stack: Stack, template: SamTemplate, *, timeout: float = 180.0) -> Settled:
    """Wait until the stack has finished what the run started: no invocation running or waiting
    (API, stream, queue), no message in an event-source queue (in flight included: a failed one
    comes back after its visibility timeout), no simulated SES event being posted, and no new mail,
    all for :data:`QUIET_S` seconds on end. Reads neither DynamoDB nor anything faults touch."""
    sqs = stack.aws("sqs")
    urls = {
        q: sqs.get_queue_url(QueueName=template.physical_name(q))["QueueUrl"] for q in source_queues(template)
    }
    started = time.monotonic()
    quiet_since: float | None = None
    last_mail = -1
    pending = ""
    while time.monotonic() - started < timeout:
        status = stack.load_status()
        queued = {q: _queue_count(sqs, url) for q, url in urls.items()}
        busy = {k: v for k, v in queued.items() if v}
        pending = ", ".join(
            part
            for part in (
                f"running: {status['busy']}" if status["busy"] else "",
                f"queued: {busy}" if busy else "",
                f"SES events in flight: {status['ses_event_threads']}" if status["ses_event_threads"] else "",
            )
            if part
        )
        now = time.monotonic()
        if pending or status["mail"] != last_mail:
            quiet_since = None
            last_mail = status["mail"]
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= QUIET_S:
            return Settled(True, now - started, "")
        time.sleep(0.25)
    return Settled(False, time.monotonic() - started, pending or "mail still arriving")


# ---------------------------------------------------------------------------------------- checks
@dataclass
class CheckResult:
    name: str
    claim: str  # what must hold, in one line
    checked: int  # how many items it looked at
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def invariant(
    name: str,
) -> Callable[[Callable[[Snapshot, CheckResult], None]], Callable[[Snapshot], CheckResult]]:
    """A check of the invariant ``name``, whose docstring is the claim it checks (what must hold,
    one line of the report): it gets the snapshot and the result to add its failures and notes to,
    and counts in ``checked`` what it looked at."""

    def register(check: Callable[[Snapshot, CheckResult], None]) -> Callable[[Snapshot], CheckResult]:
        claim = " ".join((check.__doc__ or "").split())

        @functools.wraps(check)
        def run(snap: Snapshot) -> CheckResult:
            result = CheckResult(name, claim, checked=0)
            check(snap, result)
            return result

        return run

    return register


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _short(identifier: Any) -> str:
    return str(identifier)[:12]


@invariant("links_used_once")
def check_links_used_once(snap: Snapshot, result: CheckResult) -> None:
    """every confirmed link was used exactly once: one password_changed event per used link, no link
    confirmed twice"""
    changes_by_reset: Counter[str] = Counter(
        str(e["detail"]["reset_id"])
        for e in snap.events_of("password_changed")
        if (e.get("detail") or {}).get("reset_id")
    )
    tokens_by_digest = {t["token_hash"]: t for t in snap.tokens}
    for token in snap.tokens:
        result.checked += 1
        changes = changes_by_reset.get(str(token["reset_id"]), 0)
        if token.get("status") == "used" and changes != 1:
            result.failures.append(
                f"link {_short(token['reset_id'])} is used but has {changes} password_changed events"
            )
        elif token.get("status") != "used" and changes:
            result.failures.append(
                f"link {_short(token['reset_id'])} is {token.get('status')} "
                f"but changed the password {changes} time(s)"
            )
    confirmed = Counter(f["digest"] for f in snap.flows if f.get("event") == "confirmed")
    for token_digest, count in confirmed.items():
        record = tokens_by_digest.get(token_digest)
        if count > 1:
            result.failures.append(f"link {_short(token_digest)} was confirmed {count} times (200 each)")
        if record is None:
            result.failures.append(f"a confirmed link ({_short(token_digest)}) has no token record")
        elif record.get("status") != "used":
            result.failures.append(
                f"a confirmed link ({_short(record['reset_id'])}) is {record.get('status')}, not used"
            )
    result.notes.append(f"{sum(confirmed.values())} confirms answered 200 for {len(confirmed)} links")


def _expected_notifications(snap: Snapshot, event: dict[str, Any]) -> tuple[dict[str, str], set[str]]:
    """(address -> the mail kind it must get, addresses that may get none): the active owners of
    the event's firm and of every other firm where the holder's login has an active account, other
    than the holder's own login, get the owner mail; the holder gets the holder mail, once; an
    address SES condemned (or an account no longer active) is skipped by the service, so for those
    one mail or none is right (the verdict may have come after the mail)."""
    holder = snap.accounts.get(str(event["account_id"]))
    expected: dict[str, str] = {}
    excused: set[str] = set()
    if holder is None:
        return expected, excused
    address = str(holder["email"])
    firms = {str(event.get("firm_id"))} | snap.firms_of(address)
    for account in snap.accounts.values():
        if (
            account.get("firm_id") in firms
            and account.get("role") == "owner"
            and account.get("email") != address
            and account.get("status") == "active"
        ):
            expected[str(account["email"])] = OWNER_MAIL
    expected[address] = HOLDER_MAIL
    for reader_address in expected:
        reader = snap.account_by_email().get(reader_address) or {}
        if snap.email_status(reader_address) != "ok" or reader.get("status") != "active":
            excused.add(reader_address)
    return expected, excused


@invariant("notifications_once")
def check_notifications(snap: Snapshot, result: CheckResult) -> None:
    """every password change mailed each owner of every firm of the holder's login (other than the
    holder) once and the holder once: none lost, none twice (events whose stream records are in a
    dead-letter queue are counted under dead_letters_accounted; an owner already mailed about the
    same login within ten minutes is not mailed again, issue #24.3)"""
    mails = snap.mails_tagged("event_id")
    parked = snap.dead_lettered_events()
    owner_mailed = _owner_mails_per_login(snap, mails)
    for event in snap.events_of("password_changed"):
        result.checked += 1
        event_id = str(event["event_id"])
        got: Counter[tuple[str, str]] = Counter()
        for mail in mails.get(event_id, []):
            for to in mail["to"]:
                got[(to, str(mail["tags"].get("kind")))] += 1
        if str(event["account_id"]) not in snap.accounts:
            result.notes.append(f"event {_short(event_id)}: account erased since, not checked")
            continue
        expected, excused = _expected_notifications(snap, event)
        for (to, kind), count in got.items():
            if count > 1:
                result.failures.append(
                    f"event {_short(event_id)}: {kind} mailed {count} times to one recipient"
                )
            if expected.get(to) != kind:
                result.failures.append(
                    f"event {_short(event_id)}: an unexpected {kind} mail (not a recipient of it)"
                )
        login = str(snap.accounts[str(event["account_id"])].get("email"))
        for to, kind in expected.items():
            if got.get((to, kind), 0) or to in excused or event_id in parked:
                continue
            if kind == OWNER_MAIL and _coalesced(owner_mailed.get((to, login), []), _time(event.get("at"))):
                continue  # the owner heard of the same login's change moments before
            result.failures.append(f"event {_short(event_id)}: the {kind} mail never went out")


def _owner_mails_per_login(
    snap: Snapshot, mails: dict[str, list[dict[str, Any]]]
) -> dict[tuple[str, str], list[datetime]]:
    """When each owner was mailed about each login's changes: (owner, login) -> the changes' times."""
    mailed: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for event in snap.events_of("password_changed"):
        account = snap.accounts.get(str(event["account_id"]))
        at = _time(event.get("at"))
        if account is None or at is None:
            continue
        for mail in mails.get(str(event["event_id"]), []):
            if mail["tags"].get("kind") == OWNER_MAIL:
                for to in mail["to"]:
                    mailed[(to, str(account.get("email")))].append(at)
    return mailed


def _coalesced(mailed_at: list[datetime], at: datetime | None) -> bool:
    """Whether an owner mail about another change of the login went out within the coalescing
    window of this change (either side: stream shards need not deliver in the changes' order)."""
    return at is not None and any(abs((at - t).total_seconds()) < OWNER_MAIL_COALESCE_S for t in mailed_at)


@invariant("records_whole")
def check_records_whole(snap: Snapshot, result: CheckResult) -> None:
    """no record half-written: each password change bumped its login's version once and used its link
    in the same write; each link has its reset_requested event and each such event its link; each sent
    link mail's message id is on its link"""
    tokens_by_reset = {str(t["reset_id"]): t for t in snap.tokens}
    changes = snap.events_of("password_changed")
    # A change through any account of a login is the login's: counted by the account's address.
    per_login: Counter[str] = Counter(
        str(snap.accounts[str(e["account_id"])]["email"])
        for e in changes
        if str(e["account_id"]) in snap.accounts
    )
    for event in changes:
        result.checked += 1
        detail = event.get("detail") or {}
        if detail.get("change") in ("reset", "invitation"):
            token = tokens_by_reset.get(str(detail.get("reset_id")))
            if token is None:
                if str(event["account_id"]) in snap.accounts:
                    result.failures.append(f"event {_short(event['event_id'])}: its link is missing")
            elif token.get("status") != "used" or _time(token.get("used_at")) != _time(event.get("at")):
                result.failures.append(
                    f"event {_short(event['event_id'])}: its link {_short(token['reset_id'])} is "
                    f"{token.get('status')}, used_at {token.get('used_at')} (event at {event.get('at')})"
                )
    addresses = {str(a.get("email")) for a in snap.accounts.values()}
    for address, login in snap.logins.items():
        if address not in addresses:
            continue  # its accounts erased since: the login goes with the last
        result.checked += 1
        version = int(login.get("password_version") or 0)
        if version != per_login.get(address, 0):
            result.failures.append(
                f"login {_short(address)}: password_version {version}, but {per_login.get(address, 0)} "
                "password_changed events"
            )
    requested: Counter[str] = Counter(
        str((e.get("detail") or {}).get("reset_id")) for e in snap.events_of("reset_requested")
    )
    for token in snap.tokens:
        result.checked += 1
        count = requested.get(str(token["reset_id"]), 0)
        if count != 1:
            result.failures.append(f"link {_short(token['reset_id'])}: {count} reset_requested events")
    requesters = {
        str((e.get("detail") or {}).get("reset_id")): str(e["account_id"])
        for e in snap.events_of("reset_requested")
    }
    for reset_id in requested:
        if reset_id not in tokens_by_reset and requesters[reset_id] in snap.accounts:
            result.failures.append(f"reset_requested event for link {_short(reset_id)} without its link")
    sent = snap.mails_tagged("reset_id", kinds=LINK_KINDS)
    for token in snap.tokens:
        mails = sent.get(str(token["reset_id"]), [])
        if mails and token.get("ses_message_id") not in {m["id"] for m in mails}:
            result.failures.append(
                f"link {_short(token['reset_id'])}: its mail went out but the message id is not on the link"
            )


@invariant("links_mailed_or_reported")
def check_links_mailed(snap: Snapshot, result: CheckResult) -> None:
    """no link issued without its mail: every issued or used link was mailed exactly once; a link whose
    mail SES refused is marked send_failed (staff see it as failed) and was not mailed"""
    sent = snap.mails_tagged("reset_id", kinds=LINK_KINDS)
    for token in snap.tokens:
        result.checked += 1
        count = len(sent.get(str(token["reset_id"]), []))
        status = token.get("status")
        if status in ("issued", "used") and count != 1:
            result.failures.append(f"link {_short(token['reset_id'])} ({status}) was mailed {count} times")
        elif status == "send_failed" and count:
            result.failures.append(
                f"link {_short(token['reset_id'])} is send_failed but was mailed {count} times"
            )
    known = {str(t["reset_id"]) for t in snap.tokens}
    requested = {str((e.get("detail") or {}).get("reset_id")) for e in snap.events_of("reset_requested")}
    for reset_id in sent:
        if reset_id not in known and reset_id not in requested:
            result.failures.append(f"a link mail ({_short(reset_id)}) has neither a link nor an event")


def _expected_ses_events(address: str) -> Counter[str]:
    local, _, domain = address.lower().partition("@")
    scenario = local.split("+", 1)[0] if domain == SIMULATOR else "success"
    if scenario in ("bounce", "suppressionlist"):
        return Counter({"send": 1, "bounce": 1})
    if scenario == "complaint":
        return Counter({"send": 1, "delivery": 1, "complaint": 1})
    return Counter({"send": 1, "delivery": 1})


@invariant("ses_events_recorded")
def check_ses_events(snap: Snapshot, result: CheckResult) -> None:
    """every SES event of every mail to an account holder (links, invitations, notices) is on its
    delivery timeline exactly once (SNS retries included), and bounces and complaints marked the
    address"""
    events = {str(e["event_id"]) for e in snap.events}
    for reset_id, mails in snap.mails_tagged("reset_id").items():
        mail = mails[0]
        address = mail["to"][0]
        event_id = mail["tags"].get("event_id")
        if event_id is not None and str(event_id) not in events:
            continue  # a notice of an event the table no longer holds (a test's plant, undone)
        if address not in snap.account_by_email():
            continue  # erased: its timeline went with it
        result.checked += 1
        timeline = snap.timelines.get(reset_id) or {}
        entries = [json.loads(e) for e in timeline.get("events") or []]
        keys = Counter(str(e.get("key")) for e in entries)
        for key, count in keys.items():
            if count > 1:
                result.failures.append(
                    f"link {_short(reset_id)}: event {key.split('|', 1)[0]} recorded {count} times"
                )
        got = Counter(str(e.get("type")) for e in {str(e.get("key")): e for e in entries}.values())
        wanted = _expected_ses_events(address)
        if got != wanted:
            result.failures.append(
                f"link {_short(reset_id)}: timeline has {dict(got)}, SES sent {dict(wanted)}"
            )
    for account in snap.accounts.values():
        address = str(account.get("email"))
        if not address.endswith(f"@{SIMULATOR}"):
            continue
        scenario = address.split("@")[0].split("+")[0]
        mailed = any(address in m["to"] for m in snap.mails)
        want = {"bounce": "undeliverable", "complaint": "complained"}.get(scenario)
        if mailed and want and snap.email_status(address) != want:
            result.failures.append(
                f"account {account['account_id']}: its login's email_status {snap.email_status(address)}, "
                f"not {want}"
            )


@invariant("dead_letters_accounted")
def check_dead_letters(snap: Snapshot, result: CheckResult) -> None:
    """the dead-letter queues are empty; with faults, every message in them names records the stream
    still holds, of events the events table still holds (so a redrive can send what is missing), or a
    request the run made"""
    result.checked = len(snap.dead_letters)
    events = {str(e["event_id"]): e for e in snap.events}
    identifiers = {str(a) for a in snap.accounts} | {str(a.get("email")) for a in snap.accounts.values()}
    mails = snap.mails_tagged("event_id")
    for letter in snap.dead_letters:
        where = f"{letter.queue} message {_short(letter.message_id)}"
        if not snap.faults:
            result.failures.append(f"{where}: a dead letter in a run without faults")
        if letter.source == "event":
            body = letter.body if isinstance(letter.body, dict) else {}
            event_id = str(body.get("event_id"))
            if event_id not in snap.crm_changes():
                result.failures.append(f"{where}: an event for the CRM ({_short(event_id)}) of no change")
            else:
                result.notes.append(
                    f"{where}: {body.get('detail_type')} {_short(event_id)} refused "
                    f"{body.get('attempts')} times ({body.get('error_code')}); redrive: put its entry "
                    "on the bus again (aws events put-events)"
                )
            continue
        if letter.source == "stream":
            if letter.stream_records is None:
                result.failures.append(f"{where}: its stream records can no longer be read (not redrivable)")
                continue
            for record in letter.stream_records:
                image = (record.get("dynamodb") or {}).get("NewImage") or {}
                event_id = str((image.get("event_id") or {}).get("S"))
                if event_id not in events:
                    result.failures.append(f"{where}: event {_short(event_id)} is not in the events table")
                    continue
                if events[event_id].get("type") not in ("password_changed", "account_locked"):
                    result.notes.append(
                        f"{where}: event {_short(event_id)} ({events[event_id].get('type')}): "
                        "redrivable: its records are still in the stream and the event in the table"
                    )
                    continue
                sent = {(to, str(m["tags"].get("kind"))) for m in mails.get(event_id, []) for to in m["to"]}
                expected, _ = _expected_notifications(snap, events[event_id])
                missing = Counter(kind for to, kind in expected.items() if (to, kind) not in sent)
                result.notes.append(
                    f"{where}: event {_short(event_id)} ({events[event_id].get('type')}): "
                    f"{len(sent)} of {len(expected)} mails sent, missing "
                    f"{', '.join(f'{k}×{n}' for k, n in sorted(missing.items())) or 'none'}; "
                    "redrivable: its records are still in the stream and the event in the table"
                )
        else:
            named = _strings(letter.body) & identifiers
            if not named:
                result.failures.append(f"{where}: names no account or address of this run")
            else:
                result.notes.append(
                    f"{where}: a request for {len(named)} known account(s); redrive: "
                    "aws sqs start-message-move-task --source-arn <dead-letter queue ARN>"
                )


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        try:
            return _strings(json.loads(value)) | {value}
        except ValueError:
            return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


@invariant("queues_drained")
def check_queues_drained(snap: Snapshot, result: CheckResult) -> None:
    """every event-source queue is empty once the run settled"""
    result.checked = len(snap.queues_left)
    for queue, count in snap.queues_left.items():
        if count:
            result.failures.append(f"{queue} still holds {count} message(s)")


@invariant("self_service_accounted")
def check_self_service(snap: Snapshot, result: CheckResult) -> None:
    """every accepted self-service request for a known client issued one link (no request lost, none
    doubled); none for an unknown address mailed anything"""
    accepted: Counter[str] = Counter()
    answered_5xx: Counter[str] = Counter()
    for flow in snap.flows:
        if flow.get("event") != "self_service" or not flow.get("account_id"):
            continue
        if flow.get("status") == 202:
            accepted[str(flow["account_id"])] += 1
        elif int(flow.get("status") or 0) >= 500 or not flow.get("status"):
            answered_5xx[str(flow["account_id"])] += 1
    # A link whose mail SES refused is reported to staff as send_failed (links_mailed_or_reported)
    # and was never seen by anyone; the queue's retry of that request issues the one that counts.
    self_service = [t for t in snap.tokens if t.get("requested_by") is None]
    issued: Counter[str] = Counter(
        str(t["account_id"]) for t in self_service if t.get("status") != "send_failed"
    )
    refused = sum(1 for t in self_service if t.get("status") == "send_failed")
    if refused:
        result.notes.append(f"{refused} self-service links whose mail SES refused (send_failed), retried")
    parked: Counter[str] = Counter()
    for letter in snap.dead_letters:
        if letter.source == "queue":
            for value in _strings(letter.body):
                account = snap.accounts.get(value) or snap.account_by_email().get(value)
                if account:
                    parked[str(account["account_id"])] += 1
    for account_id in set(accepted) | set(issued):
        result.checked += 1
        low = accepted[account_id] - parked[account_id]
        high = accepted[account_id] + answered_5xx[account_id]
        if not low <= issued[account_id] <= high:
            result.failures.append(
                f"account {account_id}: {accepted[account_id]} requests accepted, {answered_5xx[account_id]} "
                f"answered 5xx, {parked[account_id]} dead-lettered, "
                f"but {issued[account_id]} self-service links"
            )
    strays = [m for m in snap.mails if any(to.endswith("@unknown.example.net") for to in m["to"])]
    if strays:
        result.failures.append(f"{len(strays)} mails went to unknown addresses")
    waited = [f for f in snap.flows if f.get("event") == "no_link"]
    for flow in waited:
        result.notes.append(
            f"account {flow['account_id']}: no {flow['source']} link within {flow['waited_s']} s"
        )


@invariant("crm_events_once")
def check_crm_events(snap: Snapshot, result: CheckResult) -> None:
    """every change the CRM hears of (password changed, account locked, address condemned, address
    changed) reached its event bus once after deduplication on event_id, or is parked in the
    dead-letter queue; no event without its change"""
    changes = snap.crm_changes()
    parked = snap.parked_crm_events() | snap.dead_lettered_events()
    put: Counter[str] = Counter()
    for event in snap.crm_events:
        detail = event.get("detail") or {}
        event_id = str(detail.get("event_id"))
        put[event_id] += 1
        change = changes.get(event_id)
        if change is None:
            result.failures.append(
                f"{event.get('detail_type')} {_short(event_id)}: no change of the run made it"
            )
        elif (event.get("detail_type"), detail.get("account_id")) != (
            CRM_DETAIL_TYPES[str(change["type"])],
            change["account_id"],
        ):
            result.failures.append(
                f"event {_short(event_id)}: {event.get('detail_type')} for the wrong change"
            )
    for event_id in changes:
        result.checked += 1
        if not put[event_id] and event_id not in parked:
            result.failures.append(
                f"{changes[event_id]['type']} {_short(event_id)}: never reached the bus, and is not parked"
            )
    by_type = Counter(CRM_DETAIL_TYPES[str(c["type"])] for c in changes.values())
    once = sum(1 for event_id in changes if put[event_id])
    waiting = sum(1 for event_id in changes if not put[event_id] and event_id in parked)
    result.notes.append(
        f"{len(changes)} changes ({', '.join(f'{k} {v}' for k, v in sorted(by_type.items())) or 'none'}): "
        f"{once} published once after deduplication on event_id, {waiting} parked in the dead-letter "
        f"queue; {sum(put.values())} events on the bus, {sum(put.values()) - len(put)} of them duplicates"
    )


CHECKS: tuple[Callable[[Snapshot], CheckResult], ...] = (
    check_links_used_once,
    check_notifications,
    check_records_whole,
    check_links_mailed,
    check_ses_events,
    check_dead_letters,
    check_queues_drained,
    check_self_service,
    check_crm_events,
)


def check(snap: Snapshot) -> list[CheckResult]:
    return [run(snap) for run in CHECKS]
