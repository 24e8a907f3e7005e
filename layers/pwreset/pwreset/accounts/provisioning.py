"""The CRM keeps firms and accounts in step: create or update (``PUT``), read, erase.

Guarantees:

* **One address, one account**, enforced by DynamoDB: every account write that sets an address
  also claims it in the email-claims table in the same transaction (``attribute_not_exists`` or
  already this account's), and releases the old one. Two concurrent writes claiming one address:
  exactly one wins, the other is ``409 email_taken``.
* **Idempotent**: a ``PUT`` whose body matches the stored account writes nothing and revokes
  nothing. A changed account is written on the revision it was computed from; a concurrent writer
  makes the condition fail and the ``PUT`` is computed again on the fresh state.
* **A new address, a new role or archiving ends access at once**: the same write bumps the
  account's ``access_version``, so every open link answers ``410 token_revoked`` and every session
  ends, with no write per link or session. The answer counts what ended.
* **Erasure loses nothing half way**: ``DELETE`` first strips the account of its personal data and
  releases the address (one transaction; nothing works for it any more), then deletes its sessions,
  links (lock links too) and delivery records and strips its audit events, and deletes the account
  item last. A failure part-way leaves the account ``erasing``; the next ``DELETE`` finishes the job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pwreset.core import errors
from pwreset.core.config import settings
from pwreset.core.observability import logger, mask_email, metrics
from pwreset.core.request import RequestMeta
from pwreset.core.times import iso
from pwreset.credentials.links import INVITATION, Requester, issue_link, open_links
from pwreset.credentials.sessions import live_sessions
from pwreset.credentials.tokens import BY_PROVISIONING
from pwreset.mail.brand import contact_of
from pwreset.storage.accounts import account_fields, account_status, get_or_none, mail_block_reason
from pwreset.storage.events import audit_event
from pwreset.storage.models import (
    Account,
    DeliveryTimeline,
    EmailClaim,
    Event,
    Firm,
    LockToken,
    ResetToken,
    Session,
)
from pwreset.storage.transactions import TransactWriteError, transaction

ERASING = "erasing"
# Optimistic retries of one PUT against concurrent writers of the same account.
MAX_ATTEMPTS = 4
# Detail keys an audit event keeps after its account is erased: ids, kinds and times, no person.
KEPT_AFTER_ERASURE = frozenset(
    {
        "reset_id",
        "purpose",
        "change",
        "requested_by",
        "requested_at",
        "expires_at",
        "request_id",
        "fields",
        "created",
        "revoked",
        "caller",
        # account_locked: which change was disowned, and when (its facts name a person's device).
        "reported_event_id",
        "reported_change",
        "reported_at",
        "already_locked",
        # email_undeliverable: the verdict and its diagnosis code (codes, not the address).
        "email_status",
        "diagnosis_code",
        # Not previous_hint/new_hint of an address change: a masked address keeps its domain,
        # and a person's own domain names them.
    }
)


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------- firms


@dataclass(frozen=True)
class FirmSpec:
    name: str
    locale: str | None = None
    time_zone: str | None = None
    # The white-label attributes the PUT named (pwreset.accounts.firms), by Firm attribute: one
    # left out keeps what is stored, None clears it.
    white_label: dict[str, str | None] = field(default_factory=dict)


# Firm attributes a PUT may set besides name, locale and time zone (all optional, see firms).
WHITE_LABEL_ATTRIBUTES = (
    "portal_url",
    "sender_name",
    "contact_email",
    "contact_phone",
    "logo_url",
    "brand_color",
)


def firm_view(firm: Firm) -> dict[str, Any]:
    """What the provisioning API says about a firm: every field, absent ones as null."""
    brand = (
        {"logo_url": firm.logo_url, "color": firm.brand_color} if firm.logo_url or firm.brand_color else None
    )
    return {
        "firm_id": firm.firm_id,
        "name": firm.name,
        "locale": firm.locale,
        "time_zone": firm.timezone,
        "portal_url": firm.portal_url,
        "sender_name": firm.sender_name,
        "contact": contact_of(firm),
        "brand": brand,
    }


def get_firm(firm_id: str) -> Firm:
    firm = get_or_none(Firm, firm_id, consistent_read=True)
    if firm is None:
        raise errors.FirmNotFound()
    return firm


def put_firm(firm_id: str, spec: FirmSpec) -> tuple[Firm, bool]:
    """Create or update a firm; returns it and whether it was created. Idempotent."""
    existing = get_or_none(Firm, firm_id, consistent_read=True)
    white_label = {
        attribute: spec.white_label[attribute]
        if attribute in spec.white_label
        else (getattr(existing, attribute) if existing else None)
        for attribute in WHITE_LABEL_ATTRIBUTES
    }
    wanted = Firm(
        firm_id,
        name=spec.name,
        locale=spec.locale or (existing.locale if existing else "de"),
        timezone=spec.time_zone or (existing.timezone if existing else "Europe/Berlin"),
    )
    for attribute, value in white_label.items():
        setattr(wanted, attribute, value)
    if existing is not None and firm_view(existing) == firm_view(wanted):
        return existing, False
    wanted.save()
    logger.info(
        "firm provisioned",
        extra={
            "firm_id": firm_id,
            "new_firm": existing is None,
            "white_label": sorted(key for key, value in white_label.items() if value is not None),
        },
    )
    return wanted, existing is None


# ---------------------------------------------------------------------------------------- accounts


@dataclass(frozen=True)
class AccountSpec:
    """A ``PUT /v1/admin/accounts/{account_id}`` body, validated (address normalised)."""

    firm_id: str
    role: str
    email: str
    name: str
    locale: str | None = None
    time_zone: str | None = None
    status: str | None = None  # active | archived; None keeps the current one (active for a new account)
    send_invitation: bool = False


@dataclass(frozen=True)
class Provisioned:
    account: Account
    created: bool
    revoked_links: int = 0
    revoked_sessions: int = 0
    invitation: dict[str, Any] | None = None


def account_view(account: Account) -> dict[str, Any]:
    """What the provisioning API says about an account."""
    return {
        **account_fields(account, "account_id", "firm_id", "role", "email", "name", "locale"),
        "time_zone": account.timezone,
        # The stored status is the CRM's (active | archived); a lock shows as "locked" here, but a
        # PUT of "active" neither lifts it nor counts as a change.
        "status": account_status(account),
        **account_fields(account, "has_password", "email_status"),
    }


def get_account(account_id: str) -> Account:
    account = get_or_none(Account, account_id, consistent_read=True)
    if account is None or account.status == ERASING:
        raise errors.AccountNotFound()
    return account


@dataclass
class _Plan:
    """What one PUT changes on one read of the account."""

    changes: dict[str, Any] = field(default_factory=dict)
    revoke: bool = False

    @property
    def empty(self) -> bool:
        return not self.changes


def _plan(existing: Account | None, spec: AccountSpec, firm: Firm) -> _Plan:
    wanted = {
        "firm_id": spec.firm_id,
        "role": spec.role,
        "email": spec.email,
        "name": spec.name,
        "locale": spec.locale or (existing.locale if existing else firm.locale),
        "timezone": spec.time_zone or (existing.timezone if existing else firm.timezone),
        "status": spec.status or (existing.status if existing else "active"),
    }
    if existing is None:
        return _Plan(changes=wanted)
    changes = {key: value for key, value in wanted.items() if getattr(existing, key) != value}
    # A new address or role, or archiving, must end what the old one could do.
    revoke = bool({"email", "role"} & set(changes)) or changes.get("status") == "archived"
    return _Plan(changes=changes, revoke=revoke)


def put_account(account_id: str, spec: AccountSpec, *, caller: str, meta: RequestMeta) -> Provisioned:
    """Create or update an account as the CRM describes it (see the module's docstring)."""
    firm = get_or_none(Firm, spec.firm_id, consistent_read=True)
    if firm is None:
        raise errors.FirmNotFound()
    for _attempt in range(MAX_ATTEMPTS):
        existing = get_or_none(Account, account_id, consistent_read=True)
        if existing is not None and existing.status == ERASING:
            raise errors.AccountNotFound()
        if existing is not None and existing.firm_id != spec.firm_id:
            raise errors.FirmMismatch()
        plan = _plan(existing, spec, firm)
        if plan.empty and existing is not None:
            return Provisioned(existing, created=False, invitation=_invite(existing, firm, spec, meta))
        links = open_links(existing) if existing is not None and plan.revoke else []
        sessions = live_sessions(existing) if existing is not None and plan.revoke else []
        try:
            account = _write(account_id, existing, plan, caller=caller, meta=meta)
        except _Conflict:
            continue  # another writer got there first: compute the PUT again on what it wrote
        metrics.add_metric(name="AccountProvisioned", unit="Count", value=1)
        logger.info(
            "account provisioned",
            extra={
                "account_id": account_id,
                "new_account": existing is None,
                "fields": sorted(plan.changes),
                "revoked": plan.revoke,
                "email": mask_email(account.email),
            },
        )
        return Provisioned(
            account,
            created=existing is None,
            revoked_links=len(links),
            revoked_sessions=len(sessions),
            invitation=_invite(account, firm, spec, meta),
        )
    # Writers kept racing: the CRM retries, nothing is half done.
    raise errors.UpstreamUnavailable(headers={"Retry-After": "2"})


def _claim_is_free_or_mine(account_id: str) -> Any:
    return EmailClaim.email.does_not_exist() | (EmailClaim.account_id == account_id)


class _Conflict(Exception):
    """The account changed between the read and the write."""


def _write(
    account_id: str, existing: Account | None, plan: _Plan, *, caller: str, meta: RequestMeta
) -> Account:
    now = _now()
    new_email = plan.changes.get("email")
    # An address change carries both addresses masked: the CRM's EmailChanged event (pwreset.crm)
    # is made of them, and they go with an erasure (not in KEPT_AFTER_ERASURE).
    hints = (
        {"previous_hint": mask_email(existing.email), "new_hint": mask_email(new_email)}
        if existing is not None and new_email
        else {}
    )
    event = audit_event(
        "account_provisioned",
        account_id=account_id,
        firm_id=str(plan.changes.get("firm_id") or (existing.firm_id if existing else "")),
        meta=meta,
        at=now,
        detail={
            "fields": sorted(plan.changes),
            "revoked": plan.revoke,
            "created": existing is None,
            "caller": caller,
            **hints,
        },
    )
    try:
        with transaction() as tx:
            if new_email:
                tx.save(
                    EmailClaim(new_email, account_id=account_id),
                    condition=_claim_is_free_or_mine(account_id),
                )
            if existing is None:
                account = Account(account_id, revision=1, **plan.changes)
                tx.save(account, condition=Account.account_id.does_not_exist())
            else:
                if new_email:
                    tx.delete(EmailClaim(existing.email), condition=_claim_is_free_or_mine(account_id))
                actions = [getattr(Account, key).set(value) for key, value in plan.changes.items()]
                actions.append(Account.revision.set(int(existing.revision) + 1))
                if new_email:
                    actions.append(Account.email_status.set("ok"))  # nothing is known of the new address
                if plan.revoke:
                    actions.append(Account.access_version.set(int(existing.access_version) + 1))
                tx.update(existing, actions=actions, condition=Account.revision == existing.revision)
                account = existing
            tx.save(event, condition=Event.event_id.does_not_exist())
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if new_email and reasons and reasons[0] == "ConditionalCheckFailed":
            raise errors.EmailTaken() from exc
        if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
            raise _Conflict() from exc
        raise
    if existing is not None:
        # What the transaction wrote, applied to the copy read before it (its condition held, so
        # nothing else changed the item): no second read to answer with.
        for key, value in plan.changes.items():
            setattr(account, key, value)
        account.revision = int(existing.revision) + 1
        if new_email:
            account.email_status = "ok"
        if plan.revoke:
            account.access_version = int(existing.access_version) + 1
    return account


def _invite(account: Account, firm: Firm, spec: AccountSpec, meta: RequestMeta) -> dict[str, Any] | None:
    """``send_invitation``: make sure a welcome mail with a working link is out, once.

    Another ``PUT`` with the same body finds the link open and sends nothing (``pending``)."""
    if not spec.send_invitation:
        return None
    if account.has_password:
        return {"status": "password_already_set"}
    blocked = mail_block_reason(account)
    if blocked:
        return {"status": "not_sent", "reason": blocked}
    pending = [r for r in open_links(account) if r.purpose == INVITATION]
    if pending:
        newest = max(pending, key=lambda r: r.requested_at)
        return {**_invitation_view(newest, account), "status": "pending"}
    requester = Requester(account_id=BY_PROVISIONING, name=firm.name, locale=account.locale)
    try:
        record = issue_link(
            account,
            firm,
            purpose=INVITATION,
            lifetime=settings().invitation_lifetime_seconds,
            requested_by=requester,
            meta=meta,
        )
    except errors.EmailSendFailed:
        return {"status": "send_failed"}
    return {**_invitation_view(record, account), "status": "sent"}


def _invitation_view(record: ResetToken, account: Account) -> dict[str, Any]:
    return {
        "invitation_id": record.reset_id,
        "sent_to": mask_email(account.email),
        "expires_at": iso(record.expires_at),
    }


# ---------------------------------------------------------------------------------------- erasure


def erase_account(account_id: str, *, caller: str) -> None:
    """``DELETE``: personal data, hash, links, sessions and delivery records go; audit events stay
    without personal data (see the module's docstring for the order and why)."""
    account = get_or_none(Account, account_id, consistent_read=True)
    if account is None:
        raise errors.AccountNotFound()
    if account.status != ERASING:
        _tombstone(account)
    reset_ids = _delete_links(account_id)
    _delete_lock_links(account_id)
    _delete_timelines(reset_ids, account_id)
    _delete_sessions(account_id)
    _strip_events(account_id)
    Account(account_id).delete()
    metrics.add_metric(name="AccountErased", unit="Count", value=1)
    logger.info("account erased", extra={"account_id": account_id, "links": len(reset_ids), "caller": caller})


def _tombstone(account: Account) -> None:
    """No personal data, no address, no password, nothing that signs in, in one transaction."""
    with transaction() as tx:
        tx.delete(EmailClaim(account.email), condition=_claim_is_free_or_mine(account.account_id))
        tx.update(
            account,
            actions=[
                Account.status.set(ERASING),
                # An address that can never be one (RFC 2606 .invalid), so the index stays valid.
                Account.email.set(f"erased-{account.account_id}@erased.invalid"),
                Account.name.set(""),
                Account.password_hash.remove(),
                Account.access_version.set(int(account.access_version) + 1),
            ],
            condition=Account.revision == account.revision,
        )


def _delete_links(account_id: str) -> list[str]:
    records = list(ResetToken.by_account.query(account_id))
    with ResetToken.batch_write() as batch:
        for record in records:
            batch.delete(record)
    return [r.reset_id for r in records]


def _delete_lock_links(account_id: str) -> None:
    keys = [record.token_hash for record in LockToken.by_account.query(account_id)]
    with LockToken.batch_write() as batch:
        for key in keys:
            batch.delete(LockToken(key))


def _delete_timelines(reset_ids: list[str], account_id: str) -> None:
    """The delivery records of every mail to the account (the address, SES's words about it) and
    the timelines of its links sent before mails were recorded."""
    mails = [record.reset_id for record in DeliveryTimeline.by_account.query(account_id)]
    with DeliveryTimeline.batch_write() as batch:
        for reset_id in dict.fromkeys([*reset_ids, *mails]):
            batch.delete(DeliveryTimeline(reset_id))


def _delete_sessions(account_id: str) -> None:
    keys = [s.session_hash for s in Session.by_account.query(account_id)]
    with Session.batch_write() as batch:
        for key in keys:
            batch.delete(Session(key))


def _strip_events(account_id: str) -> None:
    for key in Event.by_account.query(account_id):
        event = get_or_none(Event, key.event_id, consistent_read=True)
        if event is None:
            continue
        detail: dict[str, object] = dict(event.detail.as_dict() if event.detail else {})
        kept = {k: v for k, v in detail.items() if k in KEPT_AFTER_ERASURE}
        if kept != detail:
            event.update(actions=[Event.detail.set({**kept, "erased": True})])
