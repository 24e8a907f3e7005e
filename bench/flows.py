"""The flows the bench measures, each one definition: which function serves it, how to make its
event, how to tell it worked, which raw-boto3 function is its baseline and which AWS calls it needs
at the least (with the reason for each).

Adding a flow is one more ``Flow`` in ``FLOWS`` plus one function in ``baseline.py`` (and, if its
event needs state, a helper on ``bench.stack.Fixture``). Whatever a flow needs beyond an event
(tables emptied before each request, extra environment, packages the baseline must ship, a check
of the state it leaves) is a field here, so the harness has no special cases.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.stack import BREACHED_CHECK_DELAY_S, GROWING_TABLES

if TYPE_CHECKING:
    from bench.stack import Fixture

# The demo accounts each flow acts on (local/demo_data.json). Different accounts per flow, so that
# one flow's writes (a confirm bumps the password version) never change another flow's path.
SELF_SERVICE_ACCOUNT = "acc-berger-client-anna"
STAFF_PRINCIPAL = "acc-berger-owner"
STAFF_TARGET = "acc-berger-client-anna"
VERIFY_ACCOUNT = "acc-berger-client-james"
CONFIRM_ACCOUNT = "acc-hartmann-client-maria"
SIGN_IN_ACCOUNT = "acc-berger-client-anna"
# Berger's firm has exactly one owner (Petra Berger), so a password change there is two mails.
NOTIFY_ACCOUNT = "acc-berger-client-anna"
NOTIFY_OWNERS = ("acc-berger-owner",)
# SES's bounce simulator address; no other flow uses the account, so marking it changes no path.
BOUNCE_ACCOUNT = "acc-berger-client-bounce"
# Its firm's CRM renames it on every request (an update that revokes nothing); no other flow reads it.
PROVISIONED_ACCOUNT = "acc-berger-client-complaint"
# Signed in, changes the password on every request; no other flow uses the account.
CHANGE_PASSWORD_ACCOUNT = "acc-hartmann-member"
# Locked from a lock link on every request: the bench's own client (bench.stack.BENCH_ACCOUNTS),
# since a lock changes the path of every flow that uses the account.
LOCK_ACCOUNT = "acc-hartmann-client-lock"
NEW_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Call:
    """One AWS API call a flow cannot do without."""

    operation: str  # "<service>.<Operation>", as botocore names them
    target: str  # table(s) or resource, for the reader
    why: str


@dataclass(frozen=True)
class Flow:
    name: str
    title: str
    function: str  # logical id in template.yaml
    prepare: Callable[[Fixture], dict[str, Any]]  # runs in the harness, untimed; returns the event
    check: Callable[[dict[str, Any]], str | None]  # None when the response is what the flow means
    minimum: tuple[Call, ...]
    path: str  # the case measured, in words
    stub_hash: bool = False  # replace argon2id in the service (both sides then skip the hash)
    # Tables (logical ids) made anew before every request: those the flow adds to.
    fresh_tables: tuple[str, ...] = GROWING_TABLES
    # Variables both sides get on top of the function's own (after the fixture is set up).
    environment: Callable[[Fixture], dict[str, str]] | None = None
    # Packages (requirements) the baseline needs besides the runtime's boto3, as its deployment
    # package would ship them.
    baseline_packages: tuple[str, ...] = ()
    # Checks, in the harness (untimed) after every request, the state the flow leaves behind:
    # None when it is what the flow means.
    verify: Callable[[Fixture, dict[str, Any]], str | None] | None = None
    # For results.md's method section: how this flow is measured where that is not obvious, and
    # what the bench changes for it (beyond what it changes for every flow).
    method: str = ""
    changed: str = ""

    @property
    def baseline(self) -> str:
        """Its raw-boto3 counterpart: the function of the same name in bench/baseline.py."""
        return self.name


def status(expected: int) -> Callable[[dict[str, Any]], str | None]:
    def check(response: dict[str, Any]) -> str | None:
        got = response.get("statusCode")
        if got == expected:
            return None
        return f"expected HTTP {expected}, got {got}: {str(response.get('body'))[:300]}"

    return check


def body_status(expected_status: int, outcome: str) -> Callable[[dict[str, Any]], str | None]:
    """HTTP ``expected_status`` with ``{"status": outcome}`` in the body."""
    by_status = status(expected_status)

    def check(response: dict[str, Any]) -> str | None:
        problem = by_status(response)
        if problem:
            return problem
        try:
            got = json.loads(str(response.get("body"))).get("status")
        except ValueError:
            got = None
        if got == outcome:
            return None
        return f"expected status {outcome!r}, got {str(response.get('body'))[:300]}"

    return check


def no_batch_item_failures(response: dict[str, Any]) -> str | None:
    return None if response == {"batchItemFailures": []} else f"expected no failed record, got {response}"


def _with_body(event: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    event["body"] = json.dumps(body)
    return event


def _prepare_self_service(fx: Fixture) -> dict[str, Any]:
    email = fx.account(SELF_SERVICE_ACCOUNT)["email"]
    return _with_body(fx.event("request_reset_self_service.json"), {"email": email, "locale": "de"})


def _prepare_self_service_link(fx: Fixture) -> dict[str, Any]:
    event = fx.event("self_service_reset.json")
    [record] = event["Records"]
    request = json.loads(record["body"])
    # Queued just now: a request older than resets.SELF_SERVICE_MAX_AGE would send nothing.
    request.update(
        request_id=uuid.uuid4().hex,
        email=fx.account(SELF_SERVICE_ACCOUNT)["email"],
        requested_at=datetime.now(UTC).isoformat(),
    )
    record["body"] = json.dumps(request)
    return event


def _prepare_staff(fx: Fixture) -> dict[str, Any]:
    return fx.staff_event("request_reset_staff.json", principal=STAFF_PRINCIPAL, target=STAFF_TARGET)


def _prepare_verify(fx: Fixture) -> dict[str, Any]:
    token = fx.issue_reset_token(VERIFY_ACCOUNT)
    return _with_body(fx.event("confirm_reset_verify.json"), {"token": token})


def _prepare_confirm(fx: Fixture) -> dict[str, Any]:
    # A client who forgot the password is signed in nowhere: no other session to clean up, the
    # same state on every run and on both sides.
    fx.drop_sessions(CONFIRM_ACCOUNT)
    token = fx.issue_reset_token(CONFIRM_ACCOUNT)
    return _with_body(fx.event("confirm_reset_confirm.json"), {"token": token, "password": NEW_PASSWORD})


def _prepare_sign_in(fx: Fixture) -> dict[str, Any]:
    account = fx.account(SIGN_IN_ACCOUNT)
    return _with_body(
        fx.event("sessions_sign_in.json"), {"email": account["email"], "password": account["password"]}
    )


def _prepare_provisioning_put(fx: Fixture) -> dict[str, Any]:
    account = fx.account(PROVISIONED_ACCOUNT)
    event = fx.event("provisioning_put_account.json")
    old = event["pathParameters"]["account_id"]
    event["pathParameters"] = {"account_id": PROVISIONED_ACCOUNT}
    event["path"] = event["path"].replace(old, PROVISIONED_ACCOUNT)
    event["requestContext"]["path"] = event["requestContext"]["path"].replace(old, PROVISIONED_ACCOUNT)
    body = {
        "firm_id": account["firm_id"],
        "role": account["role"],
        "email": account["email"],
        "name": f"{account['name']} {uuid.uuid4().hex[:8]}",  # a new name: an update every time
        "locale": account["locale"],
        "time_zone": "Europe/Berlin",
        "status": "active",
        "send_invitation": False,
    }
    return _with_body(event, body)


def _prepare_change_password(fx: Fixture) -> dict[str, Any]:
    account = fx.account(CHANGE_PASSWORD_ACCOUNT)
    event = fx.staff_event("sessions_change_password.json", principal=CHANGE_PASSWORD_ACCOUNT)
    return _with_body(event, {"current_password": account["password"], "new_password": NEW_PASSWORD})


def _prepare_lock(fx: Fixture) -> dict[str, Any]:
    # Every request locks an account that is not locked yet (a second lock makes the same calls
    # but tells the owners "already locked"): the same state on every run and on both sides.
    fx.unlock(LOCK_ACCOUNT)
    token = fx.issue_lock_token(LOCK_ACCOUNT)
    return _with_body(fx.event("confirm_reset_lock.json"), {"token": token})


def _verify_lock(fx: Fixture, event: dict[str, Any]) -> str | None:
    token = json.loads(event["body"])["token"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    record = fx.item("LockTokensTable", {"token_hash": digest}) or {}
    if record.get("status", {}).get("S") != "used":
        return f"the lock token was not marked used: {record.get('status')}"
    login = fx.login(LOCK_ACCOUNT)
    if "locked_at" not in login or "lock_event_id" not in login:
        return f"the login was not locked: {login.get('locked_at')}, {login.get('lock_event_id')}"
    locked = fx.item("EventsTable", {"event_id": login["lock_event_id"]["S"]}) or {}
    if locked.get("type", {}).get("S") != "account_locked":
        return f"no account_locked event {login['lock_event_id']['S']}: {locked}"
    return None


def _prepare_notify(fx: Fixture) -> dict[str, Any]:
    return fx.password_changed_batch(NOTIFY_ACCOUNT)


def _verify_notify(fx: Fixture, event: dict[str, Any]) -> str | None:
    event_id = event["Records"][0]["dynamodb"]["NewImage"]["event_id"]["S"]
    return fx.mails_sent(event_id, NOTIFY_ACCOUNT, list(NOTIFY_OWNERS))


def _prepare_ses_event(fx: Fixture) -> dict[str, Any]:
    return fx.signed_bounce(BOUNCE_ACCOUNT)


def _verify_ses_event(fx: Fixture, event: dict[str, Any]) -> str | None:
    return fx.bounce_recorded(BOUNCE_ACCOUNT, event)


def _ask_the_fake_range_api(fx: Fixture) -> dict[str, str]:
    return {"BREACHED_PASSWORD_RANGE_URL": fx.range_api_url()}


def _prepare_confirm_breached(fx: Fixture) -> dict[str, Any]:
    fx.mark_range_requests()
    return _prepare_confirm(fx)


def _verify_range_asked(fx: Fixture, event: dict[str, Any]) -> str | None:
    """The check ran (a skipped one would let the confirm through all the same): the fake was
    asked once since the event was made, for the password's prefix."""
    password = json.loads(event["body"])["password"]
    prefix = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()[:5]
    asked = fx.new_range_requests()
    return (
        None if asked == [f"/range/{prefix}"] else f"the range API was asked {asked}, not once for {prefix}"
    )


def _trust_bench_signer(fx: Fixture) -> dict[str, str]:
    return {"SNS_TRUSTED_CERT_PEM_PATH": str(fx.sns_certificate_path())}


_TOKEN_ROUTE_LIMIT = Call(
    "dynamodb.UpdateItem",
    "RateLimits (per client network)",
    "per-client-network limit on the token routes (an IPv6 /64 is one client, so hopping addresses "
    "inside it does not move the wall)",
)
_TOKEN_READ = Call(
    "dynamodb.GetItem",
    "ResetTokens",
    "the link's record by the SHA-256 digest of the token (consistent read: it may be minutes old)",
)
_LINK_READ = Call(
    "dynamodb.BatchGetItem",
    "Accounts+Firms+Logins",
    "the account (status, access_version) and its login (password_version, lock), both consistent, "
    "in one batch: they decide whether the link still works; the link's firm in the same batch (its "
    "brand for the page, its portal for the confirm's redirect, issue #23). Their keys (account id, "
    "address, firm id) are only known from the token record, so they cannot join the first read. "
    "Before logins (issue #22) this was one GetItem of the account, which held the password version",
)
_ISSUE = Call(
    "dynamodb.TransactWriteItems",
    "Accounts+ResetTokens+Events+DeliveryEvents",
    "the token record, the reset_requested audit event and the mail's delivery record (the staff's "
    "deliveries view, issue #25) in one transaction (design: all or none; the record is one more "
    "item, not one more call), on the condition that the account still has the address it was read "
    "with (an account being erased gets no link, issue #24.6)",
)
_SEND = Call("sesv2.SendEmail", "SES", "the mail with the link")
_STORE_MESSAGE_ID = Call(
    "dynamodb.UpdateItem",
    "ResetTokens",
    "the SES message id on the token (issue #2 asks for it; the delivery view falls back to it when an "
    "event lacks our tag): the token must exist before the mail leaves, and the id exists only after",
)
_BY_EMAIL = Call(
    "dynamodb.Query",
    "Logins",
    "the login of the address, the only thing the request names, and its memberships (which "
    "accounts, in which firms, active or not): one strongly consistent Query by the table's key, no "
    "index. Before logins (issue #22) a Query of the accounts' by_email index, which could not be "
    "consistent",
)

# The password check of sign-in and of a change while signed in (docs/security.md, 6.3.1): every
# attempt adds itself to three counters before the password is checked, and a success takes its
# counts back. The bench's rules (bench.stack.BENCH_RATE_LIMITS) are all on; a rule that is off
# (limit 0) is neither counted nor refunded, on either side, so it costs no call.
_COUNT_ATTEMPT = (
    Call(
        "dynamodb.UpdateItem",
        "RateLimits (account + client network)",
        "`sign_in_account_ip`, hard (429): every attempt adds itself before the password is checked, "
        "so guesses arriving together are checked at most up to the limit; ADD returns the new "
        "count, which neither a read before the check nor a transaction gives",
    ),
    Call(
        "dynamodb.UpdateItem",
        "RateLimits (client network)",
        "`sign_in_ip`, hard (429), counted the same way: one network guessing over many addresses; "
        "another item, so another call",
    ),
    Call(
        "dynamodb.UpdateItem",
        "RateLimits (account)",
        "`sign_in_account`, counted the same way; only slows every attempt down (1 s) once over, so "
        "failures from everywhere never lock the rightful user out",
    ),
)
_REFUND_ATTEMPT = (
    Call(
        "dynamodb.UpdateItem",
        "RateLimits (account + client network)",
        "the right password takes its `sign_in_account_ip` count back (only failures count, NIST "
        "800-63B 5.2.2): ADD -1 per counter, since BatchWriteItem cannot update and one transaction "
        "over the counters conflicts with the attempts counting on them at the same moment",
    ),
    Call(
        "dynamodb.UpdateItem",
        "RateLimits (client network)",
        "the same for `sign_in_ip`: an office network signing in all day is never limited",
    ),
    Call(
        "dynamodb.UpdateItem",
        "RateLimits (account)",
        "the same for `sign_in_account`: the holder's own sign-ins never slow the account down",
    ),
)

_MARK_OPENED = Call(
    "dynamodb.UpdateItem",
    "DeliveryEvents",
    "the link's mail marked opened (issue #25: a mail delivered a day ago whose link was never opened "
    "was probably filtered, which SES cannot see; no tracking pixel). Conditional: it writes only on "
    "a link's first verify, so a reload changes nothing; its key is the token record's reset id, so "
    "it cannot join the reads",
)

_CONFIRM_FLOW = Flow(
    name="confirm",
    title="confirm",
    function="ConfirmResetFunction",
    prepare=_prepare_confirm,
    check=status(200),
    path="a valid link and an allowed password; the client has no other session",
    stub_hash=True,
    minimum=(
        _TOKEN_ROUTE_LIMIT,
        _TOKEN_READ,
        _LINK_READ,
        Call(
            "dynamodb.TransactWriteItems",
            "Logins+Accounts+ResetTokens+Events+Sessions",
            "the login's new hash and version bump (condition: the version and lock state read), "
            "the account still active with its access version (a condition check), token used "
            "(conditional), the password_changed event and the new session, all or nothing. "
            "Deleting the other sessions is not needed here: the version bump already ends every "
            "session and link of every account of the login",
        ),
    ),
)

FLOWS: tuple[Flow, ...] = (
    Flow(
        name="self_service",
        title="self-service request",
        function="RequestResetFunction",
        prepare=_prepare_self_service,
        check=status(202),
        path="an address within its limits: counted and queued (the same calls for every address)",
        minimum=(
            Call(
                "dynamodb.UpdateItem",
                "RateLimits (per client network)",
                "per-client limit; counted on every path so a known address costs what an unknown one does",
            ),
            Call(
                "dynamodb.UpdateItem",
                "RateLimits (per address)",
                "per-address limit (OWASP); a second item, and a transaction cannot return the counts",
            ),
            Call(
                "sqs.SendMessage",
                "SelfServiceQueue",
                "the request for SelfServiceResetFunction: whether the address exists is decided "
                "there, so neither the answer nor its timing can tell",
            ),
        ),
    ),
    Flow(
        name="self_service_link",
        title="self-service link",
        function="SelfServiceResetFunction",
        prepare=_prepare_self_service_link,
        check=no_batch_item_failures,
        path="one SQS message with one request for a known active client: a link is issued and mailed",
        fresh_tables=(*GROWING_TABLES, "NotifyIdempotencyTable"),
        method="each request is an SQS batch with one message of a new request (a new request id, "
        "`events/self_service_reset.json`), so no idempotency record takes it for a redelivery.",
        minimum=(
            Call(
                "dynamodb.PutItem",
                "NotifyIdempotency",
                "claims the request (conditional): SQS delivers at least once, and a redelivered "
                "request must not mail a second link",
            ),
            _BY_EMAIL,
            Call(
                "dynamodb.BatchGetItem",
                "Accounts+Firms",
                "the account the link is for (name, language, time zone for the mail) and its firm's "
                "name, in one batch; both keys come from the membership the Query found (before "
                "logins the Query returned the account and this was a GetItem of the firm)",
            ),
            _ISSUE,
            _SEND,
            _STORE_MESSAGE_ID,
            Call(
                "dynamodb.UpdateItem",
                "NotifyIdempotency",
                "marks the request done once the mail left: a claim alone cannot tell 'sent' from "
                "'crashed before sending'",
            ),
        ),
    ),
    Flow(
        name="staff",
        title="staff request",
        function="RequestResetFunction",
        prepare=_prepare_staff,
        check=status(202),
        path="a firm owner sends one of the firm's active clients a link",
        minimum=(
            Call(
                "dynamodb.BatchGetItem",
                "Accounts+Firms",
                "the target account and the firm's name in one batch: the firm is the caller's "
                "(another firm's account is a 404), so both keys are known from the request",
            ),
            Call(
                "dynamodb.GetItem",
                "Logins",
                "the client's login: whether it has a password (a reset or an invitation), is locked "
                "and can be mailed, and the password version the link carries. Its key is the "
                "account's address, known only from the first read (issue #22 added this call)",
            ),
            Call("dynamodb.UpdateItem", "RateLimits", "per-account send limit (atomic counter)"),
            _ISSUE,
            _SEND,
            _STORE_MESSAGE_ID,
        ),
    ),
    Flow(
        name="verify",
        title="verify",
        function="ConfirmResetFunction",
        prepare=_prepare_verify,
        check=status(200),
        path="a valid link is checked for the first time (nothing consumed; its mail is marked opened)",
        minimum=(
            _TOKEN_ROUTE_LIMIT,
            _TOKEN_READ,
            _LINK_READ,
            _MARK_OPENED,
        ),
    ),
    _CONFIRM_FLOW,
    replace(
        _CONFIRM_FLOW,
        name="confirm_breached",
        title="confirm, breached check on",
        prepare=_prepare_confirm_breached,
        verify=_verify_range_asked,
        path="as confirm, with the breached-password check on: the password is in no breach, so the "
        f"range API is asked and the password set; the API is a local fake answering after "
        f"{BREACHED_CHECK_DELAY_S * 1000:.0f} ms",
        environment=_ask_the_fake_range_api,
        method="as confirm, plus `BREACHED_PASSWORD_RANGE_URL` on both sides: a fake range API in "
        f"the harness (`devstack.pwned`, the corpus `make dev` serves) that answers every request "
        f"after {BREACHED_CHECK_DELAY_S * 1000:.0f} ms, standing in for a distant API. The baseline "
        "asks it too (the SHA-1's prefix with padding, every line compared in constant time, over "
        "one pooled urllib3 connection) before its write. The difference to confirm is the check's "
        "cost (*The breached-password check* below). The range API is not an AWS call: the "
        "minimum is confirm's.",
    ),
    Flow(
        name="sign_in",
        title="sign-in",
        function="SessionsFunction",
        prepare=_prepare_sign_in,
        check=status(201),
        path="right password, a login with one active account (the one it used last), no firm named, "
        "within its limits: the attempt is counted on its three counters and, being right, takes its "
        "counts back. Sign-in made 8 calls before logins (issue #22) and makes 9: the BatchGetItem is "
        "new",
        stub_hash=True,
        minimum=(
            *_COUNT_ATTEMPT,
            _BY_EMAIL,
            *_REFUND_ATTEMPT,
            Call(
                "dynamodb.BatchGetItem",
                "Accounts+Firms",
                "only after the right password: the account the session acts as (its role, name, "
                "language for the answer) and the firms of every active account of the login (the "
                "answer's accounts[].firm_name), in one batch. A wrong password never costs it, so a "
                "failure costs what it did before logins and the enumeration timing stays flat",
            ),
            Call(
                "dynamodb.TransactWriteItems",
                "Accounts+Sessions",
                "the new session (condition: the digest is new) with a condition check that the account "
                "still has the address it was read with, so nothing is issued after an erasure's "
                "tombstone (issue #24.6); the login's last_account_id joins it when the session acts as "
                "another account than the one used last",
            ),
        ),
    ),
    Flow(
        name="notify",
        title="notification",
        function="NotifyPasswordChangedFunction",
        prepare=_prepare_notify,
        check=no_batch_item_failures,
        verify=_verify_notify,
        path="one stream batch with one password_changed record: a client of a firm with one owner "
        "changed the password; the owner and the client are mailed",
        fresh_tables=("NotifyIdempotencyTable", "LockTokensTable", "DeliveryEventsTable"),
        method="each request is a DynamoDB-stream batch with one INSERT record of a new "
        "`password_changed` event (NEW_IMAGE as the events table's stream delivers it, "
        "`events/notify_password_changed.json` with a new event id), so no idempotency record "
        "takes it for a redelivery. After each request the harness checks that both mails' "
        "idempotency records are COMPLETED with SES's message id. The baseline formats its mails "
        "with f-strings; the service renders them (jinja2, de/en, time zones) and parses the "
        "User-Agent (ua-parser), which counts against it.",
        minimum=(
            Call(
                "dynamodb.BatchGetItem",
                "Accounts+Firms",
                "the client (consistent read: its current status and address decide whether it is "
                "mailed, and the mails name it) and the firm's name, in one batch: both keys are in "
                "the stream record",
            ),
            Call(
                "dynamodb.Query",
                "Logins",
                "the client's login (may the holder be mailed: its address's verdict) and its "
                "memberships: the owners of every firm where it has an active account are told. Its "
                "key is the account's address, known only from the first read (the event holds no "
                "address). Added by issue #22",
            ),
            Call(
                "dynamodb.Query",
                "Accounts.by_firm_role",
                "the firm's owners, each of whom is mailed (their ids are not in the record; the "
                "firm's key plus role is the index's key). One firm and one owner here, so one query "
                "and one owner mail",
            ),
            Call(
                "dynamodb.BatchGetItem",
                "Logins",
                "the owners' logins: what SES said of each owner's address (an undeliverable one is "
                "not mailed) is the login's since issue #22; with the holder's other firms and their "
                "accounts in the same batch when the login has several",
            ),
            Call(
                "dynamodb.TransactWriteItems",
                "Accounts+LockTokens",
                "the client's mail carries an \"It wasn't me\" lock link: its digest is stored (in "
                "its own table) once the mail's claim is won, so a redelivery stores none; with a "
                "condition check that the account still has its address (no link after an "
                "erasure's tombstone, issue #24.6)",
            ),
            Call(
                "dynamodb.UpdateItem",
                "DeliveryEvents",
                "the client's mail's delivery record (issue #25: every mail to a client is on the "
                "staff's deliveries view), written before it is sent so its first SES event finds it; "
                "an update, so a retry of the same mail keeps what SES already reported. The owner's "
                "mail goes to staff and has none",
            ),
            *(
                call
                for recipient in ("owner", "client")
                for call in (
                    Call(
                        "dynamodb.PutItem",
                        "NotifyIdempotency",
                        f"claims the {recipient}'s mail before it is sent (conditional: no record yet, "
                        "or a crashed attempt's claim has expired). The stream delivers at least once "
                        "and retries a failed record with all its mails; a record per mail because one "
                        "mail can fail (SES throttling) after another went out, and issue #4 wants each "
                        "sent exactly once. A record per event on top would add two writes and spare "
                        "none on this path",
                    ),
                    Call("sesv2.SendEmail", "SES", f"the {recipient}'s mail"),
                    Call(
                        "dynamodb.UpdateItem",
                        "NotifyIdempotency",
                        f"marks the {recipient}'s mail sent once SES accepted it: a claim alone cannot "
                        "tell 'sent' from 'crashed before sending', so a retry would either lose the "
                        "mail or send it twice",
                    ),
                )
            ),
        ),
    ),
    Flow(
        name="ses_event",
        title="SES event",
        function="SesEventsFunction",
        prepare=_prepare_ses_event,
        check=body_status(200, "recorded"),
        verify=_verify_ses_event,
        path="one signed SNS Notification carrying a permanent bounce of a reset mail (tagged with "
        "its reset id): the bounce goes on the reset's timeline and the address is marked "
        "undeliverable",
        fresh_tables=("ResetTokensTable", "SnsMessagesTable", "DeliveryEventsTable"),
        environment=_trust_bench_signer,
        changed="for the SES event, `SNS_TRUSTED_CERT_PEM_PATH` names the certificate of a key the "
        "bench generated (as the local stack does; the template never sets it), on both sides: the "
        "function verifies the bench's signatures against it instead of fetching SNS's certificate. "
        "Deployed, the first message of each process also fetches that certificate (one HTTPS GET, "
        "then cached), which neither side pays here",
        baseline_packages=("cryptography",),
        method="each request is a new SNS Notification (new MessageId, so it is no duplicate) "
        "carrying a permanent SES bounce of a reset mail just stored for SES's bounce simulator "
        "account, signed with RSA-SHA1 (SignatureVersion 1) by a key the bench generated "
        "(`devstack.sns_signer`, as the local stack does) and POSTed as API Gateway passes it on "
        "(`events/ses_events_webhook.json`). **Signature check: on both sides**, with the same "
        "`cryptography` calls (the certificate loaded once per process, one RSA PKCS#1 v1.5 "
        "verification per message): a webhook that skips it would accept forged bounces, so a raw "
        "boto3 script must pay it too (its deployment package ships `cryptography`, linked into the "
        "baseline's path like the layer's packages). Unlike argon2id it is not stubbed: it is the "
        "same library work on both sides, a fraction of a millisecond warm, and stubbing it would "
        "measure a service that does not exist. After each request the harness checks the "
        "MessageId marker, the timeline entry and the `email_status` of the address's login.",
        minimum=(
            Call(
                "dynamodb.Query",
                "Logins",
                "the bounced address's login and its memberships (one Query by the table's key): "
                "each active account of the login gets an email_undeliverable audit event, which the "
                "CRM hears of. Before logins (issue #22) a Query of the accounts' by_email index",
            ),
            Call(
                "dynamodb.TransactWriteItems",
                "SnsMessages+Events+DeliveryEvents+Logins",
                "the MessageId marker (condition: new; SNS delivers at least once, so this is the "
                "duplicate check too), the email_undeliverable audit event of each account, the bounce "
                "appended to the reset's timeline (the reset id is our tag on the mail, no lookup) and "
                "the address's login marked undeliverable (condition: the login exists, has not this "
                "verdict already and is not marked 'complained'), all or nothing",
            ),
        ),
    ),
    Flow(
        name="provisioning_put",
        title="provisioning PUT",
        function="ProvisioningFunction",
        prepare=_prepare_provisioning_put,
        check=status(200),
        path="the CRM renames an existing client (an update that ends no access), no invitation",
        minimum=(
            Call(
                "dynamodb.BatchGetItem",
                "Firms+Accounts+Logins",
                "every key is in the request, so one batch: the firm (it must exist, 404 "
                "firm_not_found, and gives the defaults for what the PUT leaves out; consistent: the "
                "CRM may have just created it), the account as it is (the PUT writes only what "
                "differs, a new address, role or archiving ends access, another firm's account is a "
                "409; a transaction cannot return the old item), and the login of the address and its "
                "membership in the firm (has a password, another account of the firm has the address: "
                "409). Before logins (issue #22) two GetItems, of the firm and of the account",
            ),
            Call(
                "dynamodb.TransactWriteItems",
                "Accounts+Events",
                "the changed fields and the next revision (condition: the revision read, so a "
                "concurrent PUT is recomputed, not overwritten) and the account_provisioned audit "
                "event, all or nothing. The answer is built from what was read and written: no "
                "second read",
            ),
        ),
    ),
    Flow(
        name="change_password",
        title="change password",
        function="SessionsFunction",
        prepare=_prepare_change_password,
        check=status(200),
        path="a signed-in team member changes the password: right current password (counted and "
        "refunded as at sign-in), an allowed new one",
        stub_hash=True,
        minimum=(
            Call(
                "dynamodb.BatchGetItem",
                "Accounts+Firms+Logins",
                "the account (consistent read: status, access version), its login (hash, password "
                "version, lock) and the firm's name (the policy refuses it in a password): every key "
                "comes with the session (authorizer), the login's too",
            ),
            # The current password is checked as a sign-in is (the same counters and refunds); the
            # account's counters are keyed by its address, known only from the first read.
            *_COUNT_ATTEMPT,
            *_REFUND_ATTEMPT,
            Call(
                "dynamodb.UpdateItem",
                "RateLimits (login)",
                "`password_change_login` (issue #24): every change mails every owner of every firm of "
                "the login, so a login makes at most a few an hour. Counted after every other check, "
                "so a refused current or new password costs nothing, and taken back if the write "
                "fails: only changes made count. ADD returns the count; one more call than before #24",
            ),
            Call(
                "dynamodb.TransactWriteItems",
                "Logins+Accounts+Events+Sessions",
                "the login's new hash and version bump (condition: the version and lock state read), "
                "the account still active with its access version (a condition check), the "
                "password_changed event (its stream mails the owners and the holder) and the session "
                "that replaces this one; the version bump ends every other session and open link of "
                "every account of the login. The refunds stay out of it: a new password the policy "
                "rejects (422) still takes the right current password's counts back",
            ),
        ),
    ),
    Flow(
        name="lock",
        title="account lock",
        function="ConfirmResetFunction",
        prepare=_prepare_lock,
        check=body_status(200, "locked"),
        verify=_verify_lock,
        path="a client who did not change the password follows the mail's \"It wasn't me\" link: a "
        "valid lock link, an active account not locked yet",
        fresh_tables=(*GROWING_TABLES, "LockTokensTable"),
        method="each request is `events/confirm_reset_lock.json` with a new lock link, stored as the "
        "notification stores the one in the holder's mail (`pwreset.credentials.locks."
        "issue_lock_token`, reporting a password change from another network), for a client the "
        "bench adds to the demo data (`bench.stack.BENCH_ACCOUNTS`: a locked account would change the "
        "path of every other flow on its account); the account's lock is lifted before each request. "
        "After each request the harness checks that the token is used, the account locked and its "
        "`account_locked` event written.",
        minimum=(
            Call(
                "dynamodb.UpdateItem",
                "RateLimits (per client network)",
                "`lock_ip`, per client network, counted before the token is read: a public route "
                "that ends every session must not be farmed (docs/security.md)",
            ),
            Call(
                "dynamodb.GetItem",
                "LockTokens",
                "the link's record by the SHA-256 digest of the token (consistent read: the mail may "
                "be seconds old): status, expiry, the account and the change it reports",
            ),
            Call(
                "dynamodb.BatchGetItem",
                "Accounts+Logins",
                "the account's status and access_version decide whether the link still works, and "
                "whether its login is locked already goes into the account_locked event (the owners' "
                "mail says so), which no transaction condition can tell; both keys (account id, "
                "address) are only known from the token record, so they cannot join the first read "
                "(before logins, issue #22, one GetItem of the account)",
            ),
            Call(
                "dynamodb.TransactWriteItems",
                "Logins+Accounts+LockTokens+Events",
                "login locked and its password_version bumped, the account still active (a condition "
                "check), token used (condition: still issued) and the account_locked event (its "
                "stream mails the owners and the holder), all or nothing. Ending sessions and open "
                "reset links of every account of the login needs no write of its own: the version "
                "bump ends them",
            ),
        ),
    ),
)


def by_name(names: list[str] | None) -> tuple[Flow, ...]:
    if not names:
        return FLOWS
    known = {f.name: f for f in FLOWS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown flow(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(known[n] for n in names)
